"""Logging a stage's outputs into its pipeline run's MLflow run (`fracdet_core.tracking.run` finds or makes the run).

`log_training` takes what training wrote (train_summary.json and model_config.json beside the
SavedModel), the ingest's manifest and the EDA's outputs; `log_evaluation` takes what evaluation
wrote. Both read finished outputs rather than hooking into the stage while it runs, so the stages
themselves know nothing of MLflow, and a pipeline can log training from its evaluate task, which
is never cached (see `fracdet_components.artifacts.run_evaluate_component`).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile

from fracdet_core import storage
from fracdet_core.serving.saved_model import saved_model_location
from fracdet_core.tracking.connection import MlflowServer, connect
from fracdet_core.tracking.figures import evaluation_metrics, training_metrics, training_params
from fracdet_core.tracking.run import RunKey, open_run

_BATCH = 100  # params per log_batch call (MLflow's limit; metrics allow 1000)
EVALUATION_ARTIFACTS = ("report.html", "metrics.json", "blessing.json", "operating_thresholds.json")


def log_training(tracking_uri: str | None, key: RunKey, model_uri: str, dataset_uri: str, *, eda_uri: str | None = None) -> str:
    """Log a training's configs, data fingerprint, EDA summary and class weights as params, its per-epoch figures as
    metrics, and its records as artifacts; the MLflow run's ID.

    Args:
        tracking_uri: the tracking server; None: MLFLOW_TRACKING_URI.
        key: which run (`RunKey`); its model fingerprint is filled in from `model_uri` when missing.
        model_uri: the train output (saved_model/ inside, train_summary.json and model_config.json beside it).
        dataset_uri: the ingest output trained on (its manifest.json is the data fingerprint).
        eda_uri: the EDA output (stats.json), when known.

    Raises:
        MlflowUnavailableError, AccessDeniedError: see `fracdet_core.tracking.connection.call`.
    """
    location = saved_model_location(model_uri)
    root = os.path.dirname(location.rstrip("/")) if location.rstrip("/").endswith("/saved_model") else location
    summary = _read_json(storage.join(root, "train_summary.json")) or {}
    configs = _read_json(storage.join(root, "model_config.json"))
    manifest = storage.read_bytes(storage.join(dataset_uri, "manifest.json"))
    data = {"uri": dataset_uri, "manifest_sha256": hashlib.sha256(manifest).hexdigest()}
    eda_stats = _read_json(storage.join(eda_uri, "stats.json")) if eda_uri else None
    server = connect(tracking_uri)
    if key.model_sha256 is None:
        key = RunKey(key.experiment, key.kfp_run_id, key.kfp_run_url, storage.tree_sha256(location))
    run_id = open_run(server, key, f"train {key.experiment}")
    params = training_params(configs, summary, data, eda_stats)
    _log_batch(server, run_id, params=params, metrics=training_metrics(summary))
    files = {name: storage.join(root, name) for name in ("train_summary.json", "model_config.json")}
    _log_files(server, run_id, "training", files)
    return run_id


def log_evaluation(tracking_uri: str | None, key: RunKey, evaluation_uri: str) -> str:
    """Log an evaluation's figures as metrics and report.html, metrics.json, blessing.json and operating_thresholds.json
    as artifacts; the MLflow run's ID.

    Raises:
        MlflowUnavailableError, AccessDeniedError: see `fracdet_core.tracking.connection.call`.
    """
    metrics = _read_json(storage.join(evaluation_uri, "metrics.json")) or {}
    blessing = _read_json(storage.join(evaluation_uri, "blessing.json"))
    thresholds = _read_json(storage.join(evaluation_uri, "operating_thresholds.json"))
    if key.model_sha256 is None and metrics.get("model_sha256"):
        key = RunKey(key.experiment, key.kfp_run_id, key.kfp_run_url, metrics["model_sha256"])
    server = connect(tracking_uri)
    run_id = open_run(server, key, f"evaluate {key.experiment}")
    figures = evaluation_metrics(metrics, (thresholds or {}).get("thresholds"), blessing.get("blessed") if blessing else None)
    _log_batch(server, run_id, metrics=[(name, value, 0) for name, value in figures.items()])
    if blessing is not None:
        server.call(f"tag run {run_id}", lambda: server.client.set_tag(run_id, "fracdet.blessed", str(blessing.get("blessed"))))
    _log_files(server, run_id, "evaluation", {name: storage.join(evaluation_uri, name) for name in EVALUATION_ARTIFACTS})
    return run_id


def _read_json(uri: str) -> dict | None:
    return json.loads(storage.read_text(uri)) if storage.exists(uri) else None


def _log_batch(server: MlflowServer, run_id: str, *, params: dict[str, str] | None = None,
               metrics: list[tuple[str, float, int]] = ()) -> None:
    """Params and metrics in batches; a repeat of a batch logs the same values again, which MLflow accepts."""
    from mlflow.entities import Metric, Param

    items = list((params or {}).items())
    for start in range(0, len(items), _BATCH):
        chunk = [Param(name, value) for name, value in items[start:start + _BATCH]]
        server.call(f"log params to run {run_id}", lambda chunk=chunk: server.client.log_batch(run_id, params=chunk))
    stamp = _now_ms()
    for start in range(0, len(metrics), 10 * _BATCH):
        chunk = [Metric(name, value, stamp, step) for name, value, step in metrics[start:start + 10 * _BATCH]]
        server.call(f"log metrics to run {run_id}", lambda chunk=chunk: server.client.log_batch(run_id, metrics=chunk))


def _log_files(server: MlflowServer, run_id: str, folder: str, files: dict[str, str]) -> None:
    """The files that exist, local or gs://, as the run's artifacts under `folder`."""
    with tempfile.TemporaryDirectory(prefix="fracdet-mlflow-") as staging:
        for name, uri in files.items():
            if storage.exists(uri):
                storage.write_bytes(os.path.join(staging, name), storage.read_bytes(uri))
        server.call(f"upload {folder} files to run {run_id}", lambda: server.client.log_artifacts(run_id, staging, folder))


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)
