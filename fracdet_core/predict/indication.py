"""`fracdet predict`'s indications: each image's in-scope answer, and what an image out of scope gets instead of a call.

The answer (`indications.verdict.decide`) combines the DICOM tags and the image checks that the
decoder measured (`InputImage.facts`) with the model's in-scope score and the operating
thresholds' in-scope threshold. An image out of scope gets:

- in `<name>.json`: `"in_scope": false`, the `indication` (reason, detail, decided_by, likely
  body part, the model's scores), `"body_part": null` and `"fracture": null`: no fracture call.
  The model's detections stay listed, none drawn: they are what the model returned, not a reading.
- in `<name>.png`: the image without any box, normal ones included (a "normal" box on a chest
  would read as a finding), and a grey band "NOT SUPPORTED" with the reason.
- in `summary.csv`: `in_scope` false and `indication_reason`; the fracture columns are empty.

An image in scope keeps everything as before, with `"in_scope": true` and its `indication`.
"""

from __future__ import annotations

from fracdet_core.annotate import draw_boxes
from fracdet_core.classes import SCOPE_PARTS
from fracdet_core.indications.verdict import Indication, ModelAnswer, decide
from fracdet_core.predict.inputs import InputImage
from fracdet_core.predict.thresholds import OperatingThresholds
from fracdet_core.records import ImageDetections

INDICATION_COLUMNS = ("in_scope", "indication_reason")
# The summary.csv columns that belong to a fracture call, left empty for an image out of scope.
CALL_COLUMNS = ("body_part", "fractured", "fracture_score", "threshold", "normalised_score")
NOT_SUPPORTED_COLOUR = (90, 90, 90)


def indicate(image: InputImage, detections: ImageDetections, thresholds: OperatingThresholds) -> Indication:
    """The indication of one predicted image (see the module docstring)."""
    answer = ModelAnswer(detections.in_scope_score, detections.body_part_probabilities, thresholds.in_scope_threshold)
    return decide(image.facts, answer)


def indication_record(indication: Indication) -> dict:
    """The JSON `indication` object."""
    model = indication.model
    probabilities = model.body_part_probabilities
    return {
        "reason": str(indication.reason),
        "detail": indication.detail,
        "decided_by": None if indication.decided_by is None else str(indication.decided_by),
        "likely_body_part": indication.likely_body_part,
        "in_scope_score": model.in_scope_score,
        "in_scope_threshold": model.in_scope_threshold,
        "body_part_probabilities": None if probabilities is None
        else {part: round(float(value), 6) for part, value in zip(SCOPE_PARTS, probabilities, strict=True)},
        "notes": [{"reason": str(reason), "detail": detail} for reason, detail in indication.notes],
    }


def with_indication(document: dict, indication: Indication) -> dict:
    """`<name>.json`'s content with the indication; out of scope, without a body part or a fracture call."""
    answered = {**document, "in_scope": indication.in_scope, "indication": indication_record(indication)}
    if not indication.in_scope:
        answered["body_part"] = None
        answered["fracture"] = None
        answered["detections"] = [{**record, "drawn": False} for record in document.get("detections", [])]
    return answered


def with_indication_columns(row: dict, indication: Indication) -> dict:
    """The `summary.csv` row with the indication's columns; out of scope, the fracture call's columns empty."""
    answered = {**row, "in_scope": indication.in_scope, "indication_reason": str(indication.reason)}
    if not indication.in_scope:
        answered.update(dict.fromkeys(CALL_COLUMNS, ""))
        answered["drawn"] = 0
    return answered


def not_supported_caption(indication: Indication) -> str:
    """The band under the picture of an image out of scope: the reason code and the likely part (the JSON has the detail).

    Short on purpose: the band is one line at the picture's width, and a detail can run long.
    """
    part = f"  (likely {indication.likely_body_part})" if indication.likely_body_part else ""
    return f"NOT SUPPORTED  {indication.reason}{part}"


def not_supported_picture(image: InputImage, indication: Indication) -> bytes:
    """PNG bytes of `<name>.png` for an image out of scope: no box, the reason underneath."""
    return draw_boxes(image.encoded, ImageDetections.empty(), labels=[], caption=not_supported_caption(indication),
                      caption_colour=NOT_SUPPORTED_COLOUR)
