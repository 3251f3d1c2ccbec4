"""Which operating point a fracture call and each fracture box reach: "definite", "suspicious" or none.

An image is called fractured when its fracture score reaches its body part's threshold (the
"suspicious" point, chosen for a target sensitivity); the call is "definite" when the score also
reaches the part's definite threshold (chosen for a target specificity, `evaluate.definite`).
Without a definite threshold (`--threshold`, a version 1 thresholds file, an evaluation that
chose none) every call is suspicious.

A fracture box says the same of itself: a box of the call's body part is definite when its score
reaches the definite threshold, suspicious when it reaches the suspicious one; a fracture box of
another part, or one below the call (drawn only when `--draw-threshold` is lowered), makes no
call and reaches neither. The picture draws definite fracture boxes solid and every other
fracture box dashed, and says so in a legend under the caption.
"""

from __future__ import annotations

import numpy as np

from fracdet_core.classes import CLASS_NAMES, IS_FRACTURE, describe_class
from fracdet_core.predict.thresholds import OperatingThresholds
from fracdet_core.records import ImageDetections

DEFINITE = "definite"
SUSPICIOUS = "suspicious"
LEGEND = "fracture boxes: solid = definite, dashed = suspicious"


def reached(score: float, body_part: str | None, thresholds: OperatingThresholds) -> str | None:
    """The operating point a fracture score of `body_part` reaches: DEFINITE, SUSPICIOUS or None."""
    definite = thresholds.definite_for_part(body_part)
    if definite is not None and score >= definite:
        return DEFINITE
    return SUSPICIOUS if score >= thresholds.for_part(body_part) else None


def call_point(fractured: bool, body_part: str | None, score: float, thresholds: OperatingThresholds) -> str | None:
    """The image call's operating point: None when it is not called fractured."""
    return (reached(score, body_part, thresholds) or SUSPICIOUS) if fractured else None


def box_points(detections: ImageDetections, body_part: str | None, thresholds: OperatingThresholds) -> tuple[str | None, ...]:
    """(K,) each detection's operating point: only fracture boxes of the call's `body_part` reach one."""
    points = []
    for class_id, score in zip(np.asarray(detections.classes, np.int64), np.asarray(detections.scores), strict=True):
        of_call = IS_FRACTURE[int(class_id)] and describe_class(CLASS_NAMES[int(class_id)])[0] == body_part
        points.append(reached(float(score), body_part, thresholds) if of_call else None)
    return tuple(points)


def dashed_boxes(detections: ImageDetections, points: tuple[str | None, ...]) -> list[bool]:
    """(K,) which boxes to draw dashed: every fracture box that is not definite."""
    return [bool(IS_FRACTURE[int(class_id)]) and point != DEFINITE
            for class_id, point in zip(detections.classes, points, strict=True)]
