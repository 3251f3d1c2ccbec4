"""From one image's detections to what a reader wants: the body part, the fracture call, and which boxes to draw.

- Body part: that of the image's most confident detection, of either finding (the signature
  returns scores in descending order); None for an image without detections.
- Fracture call (`evaluate.fracture_call`, the rule whose sensitivity and specificity `fracdet
  evaluate` reports): the image's fracture score is its most confident fracture-class box of that
  body part (0 without), and the image is called fractured when the score reaches the body
  part's operating threshold.
- Drawn boxes: a picture with a hundred boxes helps nobody. In descending score, a box is drawn
  when its score reaches the drawing threshold (default: the image's operating threshold, so
  every red box drawn is one that makes the call), fewer than `max_boxes` are drawn, and it does
  not overlap a drawn box of the same finding by more than `max_overlap` of the smaller box's
  area (the model often returns one fracture as a stack of shifted boxes: the picture shows the
  most confident; a fracture box inside a normal box is a different claim and stays). The JSON keeps every detection the
  model returned, each with `drawn`.
- Operating point (`operating_point`): a call, and each fracture box of its body part, is
  "definite" or "suspicious".
"""

from __future__ import annotations

import dataclasses

import numpy as np

from fracdet_core.annotate import boxes_to_draw
from fracdet_core.classes import CLASS_NAMES, describe_class
from fracdet_core.evaluate.fracture_call import call_fracture
from fracdet_core.predict.config import DisplayConfig
from fracdet_core.predict.operating_point import box_points, call_point
from fracdet_core.predict.thresholds import OperatingThresholds
from fracdet_core.records import ImageDetections

_DEFAULT_DISPLAY = DisplayConfig()


@dataclasses.dataclass(frozen=True)
class ImagePrediction:
    """One image's reading.

    Attributes:
        detections: every detection the signature returned, boxes yxyx normalised to the image.
        body_part: see the module docstring; None without detections.
        fracture_score: the most confident fracture box of `body_part`, 0 without.
        threshold: the operating threshold of `body_part`.
        fractured: `fracture_score >= threshold` and there is such a box.
        normalised_score: `fracture_score` on the scale where every part's threshold is 0.5
            (`FractureCall.normalised_score`), comparable across body parts.
        drawn: bool (K,), which detections the picture shows.
        operating_point: the call's, "definite" or "suspicious"; None when not called fractured.
        detection_points: (K,) each detection's operating point (`operating_point.box_points`).
    """

    detections: ImageDetections
    body_part: str | None
    fracture_score: float
    threshold: float
    fractured: bool
    normalised_score: float
    drawn: np.ndarray
    operating_point: str | None = None
    detection_points: tuple[str | None, ...] = ()


def interpret(
    detections: ImageDetections, thresholds: OperatingThresholds, display: DisplayConfig = _DEFAULT_DISPLAY
) -> ImagePrediction:
    """Body part, fracture call and drawn boxes of one image's detections (scores descending)."""
    call = call_fracture(detections, thresholds.by_part, thresholds.overall)
    drawn = boxes_to_draw(detections, call.threshold if display.min_score is None else display.min_score,
                          max_boxes=display.max_boxes, max_overlap=display.max_overlap)
    return ImagePrediction(detections, call.body_part, call.score, call.threshold, call.fractured, call.normalised_score,
                           drawn, call_point(call.fractured, call.body_part, call.score, thresholds),
                           box_points(detections, call.body_part, thresholds))


def detection_records(prediction: ImagePrediction, width: int, height: int) -> list[dict]:
    """The JSON `detections`: class, finding, score, box in pixels of the original and normalised, drawn or not."""
    records = []
    found = prediction.detections
    points = prediction.detection_points or (None,) * len(found.scores)
    rows = zip(found.boxes, found.scores, found.classes, prediction.drawn, points, strict=True)
    for box, score, class_id, drawn, point in rows:
        part, fractured = describe_class(CLASS_NAMES[int(class_id)])
        ymin, xmin, ymax, xmax = (float(value) for value in box)
        records.append({
            "class_id": int(class_id),
            "class_name": CLASS_NAMES[int(class_id)],
            "body_part": part,
            "finding": "fracture" if fractured else "normal",
            "score": float(score),
            "box": {"xmin": round(xmin * width, 2), "ymin": round(ymin * height, 2),
                    "xmax": round(xmax * width, 2), "ymax": round(ymax * height, 2)},
            "box_normalized": [ymin, xmin, ymax, xmax],
            "drawn": bool(drawn),
            "operating_point": point,
        })
    return records
