"""`fracdet predict` on a model trained in the session: it finds the fracture, draws what the JSON says,
reads DICOM as it reads PNG, skips bad inputs with reasons, and takes the operating thresholds by reference only."""

from __future__ import annotations

import base64
import csv
import functools
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from predict_builders import DEFINITE, THRESHOLDS, TrainedCase, dicom_of, train_on_one_image, write_evaluation
from tf_serving_json import decode_predict_request, encode_row_response
from yolo_builders import REAL_EXTREMITY_CR, dicom_without_pixels

from fracdet import main
from fracdet_core import storage
from fracdet_core.annotate import FRACTURE_COLOUR, LEGEND_COLOUR, box_rect, class_colour, line_width
from fracdet_core.classes import BODY_PARTS
from fracdet_core.errors import ConfigError
from fracdet_core.evaluate.config import EvaluateConfig
from fracdet_core.evaluate.inference import read_split
from fracdet_core.evaluate.run import run_evaluation
from fracdet_core.ingest import IngestConfig, ingest_dataset
from fracdet_core.ingest.decode import decode_image
from fracdet_core.limits import DecodeLimits
from fracdet_core.operating_thresholds import FILE_NAME
from fracdet_core.predict.config import DisplayConfig, PredictConfig
from fracdet_core.predict.inputs import InputFile, InputImage
from fracdet_core.predict.model import find_model
from fracdet_core.predict.run import detect_batch, predict
from fracdet_core.predict.thresholds import NoThresholdError, referenced_thresholds
from fracdet_core.registry.aliases import promote
from fracdet_core.registry.layout import saved_model_uri, version_uri
from fracdet_core.registry.run import register_model_version
from fracdet_core.serving.saved_model import load_serving
from fracdet_core.synth import SynthConfig
from fracdet_core.synth.dataset import generate_dataset

pytestmark = pytest.mark.slow  # every test reads the model that the module trains first


@pytest.fixture(scope="module")
def case(tmp_path_factory) -> TrainedCase:
    return train_on_one_image(tmp_path_factory.mktemp("predict"))


@pytest.fixture(scope="module")
def registry(case) -> str:
    """A registry whose version 1, the champion, is the trained model with its evaluation."""
    root = str(case.train_out.parent / "registry")
    register_model_version(str(case.train_out), str(case.train_out.parent / "evaluate"), root, "fracdet")
    promote(root, "fracdet", 1)
    return root


def _iou(first: np.ndarray, second: np.ndarray) -> float:
    """IoU of two `xmin, ymin, xmax, ymax` boxes."""
    width = min(first[2], second[2]) - max(first[0], second[0])
    height = min(first[3], second[3]) - max(first[1], second[1])
    intersection = max(width, 0) * max(height, 0)
    area = lambda box: (box[2] - box[0]) * (box[3] - box[1])  # noqa: E731
    return intersection / (area(first) + area(second) - intersection)


def _document(out: Path, name: str) -> dict:
    return json.loads((out / f"{name}.json").read_text())


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as stream:
        return list(csv.DictReader(stream))


@pytest.fixture(scope="module")
def predicted(case, tmp_path_factory) -> Path:
    """The trained image predicted with `--threshold auto`, the thresholds of the evaluation named by `--evaluation`."""
    folder = tmp_path_factory.mktemp("predicted")
    (folder / "in").mkdir()
    (folder / "in" / "fractured.png").write_bytes(case.image)
    predict(str(case.train_out), [str(folder / "in")], str(folder / "out"),
            PredictConfig(evaluation_uri=str(case.train_out.parent / "evaluate"), show_progress=False))
    return folder / "out"


