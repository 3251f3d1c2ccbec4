"""Measure one model on one split: every metric of metrics.json, and what it was measured on.

The model runs through its serving signature, as a server runs it; the metrics are computed from
the truths and detections that run returns. The split is cut into a calibration and a test half
(`partition`): the operating thresholds are chosen on the calibration half, and every figure the
report shows and the blessing reads (detection, FROC, image-level) is of the test half. The
calibration half's own image-level figures at those thresholds are kept beside them.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import itertools

import numpy as np

from fracdet_core import storage
from fracdet_core.errors import FracdetError
from fracdet_core.evaluate.bootstrap import bootstrap_map50
from fracdet_core.evaluate.clinical import CalibratedThresholds, ClinicalMetrics, calibrate_thresholds, clinical_metrics
from fracdet_core.evaluate.coco import CocoMetrics, coco_metrics
from fracdet_core.evaluate.config import SCHEMA_VERSION, EvaluateConfig
from fracdet_core.evaluate.froc import Froc, froc_curve
from fracdet_core.evaluate.indications import InScopeThreshold, choose_in_scope_threshold, indications_summary
from fracdet_core.evaluate.inference import evaluate_split, read_split
from fracdet_core.evaluate.partition import Partition, partition_images, partition_summary, take
from fracdet_core.records import ImageDetections, ImageTruth
from fracdet_core.serving.saved_model import Serve, load_serving, median_latency_ms, saved_model_location

LATENCY_IMAGES = 4  # the first images of the split, cycled through for the latency figure


@dataclasses.dataclass(frozen=True)
class SplitMeasures:
    """What one split's truths and detections measure.

    Attributes:
        partition: the split's calibration and test halves, as indices into its images.
        thresholds: the operating thresholds, chosen on the calibration half alone.
        coco, froc, clinical: the test half's metrics, with the curves and matches the report draws.
        calibration: the calibration half's image-level metrics at `thresholds`.
        in_scope: the in-scope threshold, chosen on the calibration half (`indications`).
        indications: metrics.json's `indications`, of the test half.

    Detection and fracture figures are of the in-scope images: an out-of-scope image (a chest
    film) has no fracture to find, and what the model does with it is `indications`' question.
    """

    partition: Partition
    thresholds: CalibratedThresholds
    coco: CocoMetrics
    froc: Froc
    clinical: ClinicalMetrics
    calibration: ClinicalMetrics
    in_scope: InScopeThreshold
    indications: dict


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """One model measured on one split.

    Attributes:
        model_uri: the SavedModel folder that was measured.
        truths, detections: per image of the whole split, in its order, aligned by index.
        measures: the metrics, calibrated on one half of the split and measured on the other.
        metrics: what metrics.json holds.
    """

    model_uri: str
    truths: list[ImageTruth]
    detections: list[ImageDetections]
    measures: SplitMeasures
    metrics: dict

    def test_records(self) -> tuple[list[ImageTruth], list[ImageDetections]]:
        """The truths and detections of the test half's in-scope images, aligned by index: what the figures are of."""
        return in_scope_records(take(self.truths, self.measures.partition.test),
                                take(self.detections, self.measures.partition.test))


def fingerprints(location: str, ingest_uri: str) -> tuple[str, str]:
    """(sha256 of the SavedModel folder, sha256 of the ingest's manifest): what the metrics were measured on."""
    manifest = storage.read_bytes(storage.join(ingest_uri, "manifest.json"))
    return storage.tree_sha256(location), hashlib.sha256(manifest).hexdigest()


def evaluate_model(
    model_uri: str, ingest_uri: str, config: EvaluateConfig, *, known: tuple[str, str] | None = None
) -> Evaluation:
    """Run the model's serving signature over the split and measure what it returns (`measure_records`).

    `known`: the `fingerprints` when the caller already computed them (hashing reads the whole model).
    """
    location = saved_model_location(model_uri)
    model_sha256, data_sha256 = known or fingerprints(location, ingest_uri)
    serve = load_serving(location)
    truths, detections = evaluate_split(serve, ingest_uri, config.split, batch_size=config.batch_size,
                                        show_progress=config.show_progress)
    measures = measure_records(truths, detections, config)
    metrics = {
        "schema_version": SCHEMA_VERSION, "model": location, "model_sha256": model_sha256,
        "data": ingest_uri, "data_manifest_sha256": data_sha256, "split": config.split,
        **_measured_on(truths, measures.partition),
        **_detection_metrics(measures.coco, config.bootstrap_resamples),
        "froc": _froc_summary(measures.froc),
        "target_sensitivity": config.target_sensitivity,
        "target_specificity": config.target_specificity,
        "fracture": measures.clinical.summary(),
        "calibration_fracture": measures.calibration.summary(),
        "indications": measures.indications,
        "latency_ms": _latency_ms(serve, ingest_uri, config),
        "evaluated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    return Evaluation(location, truths, detections, measures, metrics)


def measure_records(truths: list[ImageTruth], detections: list[ImageDetections], config: EvaluateConfig) -> SplitMeasures:
    """Cut the split in halves (`partition`), choose the thresholds on the calibration half, measure the test half.

    Raises:
        FracdetError: fewer than two images (nothing left to test on); see also `inputs.check_records`.
    """
    if len(truths) < 2:
        raise FracdetError(f"the {config.split} split holds {len(truths)} image; evaluation needs at least 2, "
                           "one to choose the operating thresholds on and one to test them on")
    partition = partition_images(truths)
    calibration_half = take(truths, partition.calibration), take(detections, partition.calibration)
    test_half = take(truths, partition.test), take(detections, partition.test)
    calibration, test = in_scope_records(*calibration_half), in_scope_records(*test_half)
    thresholds = calibrate_thresholds(*calibration, target_sensitivity=config.target_sensitivity,
                                      target_specificity=config.target_specificity)
    in_scope = choose_in_scope_threshold(*calibration_half, config.target_in_scope_kept)
    return SplitMeasures(
        partition=partition, thresholds=thresholds, coco=coco_metrics(*test),
        froc=froc_curve(*test, iou_threshold=config.froc_iou),
        clinical=clinical_metrics(*test, thresholds), calibration=clinical_metrics(*calibration, thresholds),
        in_scope=in_scope, indications=indications_summary(*test_half, in_scope),
    )


def in_scope_records(
    truths: list[ImageTruth], detections: list[ImageDetections]
) -> tuple[list[ImageTruth], list[ImageDetections]]:
    """The in-scope images' truths and detections, aligned by index."""
    kept = np.flatnonzero([truth.in_scope for truth in truths])
    return take(truths, kept), take(detections, kept)


def _measured_on(truths: list[ImageTruth], partition: Partition) -> dict:
    """`images` and `boxes`: of the test half, which every figure is of; `partition`: both halves and the rule."""
    tested = [truth for truth in take(truths, partition.test) if truth.in_scope]
    return {"images": len(tested), "boxes": int(sum(len(truth.classes) for truth in tested)),
            "partition": partition_summary(truths, partition)}


def _latency_ms(serve: Serve, ingest_uri: str, config: EvaluateConfig) -> float:
    samples = [encoded for _, encoded in itertools.islice(read_split(ingest_uri, config.split), LATENCY_IMAGES)]
    return median_latency_ms(serve, samples, repeats=config.latency_repeats)


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
