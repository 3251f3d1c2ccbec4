"""Which class the model gives each truth box, and what its confident extra boxes are: a detection confusion matrix.

AP says how well each class ranks; it does not say what a miss turned into. Rows are the
truth classes plus "background" (confident detections that overlap no truth box); columns
are the predicted classes plus "missed" (truth boxes no confident detection overlaps). A
fractured elbow called a normal elbow shows up off the diagonal, a fracture found but given
the wrong body part too.

Matching, per image: detections scoring at least the threshold, best first, each take the
unmatched truth box they overlap most at IoU >= `iou_threshold`, whatever its class.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fracdet_core.boxes import iou_yxyx
from fracdet_core.classes import CLASS_NAMES
from fracdet_core.records import ImageDetections, ImageTruth

BACKGROUND = "background"
MISSED = "missed"
ROW_LABELS: tuple[str, ...] = (*CLASS_NAMES, BACKGROUND)
COLUMN_LABELS: tuple[str, ...] = (*CLASS_NAMES, MISSED)


def detection_confusion(
    truths: Sequence[ImageTruth], detections: Sequence[ImageDetections], *, score_threshold: float, iou_threshold: float = 0.5
) -> np.ndarray:
    """int64 (classes + 1, classes + 1): rows `ROW_LABELS` (truth), columns `COLUMN_LABELS` (predicted)."""
    classes = len(CLASS_NAMES)
    matrix = np.zeros((classes + 1, classes + 1), np.int64)
    for truth, found in zip(truths, detections, strict=True):
        confident = np.flatnonzero(found.scores >= score_threshold)
        confident = confident[np.argsort(-found.scores[confident], kind="stable")]
        overlaps = iou_yxyx(found.boxes[confident], truth.boxes) if len(truth.classes) else np.zeros((len(confident), 0))
        taken = np.zeros(len(truth.classes), bool)
        for row, detection in enumerate(confident):
            candidates = np.where(taken | (overlaps[row] < iou_threshold), -1.0, overlaps[row])
            if candidates.size and candidates.max() >= 0:
                best = int(np.argmax(candidates))
                taken[best] = True
                matrix[truth.classes[best], found.classes[detection]] += 1
            else:
                matrix[classes, found.classes[detection]] += 1
        for class_id in truth.classes[~taken]:
            matrix[class_id, classes] += 1
    return matrix