def test_the_trained_model_finds_the_generators_fracture(case, predicted):
    document = _document(predicted, "fractured")
    height, width = case.pixels.shape
    assert (document["width"], document["height"]) == (width, height)
    fractures = [item for item in document["detections"] if item["finding"] == "fracture"]
    best = fractures[0]
    box = [best["box"][key] for key in ("xmin", "ymin", "xmax", "ymax")]
    assert best["class_id"] == case.truth_class and best["drawn"]
    assert max(_iou(np.array(box), truth) for truth in case.truth_boxes) >= 0.5
    # FINGER (the image's part) has its own threshold in the evaluation named.
    assert document["body_part"] == "FINGER"
    odds = best["score"] / (1 - best["score"]) / (THRESHOLDS["FINGER"] / (1 - THRESHOLDS["FINGER"]))
    point = "definite" if best["score"] >= DEFINITE["FINGER"] else "suspicious"
    assert document["fracture"] == {"called": True, "score": best["score"], "threshold": THRESHOLDS["FINGER"],
                                    "normalised_score": pytest.approx(odds / (1 + odds)),
                                    "threshold_source": str(case.train_out.parent / "evaluate" / FILE_NAME),
                                    "operating_point": point, "definite_threshold": DEFINITE["FINGER"]}
    assert best["operating_point"] == point
    (row,) = _rows(predicted / "summary.csv")
    # What the fixture makes certain: the one image, its name, path and size, the part and call found
    # above; the score's exact value is the model's (the full row of a model whose output is known:
    # test_the_summary_row_of_a_model_whose_one_detection_is_known).
    assert {key: row[key] for key in ("name", "input", "width", "height", "body_part", "fractured", "threshold")} == {
        "name": "fractured", "input": str(predicted.parent / "in" / "fractured.png"), "width": str(width), "height": str(height),
        "body_part": "FINGER", "fractured": "True", "threshold": "0.35"}
    assert row["operating_point"] == point
    assert 0.35 <= float(row["fracture_score"]) <= 1
    assert 1 <= int(row["drawn"]) <= min(DisplayConfig().max_boxes, int(row["detections"]))
    assert _rows(predicted / "errors.csv") == []


def test_the_picture_shows_exactly_the_boxes_the_json_marks_drawn(case, predicted):
    document = _document(predicted, "fractured")
    picture = np.asarray(Image.open(predicted / "fractured.png").convert("RGB"))
    width, height = document["width"], document["height"]
    assert picture.shape[1] == width and picture.shape[0] > height  # the caption band is added underneath
    assert tuple(picture[height + 2, 2]) == FRACTURE_COLOUR  # the band says "FRACTURE" in the fracture colour
    assert tuple(picture[-3, 2]) == LEGEND_COLOUR  # and under it the legend of solid and dashed boxes
    line = line_width(width, height)
    drawn = [item for item in document["detections"] if item["drawn"]]
    assert 1 <= len(drawn) <= DisplayConfig().max_boxes
    for item in document["detections"]:
        box = item["box_normalized"]
        assert item["box"] == pytest.approx({"xmin": box[1] * width, "ymin": box[0] * height,
                                             "xmax": box[3] * width, "ymax": box[2] * height}, abs=0.01)
        left, top, right, bottom = box_rect(np.array(box), width, height)
        middle = line // 2  # the middle of the stroke, clear of its dark rim
        edges = np.concatenate([
            picture[top + line:bottom - line, left + middle], picture[top + line:bottom - line, right - middle],
            picture[top + middle, left + line:right - line], picture[bottom - middle, left + line:right - line],
        ])
        share = np.mean(np.all(edges == class_colour(item["class_id"]), axis=1))
        dashed = item["finding"] == "fracture" and item["operating_point"] != "definite"
        if item["drawn"] and dashed:
            assert 0.3 < share < 0.85, item  # dashes of four line widths, gaps of three
        elif item["drawn"]:
            assert share >= 0.9, item
        elif item["score"] < 0.05:
            assert share < 0.5, item  # a faint detection leaves no box behind


def _assert_same_detections(first: dict, second: dict) -> None:
    """Equal classes; scores and boxes equal up to float rounding (threaded kernels may differ in the last bit)."""
    assert [item["class_id"] for item in first["detections"]] == [item["class_id"] for item in second["detections"]]
    for key in ("score", "box_normalized"):
        np.testing.assert_allclose(
            [item[key] for item in first["detections"]], [item[key] for item in second["detections"]], atol=1e-5
        )


