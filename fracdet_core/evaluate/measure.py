"""Measure one model on one split: every metric of metrics.json, and what it was measured on.

The model runs through its serving signature, as a server runs it; the metrics are computed from
the truths and detections that run returns.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import itertools

from fracdet_core import storage
from fracdet_core.evaluate.bootstrap import bootstrap_map50
from fracdet_core.evaluate.clinical import ClinicalMetrics, clinical_metrics
from fracdet_core.evaluate.coco import CocoMetrics, coco_metrics
from fracdet_core.evaluate.froc import Froc, froc_curve
from fracdet_core.evaluate.inference import evaluate_split, read_split
from fracdet_core.evaluate.options import SCHEMA_VERSION, EvaluateOptions
from fracdet_core.records import ImageDetections, ImageTruth
from fracdet_core.serving.saved_model import Serve, load_serving, median_latency_ms, saved_model_location

LATENCY_IMAGES = 4  # the first images of the split, cycled through for the latency figure


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """One model measured on one split.

    Attributes:
        model_uri: the SavedModel folder that was measured.
        truths, detections: per image of the split, aligned by index.
        coco, froc, clinical: the metrics, with the curves and matches the report draws.
        metrics: what metrics.json holds.
    """

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
    model_uri: str, ingest_uri: str, options: EvaluateOptions, *, known: tuple[str, str] | None = None
) -> Evaluation:
    """Run the model's serving signature over the split and compute every metric.

    `known`: the `fingerprints` when the caller already computed them (hashing reads the whole model).
    """
    location = saved_model_location(model_uri)
    model_sha256, data_sha256 = known or fingerprints(location, ingest_uri)
    serve = load_serving(location)
    truths, detections = evaluate_split(serve, ingest_uri, options.split, batch_size=options.batch_size,
                                        show_progress=options.show_progress)
    latency = _latency_ms(serve, ingest_uri, options)
    coco = coco_metrics(truths, detections)
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
        **_detection_metrics(coco, options.bootstrap_resamples),
        "froc": _froc_summary(froc),
        "target_sensitivity": options.target_sensitivity,
        "fracture": clinical.summary(),
        "latency_ms": latency,
        "evaluated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    return Evaluation(location, truths, detections, coco, froc, clinical, metrics)


def _latency_ms(serve: Serve, ingest_uri: str, options: EvaluateOptions) -> float:
    samples = [encoded for _, encoded in itertools.islice(read_split(ingest_uri, options.split), LATENCY_IMAGES)]
    return median_latency_ms(serve, samples, repeats=options.latency_repeats)


def _detection_metrics(coco: CocoMetrics, bootstrap_resamples: int) -> dict:
    """COCO's figures, with the bootstrap interval of mAP@0.5 (None when it cannot be drawn)."""
    interval = bootstrap_map50(coco.matches, resamples=bootstrap_resamples)
    return {
        "map50": coco.map50,
        "map50_ci95": [interval.low, interval.high] if interval else None,
        "map50_95": coco.map50_95,
        "ar100": coco.ar100,
        "per_class_ap": coco.per_class_ap50,
    }


def _froc_summary(froc: Froc) -> dict:
    return {
        "iou_threshold": froc.iou_threshold,
        "fractures": froc.num_fractures,
        "sensitivity_at_fp_per_image": {f"{rate:g}": value for rate, value in froc.sensitivity_at.items()},
    }
