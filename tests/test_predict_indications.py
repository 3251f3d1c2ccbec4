"""`fracdet predict` answers every image with its indication: real files no one here made, as DICOM and again as PNG
without tags, and photographs, are out of scope by their tags or their pixels, with no fracture call and no box drawn;
the project's synthetic radiographs keep their call.

The model finds one fractured FOREARM box on every image (tests/model_builders.py) and has no indications outputs,
so the model decides nothing: that is said in each in-scope image's detail.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from indication_builders import REAL_DICOMS, pixels_as_png, radiograph_dicom, real_dicom, skimage_file
from model_builders import CONFIG, constant_model
from PIL import Image

from fracdet import main
from fracdet_core.classes import class_id
from fracdet_core.indications.verdict import Indication, ModelAnswer
from fracdet_core.predict.indication import indication_record
from fracdet_core.serving.signature import export_saved_model
from fracdet_core.synth import SynthConfig
from fracdet_core.synth.dataset import make_image, plan_image

pytestmark = pytest.mark.slow  # decodes pydicom-data's large radiographs and runs a SavedModel

UNDECIDED = ("not_decided", None)


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> str:
    base = tmp_path_factory.mktemp("fracture_everywhere")
    keras_model, _ = constant_model(class_id("FOREARM", fractured=True))
    export_saved_model(keras_model, CONFIG, str(base / "model" / "saved_model"))
    return str(base / "model")


def _inputs(folder: Path) -> dict[str, tuple[str, str | None]]:
    """Write the inputs; returns output name -> the (reason, decided_by) expected."""
    folder.mkdir()
    expected: dict[str, tuple[str, str | None]] = {}
    for name, reason in REAL_DICOMS.items():
        stem = name.removesuffix(".dcm")
        (folder / name).write_bytes(real_dicom(name))
        expected[stem] = (reason, "dicom_tags")
        (folder / f"{stem}_pixels.png").write_bytes(pixels_as_png(name))
        expected[f"{stem}_pixels"] = ("colour_image", "image") if name == "US1_UNCR.dcm" else UNDECIDED
    for name in ("astronaut.png", "rocket.jpg", "camera.png"):
        (folder / name).write_bytes(skimage_file(name))
        expected[name.rsplit(".", 1)[0]] = UNDECIDED if name == "camera.png" else ("colour_image", "image")
    for image_format, verdict in (("png", UNDECIDED), ("dcm", ("body_part_indicated", "dicom_tags"))):
        config = SynthConfig(train=0, val=1, size=256, seed=5, image_format=image_format)
        (folder / f"synthetic_{image_format}.{image_format}").write_bytes(make_image(config, plan_image(config, "val", 0))[0])
        expected[f"synthetic_{image_format}"] = verdict
    return expected


@pytest.fixture(scope="module")
def predicted(model, tmp_path_factory) -> tuple[Path, dict[str, tuple[str, str | None]], str]:
    base = tmp_path_factory.mktemp("indications")
    expected = _inputs(base / "in")
    out = base / "out"
    assert main(["predict", "--model", model, "--out", str(out), "--threshold", "0.5", "--quiet", str(base / "in")]) == 0
    return out, expected, str(base / "in")


def _rows(out: Path) -> dict[str, dict]:
    with open(out / "summary.csv", newline="") as stream:
        return {row["name"]: row for row in csv.DictReader(stream)}


def test_each_image_gets_the_reason_and_the_source_that_decided(predicted):
    out, expected, _ = predicted
    answers = {}
    for name in expected:
        indication = json.loads((out / f"{name}.json").read_text())["indication"]
        answers[name] = (indication["reason"], indication["decided_by"])
    assert answers == expected


def test_out_of_scope_images_get_no_call_and_no_box_and_in_scope_ones_keep_theirs(predicted):
    out, expected, _ = predicted
    for name, (reason, _) in expected.items():
        document = json.loads((out / f"{name}.json").read_text())
        in_scope = reason in ("not_decided", "body_part_indicated")
        assert document["in_scope"] is in_scope, name
        assert [record["drawn"] for record in document["detections"]] == [in_scope], name
        if in_scope:
            assert (document["body_part"], document["fracture"]["called"]) == ("FOREARM", True), name
            if reason == "not_decided":
                assert document["indication"]["detail"].endswith("the model returns no in-scope score, so the model "
                                                                 "decides nothing"), name
        else:
            assert (document["body_part"], document["fracture"]) == (None, None), name
            assert document["indication"]["likely_body_part"] == "OTHER"  # no tags of the five, no probabilities


def test_the_picture_of_an_out_of_scope_image_is_the_image_alone_with_the_reason_underneath(predicted):
    out, _, inputs = predicted
    photograph = np.asarray(Image.open(io.BytesIO(skimage_file("astronaut.png"))).convert("L"))
    picture = np.asarray(Image.open(out / "astronaut.png").convert("RGB"))
    height = photograph.shape[0]
    assert picture.shape[0] > height  # the band with the reason
    assert np.array_equal(picture[:height], np.repeat(photograph[..., None], 3, axis=2))  # no box, not even a normal one
    synthetic = np.asarray(Image.open(Path(inputs) / "synthetic_png.png").convert("RGB"))
    drawn = np.asarray(Image.open(out / "synthetic_png.png").convert("RGB"))[:synthetic.shape[0]]
    assert not np.array_equal(drawn, synthetic)  # in scope: its fracture box is drawn


def test_summary_csv_counts_them_and_leaves_the_call_empty(predicted):
    out, expected, _ = predicted
    rows = _rows(out)
    assert {name: (row["in_scope"], row["indication_reason"]) for name, row in rows.items()} == {
        name: (str(reason in ("not_decided", "body_part_indicated")), reason) for name, (reason, _) in expected.items()}
    chest = rows["RG1_UNCR"]
    assert [chest[column] for column in ("body_part", "fractured", "fracture_score", "threshold", "drawn")] == \
        ["", "", "", "", "0"]


def test_the_closing_line_counts_the_images_not_supported(model, tmp_path, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "chest.dcm").write_bytes(real_dicom("RG1_UNCR.dcm"))
    (tmp_path / "in" / "astronaut.png").write_bytes(skimage_file("astronaut.png"))
    (tmp_path / "in" / "camera.png").write_bytes(skimage_file("camera.png"))
    assert main(["predict", "--model", model, "--out", str(tmp_path / "out"), "--threshold", "0.5", "--quiet",
                 str(tmp_path / "in")]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert last == (f"predicted 3 image(s): 1 called fractured, 2 not supported (outside the indications: no fracture "
                    f"call); skipped 0; outputs in {tmp_path / 'out'} (summary.csv, errors.csv)")


def test_the_json_indication_of_a_model_with_an_in_scope_answer():
    from fracdet_core.indications.reasons import DecidedBy, Reason

    probabilities = np.array([0.05, 0.05, 0.1, 0.1, 0.1, 0.6], np.float32)
    indication = Indication(False, Reason.MODEL_OUT_OF_SCOPE, "in-scope score 0.120 < threshold 0.400", DecidedBy.MODEL,
                            "OTHER", ModelAnswer(0.12, probabilities, 0.4))
    assert indication_record(indication) == {
        "reason": "model_out_of_scope", "detail": "in-scope score 0.120 < threshold 0.400", "decided_by": "model",
        "likely_body_part": "OTHER", "in_scope_score": 0.12, "in_scope_threshold": 0.4,
        "body_part_probabilities": {"ELBOW": 0.05, "FINGER": 0.05, "FOREARM": 0.1, "HAND": 0.1, "SHOULDER": 0.1, "OTHER": 0.6},
        "notes": [],
    }


def test_bad_tags_are_notes_in_the_json_and_never_stop_the_run(model, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "wrong_vr.dcm").write_bytes(radiograph_dicom(Modality=("US", 7), BodyPartExamined="HAND"))
    (tmp_path / "in" / "multi_absurd.dcm").write_bytes(radiograph_dicom(Modality=["CR", "CT"], BodyPartExamined="\x01" * 9))
    assert main(["predict", "--model", model, "--out", str(tmp_path / "out"), "--threshold", "0.5", "--quiet",
                 str(tmp_path / "in")]) == 0
    answers = {}
    for name in ("wrong_vr", "multi_absurd"):
        document = json.loads((tmp_path / "out" / f"{name}.json").read_text())
        answers[name] = (document["in_scope"], document["indication"]["reason"],
                         [note["reason"] for note in document["indication"]["notes"]])
    assert answers == {
        "wrong_vr": (True, "body_part_indicated", ["dicom_tag_invalid"]),
        "multi_absurd": (True, "not_decided", ["dicom_tag_invalid", "dicom_tag_invalid", "model_undecided"]),
    }