def test_dicom_gives_the_detections_of_the_png_of_the_same_pixels(case, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "pixels.png").write_bytes(case.image)
    (folder / "pixels8.dcm").write_bytes(dicom_of(case.pixels))
    (folder / "INVERTED16").write_bytes(dicom_of(case.pixels, sixteen_bit_inverted=True))  # no extension, as PACS exports
    predict(str(case.train_out), [str(folder)], str(tmp_path / "out"), PredictConfig(threshold=0.5, show_progress=False))
    png, *dicoms = (_document(tmp_path / "out", name) for name in ("pixels", "pixels8", "INVERTED16"))
    for dicom in dicoms:
        assert (dicom["width"], dicom["height"], dicom["body_part"]) == (png["width"], png["height"], png["body_part"])
        _assert_same_detections(dicom, png)


def test_a_real_dicom_radiograph_is_read(case, tmp_path):
    """A 16-bit MONOCHROME1 CR of 1760 x 1760 pixels from pydicom-data."""
    summary = predict(
        str(case.train_out), [str(REAL_EXTREMITY_CR)], str(tmp_path), PredictConfig(threshold=0.5, show_progress=False)
    )
    document = _document(tmp_path, "RG3_UNCR")
    # Read, decoded and run through the model; what a model trained on one synthetic finger finds
    # on a real radiograph is not the point, so no detections are required.
    assert (document["width"], document["height"], document["input"]) == (1760, 1760, str(REAL_EXTREMITY_CR))
    assert Image.open(tmp_path / "RG3_UNCR.png").size[0] == 1760
    assert len(summary.rows) == 1 and _rows(tmp_path / "errors.csv") == []


def test_bad_inputs_are_listed_with_their_reason_and_the_rest_predicted(case, tmp_path, capsys):
    folder = tmp_path / "in"
    (folder / "nested").mkdir(parents=True)
    (folder / "good.png").write_bytes(case.image)
    (folder / "nested" / "good.png").write_bytes(case.image)  # the same stem: its outputs take good-2
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "no_pixels.dcm").write_bytes(dicom_without_pixels())
    (folder / "notes").write_text("not an image, and no extension to say so")
    (folder / "labels.txt").write_text("0 0.5 0.5 0.1 0.1\n")  # in a folder: ignored, counted
    named = tmp_path / "report.pdf"
    named.write_bytes(b"%PDF-1.4")
    out = tmp_path / "out"
    code = main(["predict", "--model", str(case.train_out), "--out", str(out), "--threshold", "0.5", "--quiet",
                 str(folder), str(named), str(tmp_path / "missing.png")])
    assert code == 0
    errors = {Path(row["input"]).name: row["reason"] for row in _rows(out / "errors.csv")}
    assert errors == {"corrupt.png": "corrupt_image", "empty.jpg": "empty_file", "no_pixels.dcm": "dicom_no_pixel_data",
                      "notes": "unsupported_format", "report.pdf": "unsupported_format", "missing.png": "missing_file"}
    assert [row["name"] for row in _rows(out / "summary.csv")] == ["good", "good-2"]
    assert sorted(path.name for path in out.iterdir()) == [
        ".fracdet-predict.json", "errors.csv", "good-2.json", "good-2.png", "good.json", "good.png", "summary.csv"]
    stderr = capsys.readouterr().err
    assert f"skipped {folder / 'corrupt.png'}: corrupt_image:" in stderr and "ignored files that are not images: 1 .txt" in stderr

    only_bad = tmp_path / "only_bad"
    assert main(["predict", "--model", str(case.train_out), "--out", str(only_bad), "--threshold", "0.5", "--quiet",
                 str(folder / "corrupt.png")]) == 1  # nothing predicted: exit 1, and errors.csv says why
    assert [row["reason"] for row in _rows(only_bad / "errors.csv")] == ["corrupt_image"]


def test_an_image_the_signature_refuses_costs_only_itself(case):
    serve = load_serving(str(case.train_out))
    height, width = case.pixels.shape
    facts = decode_image(case.image, ".png", DecodeLimits()).facts
    good = InputImage(InputFile("good.png", "good"), case.image, width, height, facts)
    # Bytes Pillow never saw: the PNG signature and garbage, which TensorFlow's decoder refuses.
    refused = InputImage(InputFile("refused.png", "refused"), b"\x89PNG\r\n\x1a\n" + b"\x01" * 40, width, height, facts)
    unreadable = []
    done = detect_batch(serve, [refused, good], unreadable)
    assert [image.file.name for image, _ in done] == ["good"] and len(done[0][1].scores) > 0
    assert [(item.uri, item.reason) for item in unreadable] == [("refused.png", "model_error")]
    assert "the serving signature refused it" in unreadable[0].detail


