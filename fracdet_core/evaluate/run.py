"""`fracdet evaluate`'s work: measure a model on an ingest's val split, compare with the champion, bless or not.

Writes to the output folder, the four files together or none (built aside, then published whole
by `output_folder`: a kill leaves the previous evaluation or the new one, never a mix):
- `metrics.json`: the evaluation output's contracted fields (docs/architecture.md, "Data
  contracts": `map50`, `map50_95`, `per_class_ap`, `fracture`, `latency_ms`) plus the bootstrap
  interval of mAP@0.5, AR@100, FROC sensitivities, and what was measured (model and data
  fingerprints, split, image count);
- `operating_thresholds.json`: the thresholds the model is to serve with, both operating points
  (suspicious, definite), chosen on the calibration half, with the rules that chose them and this
  metrics.json's sha256 (`fracdet_core.operating_thresholds`);
- `blessing.json`: `blessed` and every check's reason; the champion's metrics when one was given;
- `report.html`: the self-contained report;
- `.fracdet-evaluate.json`: the record naming the writer and those files.

The champion is evaluated on the same split in the same run, so the comparison is like for
like; its metrics are cached under `cache_uri` by model fingerprint, data fingerprint and
evaluation settings, since a champion is compared against many candidates.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

from fracdet_core import storage
from fracdet_core.evaluate.blessing import Blessing, BlessingThresholds, decide, load_thresholds
from fracdet_core.evaluate.config import EvaluateConfig
from fracdet_core.evaluate.definite import min_normal_images
from fracdet_core.evaluate.measure import Evaluation, evaluate_model, fingerprints
from fracdet_core.evaluate.report import render_report
from fracdet_core.operating_thresholds import (
    FILE_NAME,
    SPLIT_CONFORMAL,
    DefiniteRule,
    EvaluationSource,
    Indications,
    OperatingThresholdsFile,
    ThresholdRule,
)
from fracdet_core.output_folder import EVALUATE, claim, publishing
from fracdet_core.registry.refs import read_location, resolve
from fracdet_core.serving.saved_model import saved_model_location

COMMAND = EVALUATE
OUTPUT_FILES = ("metrics.json", "blessing.json", "report.html")


def champion_metrics(champion_uri: str, ingest_uri: str, config: EvaluateConfig, cache_uri: str | None) -> dict | None:
    """The champion's metrics on the same data, from the cache when this model, data and settings were measured.

    `champion_uri` may be a registry reference (`<root>/<name>@champion`); None when that alias
    is not set yet (the first model of a registry has no champion to beat).
    """
    resolved = resolve(champion_uri, missing_ok=True)
    if resolved is None:
        return None
    location = saved_model_location(resolved)
    key = known = None
    if cache_uri:
        known = fingerprints(location, ingest_uri)
        key = f"{known[0][:16]}-{known[1][:16]}-{config.fingerprint()}.json"
        cached = storage.join(cache_uri, key)
        if storage.exists(cached):
            return json.loads(storage.read_text(cached))
    metrics = evaluate_model(location, ingest_uri, config, known=known).metrics
    if key:
        storage.write_text(storage.join(cache_uri, key), json.dumps(metrics, indent=2) + "\n")
    return metrics


def run_evaluation(
    model_uri: str,
    ingest_uri: str,
    out: str,
    *,
    champion_uri: str | None = None,
    thresholds_uri: str | None = None,
    cache_uri: str | None = None,
    config: EvaluateConfig | None = None,
) -> tuple[Evaluation, Blessing]:
    """Evaluate, compare, bless, and publish metrics.json, operating_thresholds.json, blessing.json and report.html together.

    `out` may be new (as a KFP output artifact is), empty, or an earlier evaluation, which is
    replaced whole. `config` None: the defaults of `EvaluateConfig`.

    Raises:
        ConfigError: `out` is a file, overlaps the model, data, champion, thresholds or cache, or
            holds files that evaluate did not write; checked before the long work.
    """
    config = config or EvaluateConfig()
    read = [model_uri, ingest_uri, thresholds_uri, cache_uri, read_location(champion_uri) if champion_uri else None]
    output = claim(out, COMMAND, inputs=[uri for uri in read if uri], earlier_files=OUTPUT_FILES)
    gates = load_thresholds(thresholds_uri)  # a bad file fails before the long work
    with publishing(output) as staging:
        evaluation = evaluate_model(model_uri, ingest_uri, config)
        champion = champion_metrics(champion_uri, ingest_uri, config, cache_uri) if champion_uri else None
        blessing = decide(evaluation.metrics, gates, champion)
        metrics_json = _json_bytes(evaluation.metrics)
        storage.write_bytes(storage.join(staging, "metrics.json"), metrics_json)
        storage.write_bytes(storage.join(staging, FILE_NAME), _operating_thresholds(evaluation, metrics_json).encode())
        storage.write_bytes(storage.join(staging, "blessing.json"), _json_bytes(_verdict(blessing, champion, gates)))
        storage.write_text(storage.join(staging, "report.html"),
                           render_report(evaluation, blessing, champion, ingest_uri, config))
    return evaluation, blessing


def _operating_thresholds(evaluation: Evaluation, metrics_json: bytes) -> OperatingThresholdsFile:
    """The operating thresholds file of `evaluation`, whose metrics.json holds `metrics_json`.

    Both operating points, and the in-scope threshold (null for a model without the indications output).
    """
    metrics, chosen, in_scope = evaluation.metrics, evaluation.measures.thresholds, evaluation.measures.in_scope
    calibration = metrics["partition"]["calibration"]
    return OperatingThresholdsFile(
        model_sha256=metrics["model_sha256"], by_body_part=dict(chosen.by_part), overall=chosen.overall,
        rule=ThresholdRule(SPLIT_CONFORMAL, chosen.target_sensitivity, metrics["split"], calibration["images"],
                           calibration["fractured"]),
        evaluation=EvaluationSource(hashlib.sha256(metrics_json).hexdigest(), metrics["data"], metrics["data_manifest_sha256"],
                                    metrics["evaluated_at"]),
        definite_by_body_part=dict(chosen.definite.by_part), definite_overall=chosen.definite.overall,
        definite_rule=DefiniteRule(SPLIT_CONFORMAL, chosen.target_specificity, calibration["images"] - calibration["fractured"],
                                   min_normal_images(chosen.target_specificity)),
        indications=Indications(in_scope.threshold, in_scope.target_kept, in_scope.calibration_in_scope_images),
    )


def _verdict(blessing: Blessing, champion: dict | None, thresholds: BlessingThresholds) -> dict:
    """blessing.json: the decision, every check's reason, and what it was decided against."""
    return {"blessed": blessing.blessed, "reasons": blessing.reasons, "champion": champion,
            "thresholds": dataclasses.asdict(thresholds)}


def _json_bytes(content: dict) -> bytes:
    return (json.dumps(content, indent=2, default=dict) + "\n").encode("utf-8")
