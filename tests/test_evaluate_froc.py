"""Lesion-level FROC on hand-made cases: the IoU rule, body parts, FP/image, operating points."""

from __future__ import annotations

import numpy as np
import pytest
from evaluate_builders import found, truth

from fracdet_core.classes import class_id
from fracdet_core.errors import ConfigError
from fracdet_core.evaluate.froc import froc_curve
from fracdet_core.records import ImageDetections

ELBOW_FRACTURE = class_id("ELBOW", fractured=True)
HAND_FRACTURE = class_id("HAND", fractured=True)
ELBOW_NORMAL = class_id("ELBOW", fractured=False)
UNIT = [0.0, 0.0, 1.0, 1.0]


def _strip(right: float) -> list[float]:
    """A box over UNIT's full height and the left `right` of its width: IoU with UNIT = `right`."""
    return [0.0, 0.0, 1.0, right]


@pytest.mark.parametrize(
    ("overlap", "iou_threshold", "hit"),
    [(0.3125, 0.3, True), (0.28125, 0.3, False), (0.3125, 0.3125, True), (0.28125, 0.25, True)],
)
def test_a_hit_needs_iou_at_least_the_threshold(overlap, iou_threshold, hit):
    result = froc_curve([truth([UNIT], [ELBOW_FRACTURE])], [found([_strip(overlap)], [0.9], [ELBOW_FRACTURE])],
                        iou_threshold=iou_threshold)
    assert result.sensitivity[-1] == (1.0 if hit else 0.0)
    assert result.fp_per_image[-1] == (0.0 if hit else 1.0)


def test_a_detection_of_another_body_part_is_a_false_positive():
    result = froc_curve([truth([UNIT], [ELBOW_FRACTURE])], [found([UNIT], [0.9], [HAND_FRACTURE])])
    np.testing.assert_array_equal(result.sensitivity, [0.0, 0.0])
    np.testing.assert_array_equal(result.fp_per_image, [0.0, 1.0])


def test_negative_classes_are_neither_fractures_nor_candidates():
    truths = [truth([UNIT, [0.1, 0.1, 0.2, 0.2]], [ELBOW_NORMAL, ELBOW_FRACTURE])]
    detections = [found([UNIT, [0.5, 0.5, 0.9, 0.9]], [0.9, 0.8], [ELBOW_NORMAL, ELBOW_NORMAL])]
    result = froc_curve(truths, detections)
    assert result.num_fractures == 1
    np.testing.assert_array_equal(result.thresholds, [np.inf])  # no candidate at all
    np.testing.assert_array_equal(result.sensitivity, [0.0])


def test_curve_and_fp_per_image_over_all_images():
    # Four images, two without fractures. Candidates by score:
    # 0.9 hit (image 0), 0.8 FP (image 2), 0.7 second mark on image 0's found fracture (FP),
    # 0.6 hit (image 1), 0.5 FP (image 3), 0.4 FP (image 3).
    fracture_a, fracture_b = [0.1, 0.1, 0.3, 0.3], [0.5, 0.5, 0.8, 0.8]
    truths = [
        truth([fracture_a, fracture_b], [ELBOW_FRACTURE, ELBOW_FRACTURE]),
        truth([fracture_a], [HAND_FRACTURE]),
        truth([UNIT], [ELBOW_NORMAL]),
        truth([], []),
    ]
    detections = [
        found([fracture_a, fracture_a], [0.9, 0.7], [ELBOW_FRACTURE, ELBOW_FRACTURE]),
        found([fracture_a], [0.6], [HAND_FRACTURE]),
        found([fracture_b], [0.8], [ELBOW_FRACTURE]),
        found([fracture_a, fracture_b], [0.5, 0.4], [HAND_FRACTURE, ELBOW_FRACTURE]),
    ]
    result = froc_curve(truths, detections)
    assert result.num_fractures == 3 and result.num_images == 4
    np.testing.assert_allclose(result.thresholds, [np.inf, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    np.testing.assert_allclose(result.sensitivity, np.array([0, 1, 1, 1, 2, 2, 2]) / 3)
    np.testing.assert_allclose(result.fp_per_image, np.array([0, 0, 1, 2, 2, 3, 4]) / 4)
    expected = {0.125: 1 / 3, 0.25: 1 / 3, 0.5: 2 / 3, 1.0: 2 / 3, 2.0: 2 / 3, 4.0: 2 / 3, 8.0: 2 / 3}
    assert result.sensitivity_at == pytest.approx(expected)


def test_tied_scores_make_one_point():
    truths = [truth([UNIT], [ELBOW_FRACTURE]), truth([], [])]
    detections = [found([UNIT], [0.5], [ELBOW_FRACTURE]), found([UNIT], [0.5], [ELBOW_FRACTURE])]
    result = froc_curve(truths, detections)
    np.testing.assert_allclose(result.thresholds, [np.inf, 0.5])
    np.testing.assert_allclose(result.sensitivity, [0.0, 1.0])
    np.testing.assert_allclose(result.fp_per_image, [0.0, 0.5])
    assert result.sensitivity_at[0.25] == 0.0 and result.sensitivity_at[0.5] == 1.0


def test_a_candidate_finds_the_fracture_it_overlaps_most():
    # The first candidate lies on the second fracture and overlaps the first at IoU 0.25; the
    # second candidate overlaps only the first fracture (IoU 0.8; 0.125 with the second). Had
    # the first candidate taken the first fracture (merely eligible), the second would miss.
    first, second = [0.0, 0.0, 0.5, 0.5], [0.0, 0.3, 0.5, 0.8]
    truths = [truth([first, second], [ELBOW_FRACTURE, ELBOW_FRACTURE])]
    detections = [found([second, [0.0, 0.0, 0.5, 0.4]], [0.9, 0.8], [ELBOW_FRACTURE, ELBOW_FRACTURE])]
    assert froc_curve(truths, detections, iou_threshold=0.2).sensitivity[-1] == 1.0


def test_without_fractures_sensitivity_is_undefined():
    result = froc_curve([truth([UNIT], [ELBOW_NORMAL]), truth([], [])],
                        [found([UNIT], [0.9], [ELBOW_FRACTURE]), ImageDetections.empty()])
    assert result.num_fractures == 0
    assert all(value is None for value in result.sensitivity_at.values())
    assert np.isnan(result.sensitivity).all()
    np.testing.assert_allclose(result.fp_per_image, [0.0, 0.5])


def test_rejects_bad_iou_threshold():
    with pytest.raises(ConfigError):
        froc_curve([truth([], [])], [ImageDetections.empty()], iou_threshold=0.0)