def test_inputs_and_outputs_on_gcs(case, gcs_bucket):
    storage.write_bytes(f"gs://{gcs_bucket}/in/a.png", case.image)
    storage.write_bytes(f"gs://{gcs_bucket}/in/b/c.dcm", dicom_of(case.pixels))
    summary = predict(str(case.train_out), [f"gs://{gcs_bucket}/in"], f"gs://{gcs_bucket}/out",
                      PredictConfig(threshold=0.5, show_progress=False))
    assert [row["input"] for row in summary.rows] == [f"gs://{gcs_bucket}/in/a.png", f"gs://{gcs_bucket}/in/b/c.dcm"]
    assert [uri.rsplit("/", 1)[1] for uri in storage.list_files(f"gs://{gcs_bucket}/out")] == [
        ".fracdet-predict.json", "a.json", "a.png", "c.json", "c.png", "errors.csv", "summary.csv"]


def test_registry_references_resolve_and_bring_the_versions_thresholds(case, registry, tmp_path):
    (tmp_path / "x.png").write_bytes(case.image)
    summary = predict(f"registry://{registry}/fracdet@1", [str(tmp_path / "x.png")], str(tmp_path / "out"),
                      PredictConfig(show_progress=False))
    assert _document(tmp_path / "out", "x")["model"]["registry_version"] == 1
    champion = find_model(f"{registry}/fracdet@champion")  # the form `fracdet evaluate --champion` takes
    for model in (summary.model, champion):
        assert model.location == saved_model_uri(registry, "fracdet", 1) and model.version.version == 1
        thresholds = referenced_thresholds(model)
        assert thresholds.source == storage.join(version_uri(registry, "fracdet", 1), FILE_NAME)  # the file the version keeps
        assert dict(thresholds.by_part) == {part: value for part, value in THRESHOLDS.items() if part != "overall"}
        assert thresholds.overall == THRESHOLDS["overall"]
    assert summary.thresholds == referenced_thresholds(summary.model)


def test_a_named_file_or_folder_is_read_and_nothing_beside_the_model_is(case, registry, tmp_path):
    (tmp_path / "x.png").write_bytes(case.image)
    options = functools.partial(PredictConfig, show_progress=False)
    # A registry version's SavedModel named by its path: its folder holds the version's file, but a path names none.
    version_model = saved_model_uri(registry, "fracdet", 1)
    with pytest.raises(NoThresholdError, match=f"{version_model} is a model URI, which names no operating thresholds"):
        predict(version_model, [str(tmp_path / "x.png")], str(tmp_path / "a"), options())
    summary = predict(version_model, [str(tmp_path / "x.png")], str(tmp_path / "a"),
                      options(evaluation_uri=version_uri(registry, "fracdet", 1)))
    assert summary.thresholds.source == storage.join(version_uri(registry, "fracdet", 1), FILE_NAME)
    # A `fracdet pipeline run` folder (<run>/train/model, <run>/evaluate/evaluation): the evaluation beside is not guessed.
    run = tmp_path / "run"
    shutil.copytree(case.train_out, run / "train" / "model")
    evaluation = write_evaluation(run / "evaluate" / "evaluation", run / "train" / "model" / "saved_model",
                                  {**THRESHOLDS, "HAND": 0.2})
    with pytest.raises(NoThresholdError, match="names no operating thresholds"):
        predict(str(run / "train" / "model"), [str(tmp_path / "x.png")], str(tmp_path / "b"), options())
    assert not (tmp_path / "b").exists()  # refused before any image was read
    for named in (evaluation, evaluation / FILE_NAME):  # the evaluate output, or its file
        summary = predict(str(run / "train" / "model"), [str(tmp_path / "x.png")], str(tmp_path / "b"),
                          options(evaluation_uri=str(named)))
        assert summary.thresholds.by_part["HAND"] == 0.2 and summary.thresholds.source == str(evaluation / FILE_NAME)


