"""`fracdet evaluate`'s work: measure a model on an ingest's val split, compare with the champion, bless or not.

Writes to the output folder, the three files together or none (built aside, then published whole
by `output_folder`: a kill leaves the previous evaluation or the new one, never a mix):
- `metrics.json`: DESIGN.md's fields (`map50`, `map50_95`, `per_class_ap`, `fracture`,
  `latency_ms`) plus the bootstrap interval of mAP@0.5, AR@100, FROC sensitivities, and what
  was measured (model and data fingerprints, split, image count);
- `blessing.json`: `blessed` and every check's reason; the champion's metrics when one was given;
- `report.html`: the self-contained report;
- `.fracdet-evaluate.json`: the record naming the writer and those files.

The champion is evaluated on the same split in the same run, so the comparison is like for
like; its metrics are cached under `cache_uri` by model fingerprint, data fingerprint and
evaluation settings, since a champion is compared against many candidates.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json

from fracdet_core import storage
from fracdet_core.errors import ConfigError
from fracdet_core.evaluate.blessing import Blessing, decide, load_thresholds
from fracdet_core.evaluate.bootstrap import bootstrap_map50
from fracdet_core.evaluate.clinical import ClinicalMetrics, clinical_metrics
from fracdet_core.evaluate.coco import CocoMetrics, coco_metrics
from fracdet_core.evaluate.froc import Froc, froc_curve
from fracdet_core.evaluate.inference import evaluate_split, load_serving, median_latency_ms, read_split, saved_model_location
from fracdet_core.evaluate.records import ImageDetections, ImageTruth
from fracdet_core.output_folder import EVALUATE, claim, publishing
from fracdet_core.registry.refs import read_location, resolve

SCHEMA_VERSION = 1
COMMAND = EVALUATE
OUTPUT_FILES = ("metrics.json", "blessing.json", "report.html")


@dataclasses.dataclass(frozen=True)
class EvaluateOptions:
    """Attributes:
        split: the ingest split to evaluate on.
        target_sensitivity: image-level sensitivity the per-body-part thresholds are chosen for.
        froc_iou: overlap at which a fracture box counts as found (FROC).
        bootstrap_resamples: resamples for the mAP@0.5 confidence interval.
        batch_size: images per call of the serving signature.
        latency_repeats: single-image calls timed for `latency_ms`.
        show_progress: show a progress bar.
    """

    split: str = "val"
    target_sensitivity: float = 0.90
    froc_iou: float = 0.3
    bootstrap_resamples: int = 1000
    batch_size: int = 8
    latency_repeats: int = 20
    show_progress: bool = True

    def __post_init__(self) -> None:
        if not 0 < self.target_sensitivity <= 1:
            raise ConfigError(f"target_sensitivity must be within (0, 1], got {self.target_sensitivity}")
        if not 0 < self.froc_iou <= 1:
            raise ConfigError(f"froc_iou must be within (0, 1], got {self.froc_iou}")
        if self.bootstrap_resamples < 1 or self.batch_size < 1 or self.latency_repeats < 1:
            raise ConfigError("bootstrap_resamples, batch_size and latency_repeats must be at least 1")

    def fingerprint(self) -> str:
        """What the metrics depend on besides model and data (not the batch size or the bar)."""
        settings = (self.split, self.target_sensitivity, self.froc_iou, self.bootstrap_resamples, SCHEMA_VERSION)
        return hashlib.sha256(repr(settings).encode()).hexdigest()[:12]


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """One model measured on one split."""

    model_uri: str
    truths: list[ImageTruth]
    detections: list[ImageDetections]
    coco: CocoMetrics
    froc: Froc
    clinical: ClinicalMetrics
    metrics: dict


def fingerprints(location: str, ingest_uri: str) -> tuple[str, str]:
    """(sha256 of the SavedModel folder, sha256 of the ingest's manifest): what the metrics were measured on."""
    manifest = storage.read_bytes(storage.join(ingest_uri, "manifest.json"))
    return storage.tree_sha256(location), hashlib.sha256(manifest).hexdigest()


def evaluate_model(
    model_uri: str, ingest_uri: str, options: EvaluateOptions = EvaluateOptions(), *, known: tuple[str, str] | None = None
) -> Evaluation:
    """Run the model's serving signature over the split and compute every metric.

    `known`: the `fingerprints` when the caller already computed them (hashing reads the whole model).
    """
    location = saved_model_location(model_uri)
    model_sha256, data_sha256 = known or fingerprints(location, ingest_uri)
    serve = load_serving(location)
    truths, detections = evaluate_split(serve, ingest_uri, options.split, batch_size=options.batch_size,
                                        show_progress=options.show_progress)
    samples = [encoded for _, encoded in zip(range(4), (encoded for _, encoded in read_split(ingest_uri, options.split)))]
    latency = median_latency_ms(serve, samples, repeats=options.latency_repeats)
    coco = coco_metrics(truths, detections)
    interval = bootstrap_map50(coco.matches, resamples=options.bootstrap_resamples)
    froc = froc_curve(truths, detections, iou_threshold=options.froc_iou)
    clinical = clinical_metrics(truths, detections, target_sensitivity=options.target_sensitivity)
    metrics = {
        "schema_version": SCHEMA_VERSION,
        "model": location,
        "model_sha256": model_sha256,
        "data": ingest_uri,
        "data_manifest_sha256": data_sha256,
        "split": options.split,
        "images": len(truths),
        "boxes": int(sum(len(truth.classes) for truth in truths)),
        "map50": coco.map50,
        "map50_ci95": [interval.low, interval.high] if interval else None,
        "map50_95": coco.map50_95,
        "ar100": coco.ar100,
        "per_class_ap": coco.per_class_ap50,
        "froc": {
            "iou_threshold": froc.iou_threshold,
            "fractures": froc.num_fractures,
            "sensitivity_at_fp_per_image": {f"{rate:g}": value for rate, value in froc.sensitivity_at.items()},
        },
        "target_sensitivity": options.target_sensitivity,
        "fracture": clinical.summary(),
        "latency_ms": latency,
        "evaluated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    return Evaluation(location, truths, detections, coco, froc, clinical, metrics)


def champion_metrics(champion_uri: str, ingest_uri: str, options: EvaluateOptions, cache_uri: str | None) -> dict | None:
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
        key = f"{known[0][:16]}-{known[1][:16]}-{options.fingerprint()}.json"
        cached = storage.join(cache_uri, key)
        if storage.exists(cached):
            return json.loads(storage.read_text(cached))
    metrics = evaluate_model(location, ingest_uri, options, known=known).metrics
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
    options: EvaluateOptions = EvaluateOptions(),
) -> tuple[Evaluation, Blessing]:
    """Evaluate, compare, bless, and publish metrics.json, blessing.json and report.html to `out` together.

    `out` may be new (as a KFP output artifact is), empty, or an earlier evaluation, which is
    replaced whole.

    Raises:
        ConfigError: `out` is a file, overlaps the model, data, champion, thresholds or cache, or
            holds files that evaluate did not write; checked before the long work.
    """
    from fracdet_core.evaluate.report import render_report

    read = [model_uri, ingest_uri, thresholds_uri, cache_uri, read_location(champion_uri) if champion_uri else None]
    output = claim(out, COMMAND, inputs=[uri for uri in read if uri], earlier_files=OUTPUT_FILES)
    thresholds = load_thresholds(thresholds_uri)  # a bad file fails before the long work
    with publishing(output) as staging:
        evaluation = evaluate_model(model_uri, ingest_uri, options)
        champion = champion_metrics(champion_uri, ingest_uri, options, cache_uri) if champion_uri else None
        blessing = decide(evaluation.metrics, thresholds, champion)
        storage.write_text(storage.join(staging, "metrics.json"), json.dumps(evaluation.metrics, indent=2) + "\n")
        verdict = {"blessed": blessing.blessed, "reasons": blessing.reasons, "champion": champion,
                   "thresholds": dataclasses.asdict(thresholds)}
        storage.write_text(storage.join(staging, "blessing.json"), json.dumps(verdict, indent=2, default=dict) + "\n")
        storage.write_text(storage.join(staging, "report.html"),
                           render_report(evaluation, blessing, champion, ingest_uri, options))
    return evaluation, blessing
