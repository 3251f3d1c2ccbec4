"""`fracdet evaluate` end to end, with a SavedModel whose one detection is known, so the metrics are too."""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pytest
import tensorflow as tf
import yaml
from model_builders import perfect_setup

from fracdet import main
from fracdet_core import storage
from fracdet_core.evaluate.config import EvaluateConfig
from fracdet_core.evaluate.inference import read_split
from fracdet_core.evaluate.run import run_evaluation
from fracdet_core.operating_thresholds import (
    SPLIT_CONFORMAL,
    DefiniteRule,
    EvaluationSource,
    Indications,
    OperatingThresholdsFile,
    ThresholdRule,
    parse_thresholds,
)
from fracdet_core.serving.saved_model import load_serving

NO_CLINICAL_GATES = {"min_map50": 0.9, "min_sensitivity": {}, "min_specificity": {}, "min_auc": {}}


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> dict:
    """A SavedModel and an ingest whose val images each hold exactly the box the model predicts."""
    base = tmp_path_factory.mktemp("evaluate")
    model, ingest = perfect_setup(base)
    (base / "gates.yaml").write_text(yaml.safe_dump(NO_CLINICAL_GATES))
    return {"base": base, "model": model, "ingest": ingest, "gates": str(base / "gates.yaml")}


QUICK = EvaluateConfig(bootstrap_resamples=50, latency_repeats=2, show_progress=False)
# The gates of NO_CLINICAL_GATES on a perfect model without a champion.
GATES_PASSED = ["PASS map50 1.000 >= 0.900", "PASS map50 regression: no champion to compare against",
                *(f"PASS indications.{share} not measured: no in-scope threshold (the model has no indications output, "
                  "or the split no out-of-scope images)" for share in ("in_scope_kept", "out_of_scope_rejected"))]


def test_the_signature_runs_on_every_val_image_with_boxes_in_original_coordinates(setup):
    serve = load_serving(setup["model"])  # a train output: the SavedModel is found in saved_model/
    for truth, encoded in read_split(setup["ingest"], "val"):
        outputs = serve(images=tf.constant([encoded]))
        assert int(outputs["num_detections"][0]) == 1
        np.testing.assert_allclose(outputs["detection_boxes"][0, 0].numpy(), truth.boxes[0], atol=1e-4)


def test_a_perfect_model_scores_one_and_writes_every_output(setup, tmp_path):
    evaluation, blessing = run_evaluation(setup["model"], setup["ingest"], str(tmp_path), thresholds_uri=setup["gates"],
                                          config=QUICK)
    metrics = evaluation.metrics
    assert metrics["map50"] == pytest.approx(1.0) and metrics["map50_95"] == pytest.approx(1.0)
    assert metrics["per_class_ap"]["XR_FOREARM_negative"] == pytest.approx(1.0)
    assert metrics["per_class_ap"]["XR_HAND_positive"] is None  # no truth: undefined, not zero
    assert metrics["map50_ci95"] == pytest.approx([1.0, 1.0])
    # Every figure is of the test half: 2 of the 4 val images; the other 2 chose the thresholds.
    assert metrics["images"] == 2 and metrics["boxes"] == 2 and metrics["split"] == "val"
    assert metrics["schema_version"] == 5 and metrics["target_specificity"] == 0.95
    partition = metrics["partition"]
    assert partition["images"] == 4 and partition["calibration"]["images"] == partition["test"]["images"] == 2
    assert partition["test"]["by_part"]["FOREARM"] == {"images": 2, "fractured": 0}
    assert metrics["calibration_fracture"]["overall"]["n_images"] == 2
    assert metrics["fracture"]["FOREARM"]["n_images"] == 2
    assert metrics["fracture"]["overall"]["n_fractured"] == 0 and metrics["fracture"]["overall"]["sensitivity"] is None
    assert metrics["latency_ms"] > 0 and len(metrics["model_sha256"]) == 64
    assert blessing.blessed and blessing.reasons == GATES_PASSED
    # The files say what the fixture makes certain, read independently of the values returned.
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        ".fracdet-evaluate.json", "blessing.json", "metrics.json", "operating_thresholds.json", "report.html"]
    written = json.loads((tmp_path / "metrics.json").read_text())
    assert (written["model"], written["data"], written["split"], written["images"], written["boxes"]) == (
        f"{setup['model']}/saved_model", setup["ingest"], "val", 2, 2)
    assert written["partition"] == metrics["partition"] and written["calibration_fracture"] == metrics["calibration_fracture"]
    assert written["map50"] == pytest.approx(1.0) and written["per_class_ap"]["XR_FOREARM_negative"] == pytest.approx(1.0)
    assert written["per_class_ap"]["XR_HAND_positive"] is None
    verdict = json.loads((tmp_path / "blessing.json").read_text())
    assert verdict["blessed"] is True and verdict["reasons"] == GATES_PASSED and verdict["champion"] is None
    report = (tmp_path / "report.html").read_text()
    assert "Blessed" in report and "<script" not in report and not re.search(r"(src|href)=\"https?:", report)
    assert "Calibration half" in report and "Test half" in report and "calibration images" in report
    assert report.count("data:image/png;base64,") >= 5  # PR, ROC, FROC, confusion and the gallery