def test_auto_without_thresholds_of_this_model_says_what_to_pass(case, tmp_path, capsys):
    lone = tmp_path / "lone"
    shutil.copytree(case.train_out / "saved_model", lone / "saved_model")
    (tmp_path / "x.png").write_bytes(case.image)
    with pytest.raises(NoThresholdError) as none_named:
        predict(str(lone), [str(tmp_path / "x.png")], str(tmp_path / "out"))
    assert str(none_named.value) == (
        f"--threshold auto: {lone} is a model URI, which names no operating thresholds; name a registry version "
        "(<root>/<name>@champion), pass --evaluation with this model's `fracdet evaluate` output or its "
        "operating_thresholds.json, or pass --threshold X")
    # An evaluation of another model is refused, not used.
    other = write_evaluation(tmp_path / "evaluate", case.train_out / "saved_model", THRESHOLDS)
    document = json.loads((other / FILE_NAME).read_text())
    (other / FILE_NAME).write_text(json.dumps(document | {"model_sha256": "0" * 64}))
    command = ["predict", "--model", str(lone), "--out", str(tmp_path / "out"), str(tmp_path / "x.png")]
    assert main([*command, "--evaluation", str(other)]) == 2
    assert capsys.readouterr().err == (
        f"fracdet predict: error: {other / FILE_NAME}: these thresholds were chosen for another model (model_sha256 "
        f"{'0' * 64}, not {storage.tree_sha256(str(lone / 'saved_model'))} of {lone}/saved_model); name this model's "
        "evaluation, or pass --threshold X\n")
    assert not (tmp_path / "out").exists()  # the model and thresholds are checked before any image is read
    with pytest.raises(ConfigError, match="registry://<root>/<name>@<alias or version number>"):
        predict(f"registry://{tmp_path}/fracdet", [str(tmp_path / "x.png")], str(tmp_path / "out"))


