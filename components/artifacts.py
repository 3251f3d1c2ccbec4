"""What components need to turn KFP artifacts into locations and summaries, and each stage's work around its library call.

Not a component: KFP glue in the components' layer, beside them, since it knows KFP's artifact
conventions (`uri`, `path`, `metadata`, logged metrics), which the library must not. Component
bodies call it, so they stay a few lines, and tests call it directly with KFP's artifact
classes, without running a component.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Protocol

from fracdet_core import storage
from fracdet_core.operating_thresholds import FILE_NAME as THRESHOLDS_FILE
from fracdet_core.operating_thresholds import OperatingThresholdsFile, read_thresholds
from fracdet_core.storage import is_gcs

if TYPE_CHECKING:
    from fracdet_core.eda.config import EdaConfig
    from fracdet_core.model.config import ModelConfig
    from fracdet_core.train.config import TrainConfig


class _Artifact(Protocol):
    uri: str
    path: str
    metadata: dict


class _Metrics(Protocol):
    def log_metric(self, metric: str, value: float) -> None: ...


def artifact_location(artifact: _Artifact) -> str:
    """Where a stage should read or write an artifact.

    A `gs://` URI is used as is: the storage layer speaks GCS directly, which beats the
    `/gcs/` FUSE mount for many small writes. Any other scheme (MinIO or S3 on an on-premises
    Kubeflow, or the local folder of `kfp.local`) is used through the artifact's local path,
    which the KFP launcher uploads when the task ends.
    """
    return artifact.uri if is_gcs(artifact.uri) else artifact.path


def ingest_metadata(manifest: dict) -> dict:
    """The ingest figures shown beside the artifact in the Kubeflow dashboard."""
    totals = manifest["totals"]
    metadata: dict[str, object] = {
        "display_name": "Ingested dataset (TFRecord shards)",
        "found": totals["found"],
        "ingested": totals["ingested"],
        "quarantined": totals["quarantined"],
        "warnings": totals["warnings"],
        "schema_version": manifest["schema_version"],
        "source": manifest["source"]["data_yaml"],
    }
    for split, summary in manifest["splits"].items():
        metadata[f"{split}_images"] = summary["images"]
        metadata[f"{split}_boxes"] = summary["boxes"]
        metadata[f"{split}_shards"] = len(summary["shards"])
        metadata[f"{split}_out_of_scope_images"] = summary.get("out_of_scope_images", 0)  # absent from older manifests
    for reason, count in manifest["quarantine_reasons"].items():
        metadata[f"quarantined_{reason}"] = count
    return metadata


def run_eda_component(
    dataset: _Artifact,
    analysis: _Artifact,
    report: _Artifact,
    summary: _Artifact,
    metrics: _Metrics,
    config: EdaConfig,
    baseline_uri: str | None,
) -> None:
    """The EDA component's work: run EDA into `analysis`, then fill the dashboard artifacts.

    The HTML and Markdown artifacts get their copies of the report even when a data check
    fails (the error is raised after), so the report that says why is where people look.
    """
    from fracdet_core.eda.run import run_eda

    location = artifact_location(analysis)
    try:
        stats = run_eda(artifact_location(dataset), location, config, baseline_uri=baseline_uri)
    finally:
        for name, artifact, title in (("report.html", report, "EDA report"), ("report.md", summary, "EDA summary")):
            source = storage.join(location, name)
            if storage.exists(source):
                storage.write_bytes(artifact_location(artifact), storage.read_bytes(source))
                artifact.metadata["display_name"] = title
    analysis.metadata["display_name"] = "EDA statistics and class weights"
    metrics.metadata["display_name"] = "Data figures"
    for name, value in eda_metrics(stats).items():
        metrics.log_metric(name, value)


def eda_metrics(stats: dict) -> dict[str, float]:
    """The figures shown as the EDA task's metrics."""
    train = stats["splits"]["train"]
    figures = {
        "train_images": train["images"],
        "train_boxes": train["boxes"],
        "val_images": stats["splits"]["val"]["images"],
        "quarantine_share": round(stats["quarantine"]["share"], 4),
        "min_class_train_boxes": min(values["boxes"] for values in train["classes"].values()),
        "failed_checks": sum(1 for check in stats["checks"] if check["severity"] == "failure" and not check["passed"]),
        "warnings": sum(1 for check in stats["checks"] if check["severity"] == "warning" and not check["passed"]),
    }
    if stats["drift"] is not None:
        figures["drift_flags"] = len(stats["drift"]["flagged"])
        figures["class_share_psi"] = round(stats["drift"]["class_shares"]["psi"], 4)
    return {name: float(value) for name, value in figures.items()}


def train_component_configs(
    *, config_uri: str, model_preset: str, epochs: int, image_size: int, batch_size: int,
) -> tuple[ModelConfig, TrainConfig]:
    """The configs the train component's inputs ask for: "" is no config file, an `image_size` of 0 the model's own.

    Raises:
        ConfigError: an unknown preset, or a bad config file or value.
    """
    from fracdet_core.train.config import load_configs

    return load_configs(config_uri or None, preset=model_preset, epochs=epochs, image_size=image_size or None,
                        batch_size=batch_size)


