"""The one check every metric runs on its inputs before trusting them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fracdet_core.classes import CLASS_NAMES
from fracdet_core.errors import FracdetError
from fracdet_core.records import ImageDetections, ImageTruth


def check_records(truths: Sequence[ImageTruth], detections: Sequence[ImageDetections]) -> None:
    """Fail early and by name on inputs the metrics would otherwise misread.

    Raises:
        FracdetError: there are no images to evaluate (an empty split is a data problem).
        ValueError: the lists differ in length, or an image's arrays have the wrong shape,
            an unknown class id, or a non-positive size.
    """
    if not truths:
        raise FracdetError("no images to evaluate: the evaluation split is empty")
    if len(truths) != len(detections):
        raise ValueError(f"{len(truths)} truths but {len(detections)} detections; the lists must align by image")
    for truth, found in zip(truths, detections, strict=True):
        if truth.width <= 0 or truth.height <= 0:
            raise ValueError(f"{truth.source_id}: image size must be positive, got {truth.width}x{truth.height}")
        _check_boxes(truth.source_id, "truth", truth.boxes, truth.classes)
        _check_boxes(truth.source_id, "detection", found.boxes, found.classes)
        if np.shape(found.scores) != np.shape(found.classes):
            raise ValueError(
                f"{truth.source_id}: {np.shape(found.scores)} detection scores for {np.shape(found.classes)} classes"
            )


def _check_boxes(source_id: str, kind: str, boxes: np.ndarray, classes: np.ndarray) -> None:
    count = len(classes)
    shape_ok = np.shape(boxes) == (count, 4) or (count == 0 and np.size(boxes) == 0)
    if np.ndim(classes) != 1 or not shape_ok:
        raise ValueError(f"{source_id}: {kind} boxes must be ({count}, 4) for {count} classes, got {np.shape(boxes)}")
    if count and (np.min(classes) < 0 or np.max(classes) >= len(CLASS_NAMES)):
        raise ValueError(
            f"{source_id}: {kind} class ids must be within [0, {len(CLASS_NAMES) - 1}], got {np.unique(classes).tolist()}"
        )
