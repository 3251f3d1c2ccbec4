"""The two operating points in `fracdet predict`'s answer: the call's and each box's, in the JSON, summary.csv and the picture.

No model runs here: `interpret` reads detections written out by hand, and the outputs are those
`fracdet predict` writes for them (the end-to-end run: tests/test_predict.py).
"""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from PIL import Image

from fracdet_core.annotate import FRACTURE_COLOUR, LEGEND_COLOUR, box_rect, line_width
from fracdet_core.classes import class_id
from fracdet_core.ingest.decode import decode_image
from fracdet_core.limits import DecodeLimits
from fracdet_core.predict.indication import indicate
from fracdet_core.predict.inputs import InputFile, InputImage
from fracdet_core.predict.model import PredictModel
from fracdet_core.predict.operating_point import DEFINITE, SUSPICIOUS
from fracdet_core.predict.outputs import SUMMARY_COLUMNS, picture, write_image_outputs, write_tables
from fracdet_core.predict.results import interpret
from fracdet_core.predict.thresholds import OperatingThresholds, fixed_thresholds
from fracdet_core.records import ImageDetections

# HAND: suspicious at 0.5, definite at 0.8; every other part: 0.4 and 0.7.
THRESHOLDS = OperatingThresholds({"HAND": 0.5}, 0.4, "test", definite_by_part={"HAND": 0.8}, definite_overall=0.7)
HAND_FRACTURE, HAND_NORMAL = class_id("HAND", True), class_id("HAND", False)
ELBOW_FRACTURE = class_id("ELBOW", True)
WHOLE = (0.05, 0.05, 0.95, 0.95)
LEFT, RIGHT, LOW = (0.15, 0.1, 0.45, 0.4), (0.15, 0.6, 0.45, 0.9), (0.6, 0.1, 0.85, 0.4)
MODEL = PredictModel("models/hand", "models/hand/saved_model", None)


def _detections(*rows: tuple[int, float, tuple[float, float, float, float]]) -> ImageDetections:
    """Rows of (class id, score, yxyx box), in descending score as the signature returns them."""
    return ImageDetections(np.array([box for _, _, box in rows], np.float32).reshape(-1, 4),
                           np.array([score for _, score, _ in rows], np.float32), np.array([c for c, _, _ in rows], np.int32))


@pytest.mark.parametrize(("rows", "point"), [
    (((HAND_NORMAL, 0.95, WHOLE), (HAND_FRACTURE, 0.8, LEFT)), DEFINITE),  # at the definite threshold counts
    (((HAND_NORMAL, 0.95, WHOLE), (HAND_FRACTURE, 0.79, LEFT)), SUSPICIOUS),
    (((HAND_NORMAL, 0.95, WHOLE), (HAND_FRACTURE, 0.5, LEFT)), SUSPICIOUS),  # at the suspicious threshold: called
    (((HAND_NORMAL, 0.95, WHOLE), (HAND_FRACTURE, 0.49, LEFT)), None),  # not called: no operating point
    (((ELBOW_FRACTURE, 0.72, LEFT),), DEFINITE),  # ELBOW takes the overall thresholds, 0.4 and 0.7
    (((ELBOW_FRACTURE, 0.69, LEFT),), SUSPICIOUS),
    ((), None),
])
def test_the_calls_operating_point(rows, point):
    assert interpret(_detections(*rows), THRESHOLDS).operating_point == point


def test_without_a_definite_threshold_every_call_is_suspicious():
    found = _detections((HAND_FRACTURE, 0.99, LEFT))
    assert interpret(found, fixed_thresholds(0.5)).operating_point == SUSPICIOUS
    assert interpret(found, fixed_thresholds(0.5)).detection_points == (SUSPICIOUS,)


def test_each_box_of_the_calls_part_says_which_point_it_reaches_and_no_other_box_does():
    found = _detections((HAND_NORMAL, 0.95, WHOLE), (HAND_FRACTURE, 0.85, LEFT), (HAND_FRACTURE, 0.6, RIGHT),
                        (ELBOW_FRACTURE, 0.75, LOW), (HAND_FRACTURE, 0.3, LOW))
    # The normal box, the ELBOW box of a HAND image and a HAND box below the call reach no point.
    assert interpret(found, THRESHOLDS).detection_points == (None, DEFINITE, SUSPICIOUS, None, None)