def test_the_operating_thresholds_file_says_no_threshold_was_chosen_when_no_calibration_image_is_fractured(setup, tmp_path):
    """The fixture's val split holds no fractured image; the file still names the model, the rule and the evaluation.

    Its values when thresholds are chosen: tests/test_predict.py, on a split with fractured images.
    """
    options = EvaluateConfig(target_sensitivity=0.8, bootstrap_resamples=50, latency_repeats=2, show_progress=False)
    run_evaluation(setup["model"], setup["ingest"], str(tmp_path), config=options)
    metrics_json = (tmp_path / "metrics.json").read_bytes()
    manifest = (setup["base"] / "ingest" / "manifest.json").read_bytes()
    written = parse_thresholds((tmp_path / "operating_thresholds.json").read_bytes(), "operating_thresholds.json", "")
    assert written == OperatingThresholdsFile(
        model_sha256=storage.tree_sha256(f"{setup['model']}/saved_model"), by_body_part={}, overall=None,
        rule=ThresholdRule(SPLIT_CONFORMAL, 0.8, "val", calibration_images=2, calibration_fractured=0),
        evaluation=EvaluationSource(hashlib.sha256(metrics_json).hexdigest(), setup["ingest"],
                                    hashlib.sha256(manifest).hexdigest(), json.loads(metrics_json)["evaluated_at"]),
        # No call, so no definite call either; no in-scope threshold chosen by this evaluation.
        definite_by_body_part={}, definite_overall=None,
        definite_rule=DefiniteRule(SPLIT_CONFORMAL, 0.95, calibration_normal=2, min_normal_images=19),
        indications=Indications(None, 0.99, calibration_in_scope_images=2),
    )
    assert json.loads((tmp_path / "operating_thresholds.json").read_text())["thresholds"] == {"by_body_part": {}, "overall": None}


def test_default_gates_refuse_a_model_that_finds_no_fracture(setup, tmp_path):
    _, blessing = run_evaluation(setup["model"], setup["ingest"], str(tmp_path), config=QUICK)
    assert not blessing.blessed
    assert "FAIL fracture.overall.sensitivity is missing from the metrics (needs >= 0.800)" in blessing.reasons


def test_the_champion_is_measured_once_then_read_from_the_cache(setup, tmp_path):
    cache = tmp_path / "cache"
    run_evaluation(setup["model"], setup["ingest"], str(tmp_path / "first"), champion_uri=setup["model"],
                   thresholds_uri=setup["gates"], cache_uri=str(cache), config=QUICK)
    (entry,) = cache.iterdir()
    champion = json.loads(entry.read_text())
    assert champion["map50"] == pytest.approx(1.0)
    champion["map50"] = 0.5  # a cached value the next run can only have read from the cache
    entry.write_text(json.dumps(champion))
    _, blessing = run_evaluation(setup["model"], setup["ingest"], str(tmp_path / "second"), champion_uri=setup["model"],
                                 thresholds_uri=setup["gates"], cache_uri=str(cache), config=QUICK)
    assert "PASS map50 1.000 vs champion 0.500: drop -0.500 <= 0.050" in blessing.reasons
    assert json.loads((tmp_path / "second" / "blessing.json").read_text())["champion"]["map50"] == 0.5


