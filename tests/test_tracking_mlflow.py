"""MLflow tracking: what each stage logs (exact figures from the stages' own records), against a real `mlflow server`;
the run records of an MLflow registry; a wrong password; the server going away mid-registration."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from mlflow_server import start_server
from registry_builders import evaluation_of, stand_in_model

from fracdet_components.run_records import read_outcome, record_blessing, write_outcome
from fracdet_core.errors import AccessDeniedError
from fracdet_core.registry.backend import open_registry
from fracdet_core.tracking.connection import connect, registry_uri_of, tracking_uri_of
from fracdet_core.tracking.figures import evaluation_metrics, training_metrics, training_params
from fracdet_core.tracking.log import log_evaluation
from fracdet_core.tracking.run import RunKey, find_run


@pytest.mark.parametrize(("registry", "tracking"), [
    ("mlflow://127.0.0.1:5000", "http://127.0.0.1:5000"),
    ("mlflow://mlflow.ml.svc/prefix", "http://mlflow.ml.svc/prefix"),
    ("mlflow+https://mlflow.example.org", "https://mlflow.example.org"),
])
def test_registry_and_tracking_uris_name_the_same_server(registry, tracking):
    assert tracking_uri_of(registry) == tracking and registry_uri_of(tracking) == registry
    assert tracking_uri_of("mlflow://") is None  # MLFLOW_TRACKING_URI's server


def test_per_epoch_figures_are_metrics_with_their_epoch_as_step():
    summary = {"history": [{"epoch": 1, "loss": 2.5, "val_loss": 2.0, "images_per_second": 10.0, "learning_rate": 1e-4},
                           {"epoch": 2, "loss": 1.5, "val_loss": float("nan"), "images_per_second": 12.0,
                            "learning_rate": 1e-3}],
               "best_val_loss": 2.0, "epochs_run": 2, "wall_time_s": 9.5}
    assert training_metrics(summary) == [
        ("train/loss", 2.5, 1), ("train/val_loss", 2.0, 1), ("train/images_per_second", 10.0, 1),
        ("train/learning_rate", 1e-4, 1), ("train/loss", 1.5, 2), ("train/images_per_second", 12.0, 2),
        ("train/learning_rate", 1e-3, 2),  # a NaN loss is left out: MLflow takes finite numbers
        ("train/best_val_loss", 2.0, 0), ("train/epochs_run", 2.0, 0), ("train/wall_time_s", 9.5, 0)]


def test_the_indications_heads_epochs_are_metrics_of_their_own():
    summary = {"history": [{"epoch": 1, "loss": 2.5}], "epochs_run": 1,
               "indications": {"epochs_run": 2, "history": [{"epoch": 1, "loss": 0.7, "val_loss": 0.3},
                                                             {"epoch": 2, "loss": 0.1, "val_loss": 0.05}]}}
    assert training_metrics(summary) == [
        ("train/loss", 2.5, 1), ("train/epochs_run", 1.0, 0),
        ("train/indications/loss", 0.7, 1), ("train/indications/val_loss", 0.3, 1),
        ("train/indications/loss", 0.1, 2), ("train/indications/val_loss", 0.05, 2)]


def test_configs_data_eda_and_class_weights_are_params():
    params = training_params({"model": {"image_size": 64, "stage_widths": [8, 16]}, "train": {"epochs": 3}},
                             {"class_weights": [1.25, 0.5], "class_names": ["XR_HAND_positive", "XR_HAND_negative"]},
                             {"uri": "gs://b/ingest", "manifest_sha256": "ab"},
                             {"splits": {"train": {"images": 32, "boxes": 40, "background_images": 2}},
                              "quarantine": {"found": 40, "quarantined": 0, "share": 0.0}})
    assert params == {"data.uri": "gs://b/ingest", "data.manifest_sha256": "ab", "model.image_size": "64",
                      "model.stage_widths": "[8, 16]", "train.epochs": "3", "class_weight.XR_HAND_positive": "1.25",
                      "class_weight.XR_HAND_negative": "0.5",
                      "eda.train.images": "32", "eda.train.boxes": "40", "eda.train.background_images": "2",
                      "eda.quarantine.found": "40", "eda.quarantine.quarantined": "0", "eda.quarantine.share": "0.0"}


def test_the_evaluations_figures_are_metrics_and_undefined_ones_are_left_out():
    metrics = {"map50": 0.5, "map50_95": 0.25, "ar100": 0.75, "latency_ms": 12.0, "map50_ci95": [0.4, 0.6],
               "per_class_ap": {"XR_HAND_positive": 0.5, "XR_HAND_negative": None},
               "fracture": {"HAND": {"sensitivity": 0.9, "specificity": 0.8, "auc": 0.85},
                            "ELBOW": {"sensitivity": None, "specificity": 1.0, "auc": None}}}
    assert evaluation_metrics(metrics, {"by_body_part": {"HAND": 0.4}, "overall": 0.35}, True) == {
        "eval/map50": 0.5, "eval/map50_95": 0.25, "eval/ar100": 0.75, "eval/latency_ms": 12.0, "eval/map50_ci95_low": 0.4,
        "eval/map50_ci95_high": 0.6, "eval/ap/XR_HAND_positive": 0.5, "eval/hand/sensitivity": 0.9,
        "eval/hand/specificity": 0.8, "eval/hand/auc": 0.85, "eval/elbow/specificity": 1.0, "eval/threshold/hand": 0.4,
        "eval/threshold/other_parts": 0.35, "eval/blessed": 1.0}


def test_an_evaluation_is_logged_into_the_run_of_its_model_with_its_files(mlflow_server, tmp_path):
    experiment = f"fracdet-{uuid.uuid4().hex[:8]}"
    model = stand_in_model(tmp_path / "model", "model")
    evaluation = evaluation_of(model, tmp_path / "evaluation", blessed=True)
    (Path(evaluation) / "report.html").write_text("<html>report</html>")
    run_id = log_evaluation(mlflow_server.url, RunKey(experiment), evaluation)
    sha256 = json.loads(Path(evaluation, "metrics.json").read_text())["model_sha256"]
    server = connect(mlflow_server.url)
    assert find_run(server, RunKey(experiment, model_sha256=sha256)) == run_id
    run = server.client.get_run(run_id)
    assert run.data.metrics["eval/map50"] == 0.5 and run.data.metrics["eval/threshold/hand"] == 0.4
    assert run.data.tags["fracdet.blessed"] == "True"
    logged = {item.path for item in server.client.list_artifacts(run_id, "evaluation")}
    assert logged == {"evaluation/report.html", "evaluation/metrics.json", "evaluation/blessing.json",
                      "evaluation/operating_thresholds.json"}
    assert log_evaluation(mlflow_server.url, RunKey(experiment), evaluation) == run_id  # the same run again, not a new one


def test_an_mlflow_registry_keeps_a_runs_blessing_and_outcome_as_tags_of_its_mlflow_run(mlflow_server):
    name, run_id = f"fracdet-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    assert read_outcome(mlflow_server.registry, name, run_id) is None
    record_blessing(mlflow_server.registry, name, run_id, True)
    written = write_outcome(mlflow_server.registry, name, run_id, "SUCCEEDED", None)
    assert written["outcome"] == "blessed" and read_outcome(mlflow_server.registry, name, run_id) == written
    server = connect(mlflow_server.url)
    tags = server.client.get_run(find_run(server, RunKey(name, kfp_run_id=run_id))).data.tags
    assert json.loads(tags["fracdet.run_outcome"])["outcome"] == "blessed"


@pytest.mark.slow
def test_a_wrong_password_is_refused_with_a_clear_message(tmp_path, monkeypatch):
    server = start_server(tmp_path / "auth-server", basic_auth=True)
    try:
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "admin")
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "fracdet-tests-7d2c")
        assert open_registry(server.registry).list_versions("fracdet") == []  # the right one is let in
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "wrong")
        started = time.monotonic()
        with pytest.raises(AccessDeniedError, match=f"the MLflow server {server.url} refused the credentials "
                                                    r"\(UNAUTHENTICATED\): check MLFLOW_TRACKING_USERNAME"):
            open_registry(server.registry).list_versions("fracdet")
        assert time.monotonic() - started < 5  # an answer, not a fault: not retried
    finally:
        server.stop()


_REGISTER = """
import sys
from fracdet_core.registry.backend import open_registry
open_registry(sys.argv[1]).register(sys.argv[2], sys.argv[3], "fracdet")
"""


@pytest.mark.slow
def test_the_server_going_away_mid_registration_fails_clearly_and_leaves_no_version(tmp_path, monkeypatch):
    server = start_server(tmp_path / "server")
    model = stand_in_model(tmp_path / "model", "model", assets=400)
    evaluation = evaluation_of(model, tmp_path / "evaluation", blessed=True)
    monkeypatch.setenv("FRACDET_GCS_RETRY", "initial=0.1 maximum=0.5 deadline=3 timeout=2")
    process = subprocess.Popen([sys.executable, "-c", _REGISTER, server.registry, model, evaluation],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not any((server.folder / "artifacts").rglob("asset-*")):
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()
            time.sleep(0.05)
        os.killpg(server.process.pid, signal.SIGKILL)  # the server and its workers, at once
        server.process.wait()
        _, err = process.communicate(timeout=120)
    finally:
        server.stop()
    assert process.returncode == 1
    assert "MlflowUnavailableError" in err and f"the MLflow server {server.url} did not answer" in err
    assert "attempts in" in err and "FRACDET_GCS_RETRY sets the policy" in err
    restarted = server.__class__(server.folder, server.port).start()  # the same database and artifacts
    try:
        assert restarted.url == server.url and open_registry(restarted.registry).list_versions("fracdet") == []
    finally:
        restarted.stop()


_WITHOUT_TRACKING = """
import os
import sys