def _image(size: tuple[int, int] = (300, 240)) -> InputImage:
    """A grey radiograph stand-in, its pixels spread over 60 levels as a radiograph's are (a flat image is not a
    radiograph, `indications.content`): any box colour differs from them."""
    buffer = io.BytesIO()
    pixels = np.random.default_rng(0).integers(100, 160, size=(size[1], size[0]), dtype=np.uint8)
    Image.fromarray(pixels, "L").save(buffer, format="PNG")
    encoded = buffer.getvalue()
    return InputImage(InputFile("in/hand.png", "hand"), encoded, *size, decode_image(encoded, ".png", DecodeLimits()).facts)


def _edge_share(pixels: np.ndarray, rect: tuple[int, int, int, int], line: int, colour: tuple[int, int, int]) -> float:
    """Share of the middle of a box's top stroke, corners left out, in `colour`."""
    left, top, right, _ = rect
    stroke = pixels[top + line // 2, left + 2 * line:right - 2 * line]
    return float(np.mean(np.all(stroke == colour, axis=1)))


def test_definite_boxes_are_solid_suspicious_ones_dashed_and_a_legend_says_so():
    image = _image()
    found = _detections((HAND_NORMAL, 0.95, WHOLE), (HAND_FRACTURE, 0.85, LEFT), (HAND_FRACTURE, 0.6, RIGHT))
    prediction = interpret(found, THRESHOLDS)
    assert prediction.drawn.tolist() == [True, True, True]
    pixels = np.asarray(Image.open(io.BytesIO(picture(image, prediction))).convert("RGB"))
    line = line_width(image.width, image.height)
    solid = _edge_share(pixels, box_rect(np.array(LEFT), image.width, image.height), line, FRACTURE_COLOUR)
    dashed = _edge_share(pixels, box_rect(np.array(RIGHT), image.width, image.height), line, FRACTURE_COLOUR)
    assert solid == 1.0  # its label sits above the box, clear of its stroke
    assert 0.35 < dashed < 0.8  # dashes four line widths long, gaps three: about 4/7 of the stroke
    # Two bands under the image: the call's caption, then the legend.
    assert pixels.shape[0] > image.height and tuple(pixels[image.height + 2, 2]) == FRACTURE_COLOUR
    assert tuple(pixels[-2, 2]) == LEGEND_COLOUR


def test_a_picture_without_a_fracture_box_has_no_legend():
    image = _image()
    with_fracture = interpret(_detections((HAND_FRACTURE, 0.6, LEFT)), THRESHOLDS)
    without = interpret(_detections((HAND_NORMAL, 0.95, WHOLE)), THRESHOLDS)
    tall = Image.open(io.BytesIO(picture(image, with_fracture))).height
    short = Image.open(io.BytesIO(picture(image, without))).height
    assert tall > short > image.height


def test_the_json_and_the_summary_row_say_the_operating_points(tmp_path):
    found = _detections((HAND_NORMAL, 0.95, WHOLE), (HAND_FRACTURE, 0.6, LEFT))
    prediction = interpret(found, THRESHOLDS)
    image = _image()
    row = write_image_outputs(str(tmp_path), image, prediction, MODEL, THRESHOLDS, indicate(image, found, THRESHOLDS))
    document = json.loads((tmp_path / "hand.json").read_text())
    assert (document["fracture"]["called"], document["fracture"]["operating_point"]) == (True, SUSPICIOUS)
    assert document["fracture"]["definite_threshold"] == 0.8
    assert [item["operating_point"] for item in document["detections"]] == [None, SUSPICIOUS]
    write_tables(str(tmp_path), [row], [])
    with open(tmp_path / "summary.csv", newline="") as stream:
        (written,) = list(csv.DictReader(stream))
    assert list(written) == list(SUMMARY_COLUMNS) and written["operating_point"] == SUSPICIOUS


def test_an_image_not_called_has_an_empty_operating_point_and_a_null_in_the_json(tmp_path):
    thresholds = fixed_thresholds(0.5)
    found = _detections((HAND_NORMAL, 0.95, WHOLE))
    prediction = interpret(found, thresholds)
    image = _image()
    row = write_image_outputs(str(tmp_path), image, prediction, MODEL, thresholds, indicate(image, found, thresholds))
    document = json.loads((tmp_path / "hand.json").read_text())
    assert (document["fracture"]["operating_point"], document["fracture"]["definite_threshold"]) == (None, None)
    assert row["operating_point"] == ""