def test_the_cli_prints_the_table_and_names_a_missing_model(setup, tmp_path, capsys):
    assert main(["evaluate", "--model", setup["model"], "--data", setup["ingest"], "--out", str(tmp_path / "out"),
                 "--thresholds", setup["gates"], "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "mAP@0.5 1.000" in printed and "blessed: yes" in printed and "report:" in printed
    assert f"operating thresholds: {tmp_path / 'out' / 'operating_thresholds.json'}" in printed
    assert "calibration half 2 (0 fractured)" in printed and "test half:" in printed
    (tmp_path / "empty").mkdir()
    assert main(["evaluate", "--model", str(tmp_path / "empty"), "--data", setup["ingest"],
                 "--out", str(tmp_path / "x"), "--quiet"]) == 2
    assert "no saved_model.pb" in capsys.readouterr().err


def test_a_second_evaluation_replaces_the_first_whole_in_a_folder_that_did_not_exist(setup, tmp_path):
    out = tmp_path / "new" / "evaluation"  # as a KFP output artifact: neither it nor its parent exists yet
    run_evaluation(setup["model"], setup["ingest"], str(out), thresholds_uri=setup["gates"], config=QUICK)
    assert json.loads((out / "blessing.json").read_text())["blessed"] is True
    run_evaluation(setup["model"], setup["ingest"], str(out), config=QUICK)  # default gates: not blessed
    assert json.loads((out / "blessing.json").read_text())["blessed"] is False
    assert json.loads((out / "metrics.json").read_text())["partition"]["images"] == 4
    assert json.loads((out / ".fracdet-evaluate.json").read_text()) == {
        "writer": "fracdet evaluate", "state": "complete",
        "files": ["blessing.json", "metrics.json", "operating_thresholds.json", "report.html"]}
    assert sorted(path.name for path in tmp_path.iterdir()) == ["new"]
    assert sorted(path.name for path in out.parent.iterdir()) == ["evaluation"]


def test_an_evaluation_written_before_records_existed_is_replaced(setup, tmp_path):
    for name in ("metrics.json", "blessing.json", "report.html"):
        (tmp_path / name).write_text("earlier")
    run_evaluation(setup["model"], setup["ingest"], str(tmp_path), thresholds_uri=setup["gates"], config=QUICK)
    assert json.loads((tmp_path / "metrics.json").read_text())["map50"] == pytest.approx(1.0)


def test_an_out_that_would_overwrite_an_input_or_foreign_files_is_refused_before_the_long_work(setup, tmp_path, capsys):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    missing = str(tmp_path / "no-model")  # were the model read first, the error would be about it
    ingest = {path: path.read_bytes() for path in (setup["base"] / "ingest").rglob("*") if path.is_file()}
    cases = {
        setup["ingest"]: f"--out {setup['ingest']} is the input {setup['ingest']}",
        str(tmp_path / "out"): "holds files fracdet evaluate did not write (it has no .fracdet-evaluate.json): notes.txt",
        str(tmp_path / "evaluate"): f"--out {tmp_path / 'evaluate'} contains the input {tmp_path / 'evaluate' / 'cache'}",
    }
    for out, message in cases.items():
        assert main(["evaluate", "--model", missing, "--data", setup["ingest"], "--out", out, "--quiet",
                     "--cache", str(tmp_path / "evaluate" / "cache")]) == 2
        assert message in capsys.readouterr().err
    assert (tmp_path / "out" / "notes.txt").read_text() == "mine" and not (tmp_path / "evaluate").exists()
    assert {path: path.read_bytes() for path in (setup["base"] / "ingest").rglob("*") if path.is_file()} == ingest
