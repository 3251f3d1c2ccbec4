"""What each stage's outputs become in MLflow: params, metrics with their step, and the files logged as artifacts.

Pure functions of the stages' own records (train_summary.json, model_config.json, the EDA's
stats.json and class_weights.json, the ingest's manifest, metrics.json and
operating_thresholds.json), so a run is logged the same from the command and from a pipeline task.
"""

from __future__ import annotations

import json
import math

PARAM_LIMIT = 500  # characters of a param value every MLflow server takes (3.x takes more; older servers 500)


def flatten(prefix: str, value: object) -> dict[str, str]:
    """Nested config values as params `<prefix>.<key>...`; lists and other leaves as their JSON text."""
    if isinstance(value, dict):
        found: dict[str, str] = {}
        for key, item in value.items():
            found |= flatten(f"{prefix}.{key}", item)
        return found
    text = value if isinstance(value, str) else json.dumps(value)
    return {prefix: text[:PARAM_LIMIT]}


def training_params(configs: dict | None, summary: dict, data: dict, eda_stats: dict | None) -> dict[str, str]:
    """The model and training configs, the data fingerprint, the EDA summary and the class weights, as params.

    Args:
        configs: model_config.json (`model` and `train` sections), when there.
        summary: train_summary.json.
        data: `uri` and `manifest_sha256` of the ingest trained on.
        eda_stats: the EDA's stats.json, when known.
    """
    params = flatten("data", data)
    for section in ("model", "train"):
        params |= flatten(section, (configs or {}).get(section, {}))
    weights = summary.get("class_weights") or {}
    if isinstance(weights, list):  # train_summary.json keeps them in class order, beside `class_names`
        weights = dict(zip(summary.get("class_names") or [], weights, strict=False))
    params |= {f"class_weight.{name}": f"{weight:.6g}" for name, weight in weights.items()}
    for split, stats in ((eda_stats or {}).get("splits") or {}).items():
        params |= {f"eda.{split}.{key}": str(stats[key]) for key in ("images", "boxes", "background_images") if key in stats}
    quarantine = (eda_stats or {}).get("quarantine") or {}
    params |= {f"eda.quarantine.{key}": str(value) for key, value in quarantine.items() if isinstance(value, int | float)}
    return params


def training_metrics(summary: dict) -> list[tuple[str, float, int]]:
    """(name, value, step) for every epoch's losses, images/s and learning rate, the step being the epoch (from 1).

    The indications head's phase, where the model has one, under `train/indications/`, its epochs as its steps.
    """
    totals = {"best_val_loss": summary.get("best_val_loss"), "epochs_run": summary.get("epochs_run"),
              "wall_time_s": summary.get("wall_time_s")}
    found = _epoch_metrics("train", summary.get("history"))
    found += [(f"train/{name}", float(value), 0) for name, value in totals.items() if _finite(value)]
    indications = summary.get("indications") or {}
    return found + _epoch_metrics("train/indications", indications.get("history"))


def _epoch_metrics(prefix: str, history: list[dict] | None) -> list[tuple[str, float, int]]:
    found = []
    for epoch in history or []:
        step = int(epoch["epoch"])
        found += [(f"{prefix}/{name}", float(value), step) for name, value in epoch.items()
                  if name != "epoch" and _finite(value)]
    return found


def evaluation_metrics(metrics: dict, thresholds: dict | None, blessed: bool | None) -> dict[str, float]:
    """mAP, per-class AP, per-body-part sensitivity, specificity and AUC, latency, the operating thresholds, blessed.

    Undefined figures (a body part with no fractured image has no sensitivity) are left out: MLflow takes numbers.
    """
    figures: dict[str, object] = {f"eval/{key}": metrics.get(key) for key in ("map50", "map50_95", "ar100", "latency_ms")}
    if metrics.get("map50_ci95"):
        figures["eval/map50_ci95_low"], figures["eval/map50_ci95_high"] = metrics["map50_ci95"]
    figures |= {f"eval/ap/{name}": value for name, value in (metrics.get("per_class_ap") or {}).items()}
    for part, values in (metrics.get("fracture") or {}).items():
        figures |= {f"eval/{part.lower()}/{key}": values.get(key) for key in ("sensitivity", "specificity", "auc")}
        definite = values.get("definite") or {}  # the definite operating point, absent from metrics before it
        figures |= {f"eval/{part.lower()}/definite_{key}": definite.get(key) for key in ("sensitivity", "specificity")}
    if thresholds:
        figures |= {f"eval/threshold/{part.lower()}": value for part, value in (thresholds.get("by_body_part") or {}).items()}
        figures["eval/threshold/other_parts"] = thresholds.get("overall")
    if blessed is not None:
        figures["eval/blessed"] = float(blessed)
    return {name: float(value) for name, value in figures.items() if _finite(value)}


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