def run_train_component(
    dataset: _Artifact, analysis: _Artifact, model: _Artifact, *, model_config: ModelConfig, train_config: TrainConfig,
) -> None:
    """The train component's work: train into `model` and describe it for the dashboard."""
    from fracdet_core.train.run import train

    weights = storage.join(artifact_location(analysis), "class_weights.json")
    train(artifact_location(dataset), weights, artifact_location(model), model_config, train_config)
    describe_trained_model(model)


def describe_trained_model(model: _Artifact) -> None:
    """The trained model's figures beside its artifact, read from the files training wrote into it.

    Both train tasks call it: the single one after training in its own pod, the multi-worker one
    after the chief wrote the model, so the dashboard shows the same figures whichever trained it.

    Raises:
        NotFoundError: `model` holds no train_summary.json or model_config.json.
    """
    location = artifact_location(model)
    summary = json.loads(storage.read_text(storage.join(location, "train_summary.json")))
    configs = json.loads(storage.read_text(storage.join(location, "model_config.json")))
    model.metadata.update({
        "display_name": "Trained detector (SavedModel)",
        "epochs_run": summary["epochs_run"],
        "best_val_loss": summary["best_val_loss"],
        "train_images_per_second": summary["train_images_per_second"],
        "image_size": configs["model"]["image_size"],
        "saved_model": storage.join(model.uri, "saved_model"),
    })


def run_evaluate_component(
    dataset: _Artifact,
    model: _Artifact,
    evaluation: _Artifact,
    metrics: _Metrics,
    fracture_call: _Artifact,
    report: _Artifact,
    operating_thresholds: _Artifact,
    *,
    registry_uri: str | None,
    model_name: str,
    thresholds_uri: str | None,
    target_sensitivity: float,
    target_specificity: float,
    target_in_scope_kept: float,
) -> bool:
    """The evaluate component's work: evaluate into `evaluation`, fill the dashboard artifacts; whether blessed.

    `operating_thresholds` gets a copy of the evaluation's operating_thresholds.json, the file the
    register task keeps with the version: an artifact of its own, so the DAG hands it on by name.

    With a registry, its champion (if any) is the model to beat, and the champion's metrics are
    cached in the registry, beside the versions they describe.
    """
    from fracdet_core.evaluate.config import EvaluateConfig
    from fracdet_core.evaluate.run import run_evaluation
    from fracdet_core.registry.backend import open_registry

    champion_uri = cache_uri = None
    if registry_uri:
        registry = open_registry(registry_uri)
        champion_uri = registry.reference(model_name, "champion")
        cache_uri = registry.evaluation_cache(model_name)
    location = artifact_location(evaluation)
    config = EvaluateConfig(target_sensitivity=target_sensitivity, target_specificity=target_specificity,
                            target_in_scope_kept=target_in_scope_kept)
    result, blessing = run_evaluation(
        artifact_location(model), artifact_location(dataset), location, champion_uri=champion_uri,
        thresholds_uri=thresholds_uri, cache_uri=cache_uri, config=config,
    )
    storage.write_bytes(artifact_location(report), storage.read_bytes(storage.join(location, "report.html")))
    report.metadata["display_name"] = "Evaluation report"
    written, chosen = read_thresholds(storage.join(location, THRESHOLDS_FILE), "run the evaluate task again")
    storage.write_bytes(artifact_location(operating_thresholds), written)
    operating_thresholds.metadata.update(thresholds_metadata(chosen))
    evaluation.metadata.update({"display_name": "Evaluation (metrics.json, blessing.json)", "blessed": blessing.blessed})
    metrics.metadata["display_name"] = "Detection and clinical metrics"
    for name, value in evaluation_metrics(result.metrics, blessing.blessed).items():
        metrics.log_metric(name, value)
    _log_fracture_call(fracture_call, result.measures.clinical)
    return blessing.blessed


def log_to_mlflow(dataset: _Artifact, model: _Artifact, analysis: _Artifact, evaluation: _Artifact, *, tracking_uri: str,
                  model_name: str, run_id: str, dashboard_url: str) -> str | None:
    """Log the training and the evaluation to the pipeline run's MLflow run; its ID, or None without a tracking URI.

    The tracking URI is the parameter's, else the pod's MLFLOW_TRACKING_URI; with neither, MLflow is not imported.
    """
    tracking_uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not tracking_uri:
        return None
    from fracdet_core.tracking.log import log_evaluation, log_training
    from fracdet_core.tracking.run import RunKey

    run_url = f"{dashboard_url.rstrip('/')}/#/runs/details/{run_id}" if dashboard_url and run_id else None
    key = RunKey(model_name, kfp_run_id=run_id or None, kfp_run_url=run_url)
    log_training(tracking_uri, key, artifact_location(model), artifact_location(dataset), eda_uri=artifact_location(analysis))
    mlflow_run = log_evaluation(tracking_uri, key, artifact_location(evaluation))
    evaluation.metadata["mlflow_run_id"] = mlflow_run
    return mlflow_run