os.environ.pop("MLFLOW_TRACKING_URI", None)
from fracdet import build_parser
from fracdet_components.artifacts import log_to_mlflow
from fracdet_components.run_records import record_blessing, write_outcome
from fracdet_core.registry.backend import open_registry
from fracdet_core.registry.refs import resolve
import fracdet_pipelines.fracdet_pipeline

build_parser().parse_args(["train", "--data", "d", "--out", "o"])
open_registry(sys.argv[1]).list_versions("fracdet")
resolve(sys.argv[1] + "/fracdet@champion", missing_ok=True)
record_blessing(sys.argv[1], "fracdet", "run-1", True)
write_outcome(sys.argv[1], "fracdet", "run-1", "SUCCEEDED", None)
assert log_to_mlflow(None, None, None, None, tracking_uri="", model_name="fracdet", run_id="run-1", dashboard_url="") is None
print(sorted(name for name in sys.modules if name.split(".")[0] == "mlflow"))
"""


def test_without_a_tracking_uri_or_an_mlflow_registry_mlflow_is_not_imported(tmp_path):
    environment = {key: value for key, value in os.environ.items() if key != "MLFLOW_TRACKING_URI"}
    result = subprocess.run([sys.executable, "-c", _WITHOUT_TRACKING, str(tmp_path / "registry")], capture_output=True,
                            text=True, timeout=300, env=environment)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
