"""What `fracdet predict` writes to its output folder (local or gs://), each file whole or not at all.

- `<name>.json` per image: the input, its size, the model, the body part, the fracture call
  with its score, threshold, operating point ("definite", "suspicious" or null) and where the
  threshold came from, and every detection (class, finding, score, box in pixels of the original
  image and normalised, drawn or not, operating point).
- `<name>.png` per image: the image with the drawn boxes (fracture red, normal blue; definite
  fracture boxes solid, suspicious ones dashed) and a band underneath stating the call, with a
  legend band when a fracture box is drawn; the image part keeps the original's pixel coordinates.
- An image outside the indications gets no fracture call and no box drawn (`predict.indication`
  says what it gets instead); every image's JSON says `in_scope` and its `indication`.
- `summary.csv`: one row per image predicted, with `in_scope`, `indication_reason` and
  `operating_point` (the call's, empty when none); `errors.csv`: one row per input skipped, with its
  reason. Both are written last, after every image's files.

They are written to the run's staging folder, which `output_folder.publishing` then publishes as
`--out` whole, with `.fracdet-predict.json` listing them.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from fracdet_core import storage
from fracdet_core.annotate import FRACTURE_COLOUR, NORMAL_COLOUR, draw_boxes, label
from fracdet_core.classes import CLASS_NAMES, IS_FRACTURE, describe_class
from fracdet_core.indications.verdict import Indication
from fracdet_core.predict.indication import (
    INDICATION_COLUMNS,
    not_supported_picture,
    with_indication,
    with_indication_columns,
)
from fracdet_core.predict.inputs import InputImage, Unreadable
from fracdet_core.predict.model import PredictModel
from fracdet_core.predict.operating_point import LEGEND, dashed_boxes
from fracdet_core.predict.results import ImagePrediction, detection_records
from fracdet_core.predict.thresholds import OperatingThresholds
from fracdet_core.records import ImageDetections

SUMMARY_COLUMNS = ("name", "input", "width", "height", "body_part", "fractured", "fracture_score", "threshold",
                   "normalised_score", "detections", "drawn", *INDICATION_COLUMNS, "operating_point")
ERROR_COLUMNS = ("input", "reason", "detail")
NO_FINDING_COLOUR = (90, 90, 90)


def image_document(image: InputImage, prediction: ImagePrediction, model: PredictModel, thresholds: OperatingThresholds) -> dict:
    """The content of `<name>.json`."""
    return {
        "input": image.file.uri,
        "width": image.width,
        "height": image.height,
        "model": {"reference": model.reference, "saved_model": model.location,
                  "registry_version": model.version.version if model.version else None},
        "body_part": prediction.body_part,
        "fracture": {"called": prediction.fractured, "score": prediction.fracture_score, "threshold": prediction.threshold,
                     "normalised_score": prediction.normalised_score, "threshold_source": thresholds.source,
                     **_operating_point_fields(prediction, thresholds)},
        "detections": detection_records(prediction, image.width, image.height),
    }


def _operating_point_fields(prediction: ImagePrediction, thresholds: OperatingThresholds) -> dict:
    """The call's operating point and the definite threshold of its body part (null: no call is definite)."""
    return {"operating_point": prediction.operating_point,
            "definite_threshold": thresholds.definite_for_part(prediction.body_part)}


def caption(prediction: ImagePrediction) -> tuple[str, tuple[int, int, int]]:
    """The line under the picture and its band colour: the call, the body part, score against threshold."""
    if prediction.body_part is None:
        return "no detection", NO_FINDING_COLOUR
    if prediction.fractured:
        return (f"FRACTURE ({prediction.operating_point})  {prediction.body_part}: score {prediction.fracture_score:.2f} "
                f">= threshold {prediction.threshold:.2f}", FRACTURE_COLOUR)
    return (f"no fracture  {prediction.body_part}: best fracture score {prediction.fracture_score:.2f} < "
            f"{prediction.threshold:.2f}", NORMAL_COLOUR)


def picture(image: InputImage, prediction: ImagePrediction) -> bytes:
    """PNG bytes of `<name>.png`. Labels leave out the body part the caption already names."""
    found, drawn = prediction.detections, prediction.drawn
    shown = ImageDetections(found.boxes[drawn], found.scores[drawn], found.classes[drawn])
    labels = []
    for class_id, score in zip(shown.classes, shown.scores, strict=True):
        part = describe_class(CLASS_NAMES[int(class_id)])[0]
        short = f"{'fracture' if IS_FRACTURE[int(class_id)] else 'normal'} {float(score):.2f}"
        labels.append(short if part == prediction.body_part else label(int(class_id), float(score)))
    text, colour = caption(prediction)
    points = tuple(point for point, shows in zip(prediction.detection_points, drawn, strict=True) if shows)
    dashed = dashed_boxes(shown, points) if points else None
    legend = LEGEND if any(IS_FRACTURE[int(class_id)] for class_id in shown.classes) else None
    return draw_boxes(image.encoded, shown, labels=labels, caption=text, caption_colour=colour, dashed=dashed, legend=legend)


def write_image_outputs(out: str, image: InputImage, prediction: ImagePrediction, model: PredictModel,
                        thresholds: OperatingThresholds, indication: Indication) -> dict:
    """Write `<name>.json` and `<name>.png`; returns the image's `summary.csv` row."""
    document = with_indication(image_document(image, prediction, model, thresholds), indication)
    storage.write_text(storage.join(out, f"{image.file.name}.json"), json.dumps(document, indent=2) + "\n")
    drawn = picture(image, prediction) if indication.in_scope else not_supported_picture(image, indication)
    storage.write_bytes(storage.join(out, f"{image.file.name}.png"), drawn)
    return with_indication_columns(_summary_row(image, prediction), indication)


def _summary_row(image: InputImage, prediction: ImagePrediction) -> dict:
    return {
        "name": image.file.name,
        "input": image.file.uri,
        "width": image.width,
        "height": image.height,
        "body_part": prediction.body_part or "",
        "fractured": prediction.fractured,
        "fracture_score": round(prediction.fracture_score, 4),
        "threshold": round(prediction.threshold, 4),
        "normalised_score": round(prediction.normalised_score, 4),
        "detections": len(prediction.detections.scores),
        "drawn": int(prediction.drawn.sum()),
        "operating_point": prediction.operating_point or "",
    }


def write_tables(out: str, rows: Sequence[dict], unreadable: Sequence[Unreadable]) -> None:
    """Write `summary.csv` and `errors.csv` (a header alone when nothing was skipped)."""
    storage.write_text(storage.join(out, "summary.csv"), _csv(SUMMARY_COLUMNS, rows))
    errors = [{"input": item.uri, "reason": item.reason, "detail": item.detail} for item in unreadable]
    storage.write_text(storage.join(out, "errors.csv"), _csv(ERROR_COLUMNS, errors))


def _csv(columns: Sequence[str], rows: Sequence[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