def thresholds_metadata(chosen: OperatingThresholdsFile) -> dict[str, object]:
    """What the dashboard shows beside the operating thresholds artifact: the rule, and each threshold chosen."""
    figures: dict[str, object] = {"display_name": f"Operating thresholds ({THRESHOLDS_FILE})", "method": chosen.rule.method,
                                  "target_sensitivity": chosen.rule.target_sensitivity}
    if chosen.overall is not None:  # else none was chosen (no fractured calibration image): none to show
        figures |= {f"threshold_{part}": value for part, value in chosen.by_body_part.items()}
        figures["threshold_other_parts"] = chosen.overall
    if chosen.definite_rule is not None:
        figures["target_specificity"] = chosen.definite_rule.target_specificity
    if chosen.definite_overall is not None:  # else every call is suspicious
        figures |= {f"definite_threshold_{part}": value for part, value in chosen.definite_by_body_part.items()}
        figures["definite_threshold_other_parts"] = chosen.definite_overall
    return figures


def evaluation_metrics(metrics: dict, blessed: bool) -> dict[str, float]:
    """The scalars shown as the evaluate task's metrics; undefined values are left out (KFP takes numbers only).

    The figures are of the test half of the split; the sizes of both halves come with them.
    """
    figures: dict[str, float | None] = {
        "blessed": float(blessed),
        "map50": metrics["map50"],
        "map50_95": metrics["map50_95"],
        "ar100": metrics["ar100"],
        "latency_ms": metrics["latency_ms"],
    }
    for half in ("calibration", "test"):
        figures[f"{half}_images"] = metrics["partition"][half]["images"]
        figures[f"{half}_fractured"] = metrics["partition"][half]["fractured"]
    if metrics.get("map50_ci95"):
        figures["map50_ci95_low"], figures["map50_ci95_high"] = metrics["map50_ci95"]
    for group, values in metrics["fracture"].items():
        for name in ("sensitivity", "specificity", "auc"):
            figures[f"{group.lower()}_{name}"] = values[name]
        for name in ("sensitivity", "specificity"):  # the definite operating point
            figures[f"{group.lower()}_definite_{name}"] = (values.get("definite") or {}).get(name)
    return {name: round(float(value), 4) for name, value in figures.items() if value is not None}


def _log_fracture_call(artifact, clinical) -> None:  # noqa: ANN001 - kfp ClassificationMetrics, ClinicalMetrics
    """The image-level fracture call as KFP draws it: ROC curve and confusion matrix over the test half's images."""
    artifact.metadata["display_name"] = "Fracture call per image (test half, all body parts)"
    overall = clinical.groups["overall"]
    if overall.roc is not None:
        # scikit-learn's first threshold is +inf (call nothing); JSON has no infinity.
        thresholds = [min(float(value), 1.0) for value in overall.roc.thresholds]
        artifact.log_roc_curve(overall.roc.false_positive_rate.tolist(), overall.roc.true_positive_rate.tolist(), thresholds)
    if clinical.confusion is not None:
        matrix = clinical.confusion
        artifact.log_confusion_matrix(
            ["fractured", "normal"],
            [[matrix.true_positive, matrix.false_negative], [matrix.false_positive, matrix.true_negative]],
        )


def run_register_component(
    model: _Artifact, evaluation: _Artifact, operating_thresholds: _Artifact, analysis: _Artifact, registered: _Artifact, *,
    registry_uri: str, model_name: str, promote: bool, run: dict,
) -> int:
    """The register component's work: register, maybe promote, point `registered` at the version; its number.

    Registration refuses an evaluation or operating thresholds of another model, and promotion
    requires the version's own model to be the one its blessing measured, so a blessing never
    promotes a model it did not see.
    """
    from fracdet_core.registry.backend import open_registry

    registry = open_registry(registry_uri)
    metadata, created = registry.register(artifact_location(model), artifact_location(evaluation), model_name,
                                          eda_uri=artifact_location(analysis), run=run,
                                          operating_thresholds_uri=artifact_location(operating_thresholds))
    if promote:
        registry.promote(model_name, metadata["version"], require_blessed=True, reason=f"pipeline run {run.get('run_id')}")
    registered.uri = metadata["uri"]
    registered.metadata.update({
        "display_name": f"Registered {model_name} version {metadata['version']}",
        "version": metadata["version"],
        "created": created,
        "champion": promote,
        "saved_model": metadata["saved_model_uri"],
        "operating_thresholds": f"{registry.files_uri(metadata)}/{THRESHOLDS_FILE}",
        "model_sha256": metadata["model_sha256"],
        "map50": metadata["metrics"]["map50"],
    })
    return int(metadata["version"])
