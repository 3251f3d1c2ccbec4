"""The whole DAG through kfp.local with MLflow tracking and an MLflow registry, against a real `mlflow server`.

Done when: the run's params, per-epoch metrics and evaluation figures are in MLflow, the blessed
model is version 1 with the `champion` alias, and `fracdet predict --model models:/fracdet@champion`
gives the same JSON as the file registry's champion of the same model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fracdet_core.synth import SynthConfig, generate_dataset
from fracdet_core.tracking.connection import connect

FRACDET = str(Path(sys.executable).with_name("fracdet"))
TINY_MODEL = ("model: {stem_width: 8, stage_widths: [8, 8, 16, 16, 16], stage_depths: [1, 1, 1, 1, 1], fpn_width: 8, "
              "head_depth: 1}\n")
OPEN_GATES = "min_map50: 0\nmin_sensitivity: {}\nmin_specificity: {}\nmin_auc: {}\n"  # any model is blessed


def _fracdet(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([FRACDET, *args], capture_output=True, text=True, timeout=900, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _predictions(out: Path, images: Path) -> dict[str, dict]:
    """Each image's JSON, without the lines that name where the model was read from."""
    documents = {}
    for image in sorted(images.iterdir()):
        document = json.loads((out / f"{image.stem}.json").read_text())
        document.pop("model")
        document["fracture"].pop("threshold_source")
        documents[image.name] = document
    return documents


@pytest.mark.slow
def test_a_pipeline_run_is_tracked_registered_promoted_and_served_from_mlflow(mlflow_server, mlflow_cache, tmp_path):
    generate_dataset(SynthConfig(train=60, val=12, size=96, seed=5), str(tmp_path / "data"), progress=False)
    (tmp_path / "tiny.yaml").write_text(TINY_MODEL)
    (tmp_path / "open.yaml").write_text(OPEN_GATES)
    result = _fracdet("pipeline", "run", "--root", str(tmp_path / "runs"), "--data_uri", str(tmp_path / "data"),
                      "--registry_uri", mlflow_server.registry, "--mlflow_tracking_uri", mlflow_server.url,
                      "--kfp_dashboard_url", "https://kubeflow.example.org/pipeline", "--shards", "2", "--epochs", "2",
                      "--image_size", "64", "--batch_size", "8", "--train_config_uri", str(tmp_path / "tiny.yaml"),
                      "--thresholds_uri", str(tmp_path / "open.yaml"), "--promote")
    printed = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    assert printed["registered version"] == "1 (models:/fracdet/1)"

    # Tracking: one run, the pipeline's, with the training's params and curves and the evaluation's figures.
    server = connect(mlflow_server.url)
    experiment = server.client.get_experiment_by_name("fracdet")
    [run] = server.client.search_runs([experiment.experiment_id])
    run_id = printed["run outcome"].split("(run ", 1)[1].rstrip(")")
    assert run.data.tags["fracdet.kfp_run_id"] == run_id
    assert run.data.tags["fracdet.kfp_run_url"] == f"https://kubeflow.example.org/pipeline/#/runs/details/{run_id}"
    assert run.data.params["model.image_size"] == "64" and run.data.params["train.epochs"] == "2"
    assert len(run.data.params["data.manifest_sha256"]) == 64 and "class_weight.XR_HAND_positive" in run.data.params
    assert run.data.params["eda.train.images"] == "60"
    for name in ("train/loss", "train/val_loss", "train/images_per_second", "train/learning_rate"):
        assert [point.step for point in server.client.get_metric_history(run.info.run_id, name)] == [1, 2], name
    model_folder = Path(printed["trained model"]).parent
    summary = json.loads((model_folder / "train_summary.json").read_text())
    losses = [point.value for point in server.client.get_metric_history(run.info.run_id, "train/loss")]
    assert losses == pytest.approx([epoch["loss"] for epoch in summary["history"]])
    evaluation = Path(printed["evaluation report"]).parent
    metrics = json.loads((evaluation / "metrics.json").read_text())
    assert run.data.metrics["eval/map50"] == pytest.approx(metrics["map50"]) and run.data.metrics["eval/blessed"] == 1.0
    assert "eval/overall/specificity" in run.data.metrics
    logged = {item.path for item in server.client.list_artifacts(run.info.run_id, "evaluation")}
    assert {"evaluation/report.html", "evaluation/metrics.json", "evaluation/operating_thresholds.json"} <= logged
    assert json.loads(run.data.tags["fracdet.run_outcome"])["outcome"] == "blessed"

    # Registry: version 1, the champion, made from the run's own model and kept in the run's artifacts.
    version = server.client.get_model_version_by_alias("fracdet", "champion")
    assert version.version == "1" and version.run_id == run.info.run_id
    assert version.tags["fracdet.blessed"] == "true" and version.tags["fracdet.kfp_run_id"] == run_id

    # Serving: the same JSON from models:/fracdet@champion as from a file registry's champion of the same model.
    images = tmp_path / "data" / "valid" / "images"
    _fracdet("register", "--model", str(model_folder), "--eval", str(evaluation), "--registry", str(tmp_path / "registry"),
             "--promote")
    environment = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_server.url}
    _fracdet("predict", "--model", "models:/fracdet@champion", "--out", str(tmp_path / "from-mlflow"), str(images),
             env=environment)
    _fracdet("predict", "--model", f"{tmp_path / 'registry'}/fracdet@champion", "--out", str(tmp_path / "from-files"),
             str(images))
    from_mlflow = _predictions(tmp_path / "from-mlflow", images)
    assert len(from_mlflow) == 12 and from_mlflow == _predictions(tmp_path / "from-files", images)
    assert (tmp_path / "from-mlflow" / "summary.csv").read_text() == (tmp_path / "from-files" / "summary.csv").read_text()