def test_a_missing_or_broken_thresholds_file_is_named_with_its_problem(case, tmp_path, capsys):
    (tmp_path / "x.png").write_bytes(case.image)
    command = ["predict", "--model", str(case.train_out), "--out", str(tmp_path / "out"), str(tmp_path / "x.png")]
    advice = f"name a `fracdet evaluate` output or its {FILE_NAME} with --evaluation, or pass --threshold X"
    assert main([*command, "--evaluation", str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err == (
        f"fracdet predict: error: {tmp_path / 'nowhere' / FILE_NAME}: no operating thresholds file there; {advice}\n")
    (tmp_path / "metrics.json").write_text(json.dumps({"map50": 0.5}))  # what --evaluation once took
    assert main([*command, "--evaluation", str(tmp_path / "metrics.json")]) == 2
    assert capsys.readouterr().err == (
        f"fracdet predict: error: {tmp_path / 'metrics.json'}: not a valid operating thresholds file: its 'schema' is None, "
        f"not 'fracdet.operating_thresholds' (a metrics.json or another file?); {advice}\n")
    assert not (tmp_path / "out").exists()


def test_a_version_registered_before_versions_kept_thresholds_or_without_any_says_so(case, tmp_path):
    (tmp_path / "x.png").write_bytes(case.image)
    registry = str(tmp_path / "registry")
    none_chosen = write_evaluation(tmp_path / "evaluate", case.train_out / "saved_model", {"overall": None})
    register_model_version(str(case.train_out), str(none_chosen), registry, "fracdet")
    with pytest.raises(NoThresholdError, match=f"{version_uri(registry, 'fracdet', 1)}/{FILE_NAME}: the evaluation chose no "
                                               r"operating threshold \(its calibration half held no fractured image\)"):
        predict(f"{registry}/fracdet@1", [str(tmp_path / "x.png")], str(tmp_path / "out"))
    # As metadata.json reads for a version registered before versions kept operating_thresholds.json.
    metadata_file = Path(version_uri(registry, "fracdet", 1), "metadata.json")
    metadata = json.loads(metadata_file.read_text())
    del metadata["operating_thresholds"]
    metadata_file.write_text(json.dumps(metadata))
    with pytest.raises(NoThresholdError, match=f"{registry}/fracdet@1: version 1 was registered before versions kept "
                                               "their operating thresholds; pass --evaluation with its evaluation, or pass "
                                               "--threshold X"):
        predict(f"{registry}/fracdet@1", [str(tmp_path / "x.png")], str(tmp_path / "out"))
    summary = predict(f"{registry}/fracdet@1", [str(tmp_path / "x.png")], str(tmp_path / "out"),
                      PredictConfig(evaluation_uri=str(case.train_out.parent / "evaluate"), show_progress=False))
    assert summary.thresholds.source == str(case.train_out.parent / "evaluate" / FILE_NAME)


@pytest.mark.parametrize("cap", [0, 1])
def test_drawing_options_cap_the_boxes(case, tmp_path, cap):
    """The cap reaches the drawing (its greedy rule on many boxes: tests/test_predict_results.py)."""
    (tmp_path / "x.png").write_bytes(case.image)
    predict(str(case.train_out), [str(tmp_path / "x.png")], str(tmp_path / "out"), PredictConfig(
        threshold=0.5, display=DisplayConfig(max_boxes=cap, min_score=0.0), show_progress=False))
    detections = _document(tmp_path / "out", "x")["detections"]
    assert detections  # the image the model was trained on: its fracture at least
    assert [item["drawn"] for item in detections] == [index < cap for index in range(len(detections))]
    assert detections[0]["score"] == max(item["score"] for item in detections)


REQUEST_FORMS = {
    "row, named": lambda data: {"instances": [{"images": {"b64": data}}]},
    "row, plain (one input: its name may go)": lambda data: {"signature_name": "serving_default", "instances": [{"b64": data}]},
    "columnar": lambda data: {"inputs": {"images": [{"b64": data}]}},
}


def test_a_kserve_request_gets_the_detections_fracdet_predict_wrote(case, registry, predicted):
    # KServe's TensorFlow predictor runs TF Serving on the version's URI (its storageUri) as a model
    # base path, serving the highest numbered folder in it.
    base = Path(version_uri(registry, "fracdet", 1))
    newest = max((path for path in base.iterdir() if path.is_dir() and path.name.isdigit()), key=lambda path: int(path.name))
    signature = tf.saved_model.load(str(newest)).signatures["serving_default"]
    (name, spec), = signature.structured_input_signature[1].items()
    assert (name, spec.dtype, spec.shape.as_list()) == ("images", tf.string, [None])
    detections = _document(predicted, "fractured")["detections"]

    for form, make_body in REQUEST_FORMS.items():
        body = json.dumps(make_body(base64.b64encode(case.image).decode("ascii")))
        tensors = decode_predict_request(body, {"images": "string"})
        assert list(tensors["images"]) == [case.image], form
        outputs = signature(images=tf.constant(tensors["images"]))
        response = json.loads(encode_row_response({key: value.numpy() for key, value in outputs.items()}))

        (prediction,) = response["predictions"]
        assert sorted(prediction) == ["detection_boxes", "detection_classes", "detection_scores", "num_detections"]
        count = prediction["num_detections"]
        assert count == len(detections) and len(prediction["detection_scores"]) == 100, form  # padded to the maximum
        assert prediction["detection_classes"][:count] == [item["class_id"] for item in detections], form
        np.testing.assert_allclose(prediction["detection_scores"][:count], [item["score"] for item in detections], atol=1e-6)
        np.testing.assert_allclose(
            prediction["detection_boxes"][:count], [item["box_normalized"] for item in detections], atol=1e-6
        )


def test_predicts_calls_on_the_test_half_give_the_evaluations_figures(case, tmp_path):
    """The evaluation's overall sensitivity and specificity are the share of test images `predict` calls right."""
    generate_dataset(SynthConfig(train=1, val=24, size=128, seed=7), str(tmp_path / "data"), progress=False)
    ingest_dataset(str(tmp_path / "data"), str(tmp_path / "ingest"), IngestConfig(), progress=False)
    evaluation, _ = run_evaluation(str(case.train_out), str(tmp_path / "ingest"), str(tmp_path / "evaluate"),
                                   config=EvaluateConfig(target_specificity=0.8, bootstrap_resamples=10, latency_repeats=1,
                                                         show_progress=False))
    tested = set(evaluation.measures.partition.test.tolist())
    (tmp_path / "test-half").mkdir()
    fractured = {}
    for index, (truth, encoded) in enumerate(read_split(str(tmp_path / "ingest"), "val")):
        if index in tested:
            (tmp_path / "test-half" / f"{index:03d}.png").write_bytes(encoded)
            fractured[f"{index:03d}"] = bool(np.any(truth.classes < 5))
    summary = predict(str(case.train_out), [str(tmp_path / "test-half")], str(tmp_path / "out"),
                      PredictConfig(evaluation_uri=str(tmp_path / "evaluate"), show_progress=False))
    # The operating thresholds evaluate wrote are the ones its figures are of, and the ones predict called with.
    written = json.loads((tmp_path / "evaluate" / FILE_NAME).read_text())
    fracture = json.loads((tmp_path / "evaluate" / "metrics.json").read_text())["fracture"]
    own = written["thresholds"]["by_body_part"]
    assert own and written["thresholds"]["overall"] == fracture["overall"]["threshold"] == summary.thresholds.overall
    assert {part: own.get(part, written["thresholds"]["overall"]) for part in BODY_PARTS} == {
        part: fracture[part]["threshold"] for part in BODY_PARTS}
    assert dict(summary.thresholds.by_part) == own
    assert written["model_sha256"] == storage.tree_sha256(str(case.train_out / "saved_model"))
    calibration = evaluation.metrics["partition"]["calibration"]
    assert written["rule"] == {"method": "split_conformal", "target_sensitivity": 0.9, "split": "val",
                               "calibration_images": calibration["images"], "calibration_fractured": calibration["fractured"]}
    metrics_json = (tmp_path / "evaluate" / "metrics.json").read_bytes()
    assert written["evaluation"]["metrics_sha256"] == hashlib.sha256(metrics_json).hexdigest()
    called = {row["name"]: row["fractured"] for row in summary.rows}
    assert set(called) == set(fractured) and any(fractured.values()) and not all(fractured.values())
    overall = evaluation.metrics["fracture"]["overall"]
    assert overall["n_images"] == len(fractured)
    calls_on_fractured = [called[name] for name, broken in fractured.items() if broken]
    calls_on_normal = [called[name] for name, broken in fractured.items() if not broken]
    assert overall["sensitivity"] == pytest.approx(np.mean(calls_on_fractured))
    assert overall["specificity"] == pytest.approx(1 - np.mean(calls_on_normal))
    _assert_the_definite_point_is_the_one_predict_calls_with(written, evaluation.metrics, summary, fractured)


def _assert_the_definite_point_is_the_one_predict_calls_with(written: dict, metrics: dict, summary, fractured: dict) -> None:
    """The definite thresholds evaluate wrote are those its figures are of, and the definite calls predict made give them."""
    calibration, fracture = metrics["partition"]["calibration"], metrics["fracture"]
    definite = written["definite"]
    assert definite["rule"] == {"method": "split_conformal", "target_specificity": 0.8,
                                "calibration_normal": calibration["images"] - calibration["fractured"], "min_normal_images": 4}
    assert written["indications"] == {"in_scope_threshold": None, "target_in_scope_kept": 0.99,
                                      "calibration_in_scope_images": calibration["images"]}
    chosen = definite["thresholds"]
    assert chosen["overall"] is not None and chosen["overall"] == fracture["overall"]["definite"]["threshold"]
    assert {part: chosen["by_body_part"].get(part, chosen["overall"]) for part in BODY_PARTS} == {
        part: fracture[part]["definite"]["threshold"] for part in BODY_PARTS}
    points = {row["name"]: row["operating_point"] for row in summary.rows}
    assert all((point != "") == row["fractured"] for row in summary.rows for point in [points[row["name"]]])
    assert set(points.values()) <= {"definite", "suspicious", ""}
    definite_on_fractured = [points[name] == "definite" for name, broken in fractured.items() if broken]
    definite_on_normal = [points[name] == "definite" for name, broken in fractured.items() if not broken]
    assert fracture["overall"]["definite"]["sensitivity"] == pytest.approx(np.mean(definite_on_fractured))
    assert fracture["overall"]["definite"]["specificity"] == pytest.approx(1 - np.mean(definite_on_normal))
