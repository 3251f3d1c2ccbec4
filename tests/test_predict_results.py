"""Reading one image's detections: body part, fracture call against the part's threshold, and which boxes are drawn."""

from __future__ import annotations

import numpy as np
import pytest

from fracdet_core.classes import class_id
from fracdet_core.predict.config import DisplayConfig
from fracdet_core.predict.results import interpret
from fracdet_core.predict.thresholds import OperatingThresholds, fixed_thresholds
from fracdet_core.records import ImageDetections

THRESHOLDS = OperatingThresholds({"HAND": 0.5, "ELBOW": 0.2}, overall=0.4, source="test")
HAND_FRACTURE, HAND_NORMAL = class_id("HAND", True), class_id("HAND", False)
ELBOW_FRACTURE = class_id("ELBOW", True)


def _detections(*rows: tuple[int, float, tuple[float, float, float, float]]) -> ImageDetections:
    """Rows of (class id, score, yxyx box), in descending score as the signature returns them."""
    return ImageDetections(np.array([box for _, _, box in rows], np.float32).reshape(-1, 4),
                           np.array([score for _, score, _ in rows], np.float32), np.array([c for c, _, _ in rows], np.int32))


WHOLE = (0.1, 0.1, 0.9, 0.9)
SMALL = (0.4, 0.4, 0.5, 0.5)


@pytest.mark.parametrize(("rows", "part", "score", "threshold", "called"), [
    ((), None, 0.0, 0.4, False),  # nothing found: no part, the overall threshold, no call
    (((HAND_NORMAL, 0.9, WHOLE), (HAND_FRACTURE, 0.5, SMALL)), "HAND", 0.5, 0.5, True),  # at the threshold counts
    (((HAND_NORMAL, 0.9, WHOLE), (HAND_FRACTURE, 0.49, SMALL)), "HAND", 0.49, 0.5, False),
    # An ELBOW fracture box above ELBOW's low threshold does not make a HAND image fractured.
    (((HAND_NORMAL, 0.9, WHOLE), (ELBOW_FRACTURE, 0.45, SMALL)), "HAND", 0.0, 0.5, False),
    (((ELBOW_FRACTURE, 0.3, SMALL), (HAND_NORMAL, 0.25, WHOLE)), "ELBOW", 0.3, 0.2, True),  # the part of the top box
    (((class_id("FINGER", False), 0.8, WHOLE),), "FINGER", 0.0, 0.4, False),  # a part without its own threshold
])
def test_body_part_and_fracture_call(rows, part, score, threshold, called):
    prediction = interpret(_detections(*rows), THRESHOLDS)
    assert (prediction.body_part, prediction.fracture_score, prediction.threshold, prediction.fractured) == (
        part, pytest.approx(score), threshold, called)


def test_drawn_boxes_skip_stacked_duplicates_and_faint_boxes_and_stop_at_the_cap():
    found = _detections(
        (HAND_NORMAL, 0.9, WHOLE),
        (HAND_FRACTURE, 0.8, SMALL),                    # inside the normal box: a different claim, drawn
        (HAND_FRACTURE, 0.7, (0.42, 0.4, 0.52, 0.5)),   # the same fracture shifted: 80% of it overlaps, not drawn
        (HAND_FRACTURE, 0.6, (0.7, 0.7, 0.8, 0.8)),     # another fracture, drawn
        (HAND_FRACTURE, 0.55, (0.1, 0.1, 0.15, 0.15)),  # drawn until the cap
        (HAND_FRACTURE, 0.3, (0.2, 0.6, 0.3, 0.7)),     # below the HAND threshold of 0.5: not drawn
    )
    assert interpret(found, THRESHOLDS).drawn.tolist() == [True, True, False, True, True, False]
    assert interpret(found, THRESHOLDS, DisplayConfig(max_boxes=2)).drawn.tolist() == [True, True, False, False, False, False]
    assert interpret(found, THRESHOLDS, DisplayConfig(min_score=0.0)).drawn.tolist() == [True, True, False, True, True, True]


def test_thresholds_fall_back_to_overall_and_a_fixed_one_is_a_score():
    assert (THRESHOLDS.for_part("HAND"), THRESHOLDS.for_part("FINGER"), THRESHOLDS.for_part(None)) == (0.5, 0.4, 0.4)
    assert fixed_thresholds(0.25) == OperatingThresholds({}, 0.25, "--threshold")
    with pytest.raises(ValueError, match=r"got 1\.5"):
        fixed_thresholds(1.5)
