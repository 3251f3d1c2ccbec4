"""The image-level fracture call, one rule for `fracdet predict`, serving and the evaluation that reports on it.

An image's body part is that of its most confident detection, of either finding; its fracture
score is its most confident fracture-class detection of that body part (0 without); it is
called fractured when it has such a detection scoring at least the body part's operating
threshold. The evaluation's sensitivities and specificities are of exactly these calls, so
what it reports is what a user of `predict` gets.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from fracdet_core.classes import BODY_PARTS, CLASS_NAMES, IS_FRACTURE, describe_class
from fracdet_core.records import ImageDetections

CLASS_PARTS = tuple(describe_class(name)[0] for name in CLASS_NAMES)  # class id -> body part
FRACTURE_CLASSES = np.array(IS_FRACTURE)  # (C,) bool


@dataclasses.dataclass(frozen=True)
class FractureCall:
    """Attributes:
        body_part: that of the most confident detection; None without detections.
        score: the most confident fracture detection of `body_part`, 0 without.
        threshold: the operating threshold of `body_part`.
        fractured: there is such a detection and `score >= threshold`.
    """

    body_part: str | None
    score: float
    threshold: float
    fractured: bool


def call_fracture(found: ImageDetections, by_part: Mapping[str, float], fallback: float) -> FractureCall:
    """The call on one image; `by_part`: body part -> threshold, `fallback` for a part not in it (or no part)."""
    classes = np.asarray(found.classes, np.int64)
    scores = np.asarray(found.scores, np.float64)
    body_part = CLASS_PARTS[classes[np.argmax(scores)]] if len(classes) else None
    threshold = by_part.get(body_part, fallback) if body_part else fallback
    of_part = np.array([FRACTURE_CLASSES[c] and CLASS_PARTS[c] == body_part for c in classes], bool)
    score = float(scores[of_part].max()) if of_part.any() else 0.0
    return FractureCall(body_part, score, threshold, bool(of_part.any()) and score >= threshold)


def part_scores(found: ImageDetections) -> np.ndarray:
    """(parts,) the highest fracture-class detection score of each body part of `BODY_PARTS`, 0 without."""
    scores = np.zeros(len(BODY_PARTS))
    for class_id, score in zip(np.asarray(found.classes, np.int64), np.asarray(found.scores, np.float64), strict=True):
        if FRACTURE_CLASSES[class_id]:
            part_index = BODY_PARTS.index(CLASS_PARTS[class_id])
            scores[part_index] = max(scores[part_index], score)
    return scores
