"""COCO metrics: the wrapper against pycocotools run directly, and hand-made cases with known AP."""

from __future__ import annotations

import numpy as np
import pytest
from evaluate_builders import found, random_case, reference_class_ap50, reference_cocoeval, truth

from fracdet_core.classes import CLASS_NAMES
from fracdet_core.errors import FracdetError
from fracdet_core.evaluate.coco import coco_metrics
from fracdet_core.evaluate.matches import RECALL_GRID, ap50_from_matches, per_class_ap50
from fracdet_core.records import ImageDetections

RANDOM_CASES = [
    {"seed": 0},
    {"seed": 1, "num_images": 30, "max_boxes": 6},
    {"seed": 2, "tied_scores": True},
    {"seed": 3, "num_images": 25, "tied_scores": True, "extra_detections": 15},
    {"seed": 4, "num_images": 5, "max_boxes": 1},
    {"seed": 5, "num_images": 40, "max_boxes": 2, "extra_detections": 1},
]


@pytest.mark.parametrize("case", RANDOM_CASES, ids=lambda case: str(case))
def test_agrees_with_pycocotools_run_directly(case):
    truths, detections = random_case(**case)
    reference = reference_cocoeval(truths, detections)
    metrics = coco_metrics(truths, detections)

    assert metrics.map50 == pytest.approx(reference.stats[1], abs=1e-6)
    assert metrics.map50_95 == pytest.approx(reference.stats[0], abs=1e-6)
    assert metrics.ar100 == pytest.approx(reference.stats[8], abs=1e-6)
    expected_class_ap = reference_class_ap50(reference)
    for class_id, name in enumerate(CLASS_NAMES):
        if np.isnan(expected_class_ap[class_id]):
            assert metrics.per_class_ap50[name] is None and metrics.pr_curves[name] is None
        else:
            assert metrics.per_class_ap50[name] == pytest.approx(expected_class_ap[class_id], abs=1e-6)
            np.testing.assert_allclose(metrics.pr_curves[name].precision, reference.eval["precision"][0, :, class_id, 0, 2],
                                       atol=1e-6)
            np.testing.assert_array_equal(metrics.pr_curves[name].recall, reference.params.recThrs)


@pytest.mark.parametrize("case", RANDOM_CASES, ids=lambda case: str(case))
def test_ap50_from_matches_reproduces_accumulate(case):
    truths, detections = random_case(**case)
    reference = reference_cocoeval(truths, detections)
    matches = coco_metrics(truths, detections).matches

    assert ap50_from_matches(matches) == pytest.approx(reference.stats[1], abs=1e-6)
    identity = np.ones((1, len(truths)))
    np.testing.assert_allclose(per_class_ap50(matches, identity)[0], reference_class_ap50(reference), atol=1e-6)
    np.testing.assert_array_equal(RECALL_GRID, reference.params.recThrs)


SQUARE = [0.1, 0.1, 0.5, 0.5]
OTHER = [0.6, 0.6, 0.9, 0.8]
HAND_POSITIVE = CLASS_NAMES.index("XR_HAND_positive")
ELBOW_NEGATIVE = CLASS_NAMES.index("XR_ELBOW_negative")


def test_perfect_detections_score_one():
    truths = [truth([SQUARE, OTHER], [HAND_POSITIVE, ELBOW_NEGATIVE], (640, 480)), truth([OTHER], [HAND_POSITIVE])]
    detections = [found([SQUARE, OTHER], [0.9, 0.8], [HAND_POSITIVE, ELBOW_NEGATIVE]), found([OTHER], [0.7], [HAND_POSITIVE])]
    metrics = coco_metrics(truths, detections)
    assert metrics.map50 == metrics.map50_95 == metrics.ar100 == pytest.approx(1.0)
    assert metrics.per_class_ap50["XR_HAND_positive"] == pytest.approx(1.0)
    assert metrics.per_class_ap50["XR_ELBOW_negative"] == pytest.approx(1.0)
    undefined = {name for name, ap in metrics.per_class_ap50.items() if ap is None}
    assert undefined == set(CLASS_NAMES) - {"XR_HAND_positive", "XR_ELBOW_negative"}
    assert ap50_from_matches(metrics.matches) == pytest.approx(1.0)


def test_no_detections_score_zero_for_classes_with_truth():
    truths = [truth([SQUARE], [HAND_POSITIVE]), truth([], []), truth([OTHER], [ELBOW_NEGATIVE])]
    metrics = coco_metrics(truths, [ImageDetections.empty()] * 3)
    assert metrics.map50 == metrics.map50_95 == metrics.ar100 == 0.0
    assert metrics.per_class_ap50["XR_HAND_positive"] == metrics.per_class_ap50["XR_ELBOW_negative"] == 0.0
    assert metrics.per_class_ap50["XR_FINGER_positive"] is None
    np.testing.assert_array_equal(metrics.pr_curves["XR_HAND_positive"].precision, np.zeros(101))
    assert ap50_from_matches(metrics.matches) == 0.0


def test_no_truth_at_all_leaves_the_means_undefined():
    metrics = coco_metrics([truth([], [])], [found([SQUARE], [0.9], [HAND_POSITIVE])])
    assert metrics.map50 is None and metrics.map50_95 is None and metrics.ar100 is None
    assert all(ap is None for ap in metrics.per_class_ap50.values())
    assert ap50_from_matches(metrics.matches) is None


def test_detections_of_the_wrong_class_score_zero():
    truths = [truth([SQUARE], [HAND_POSITIVE]), truth([OTHER], [ELBOW_NEGATIVE])]
    detections = [found([SQUARE], [0.9], [ELBOW_NEGATIVE]), found([OTHER], [0.9], [HAND_POSITIVE])]
    metrics = coco_metrics(truths, detections)
    assert metrics.map50 == 0.0
    assert ap50_from_matches(metrics.matches) == 0.0


def test_duplicate_ranked_between_hits_lowers_precision():
    # Ranks: hit, duplicate (false positive), hit. Recall 0..0.5 at precision 1 (51 grid
    # points), recall 0.51..1 at the envelope's 2/3 (50 points).
    truths = [truth([SQUARE, OTHER], [HAND_POSITIVE, HAND_POSITIVE])]
    detections = [found([SQUARE, SQUARE, OTHER], [0.9, 0.8, 0.7], [HAND_POSITIVE] * 3)]
    metrics = coco_metrics(truths, detections)
    expected = (51 * 1.0 + 50 * 2 / 3) / 101
    assert metrics.map50 == pytest.approx(expected, abs=1e-12)
    assert ap50_from_matches(metrics.matches) == pytest.approx(expected, abs=1e-12)


def test_duplicate_after_every_hit_costs_nothing():
    truths = [truth([SQUARE], [HAND_POSITIVE])]
    detections = [found([SQUARE, SQUARE], [0.9, 0.8], [HAND_POSITIVE] * 2)]
    assert coco_metrics(truths, detections).map50 == pytest.approx(1.0)


def test_half_recall_without_false_positives():
    # Precision 1 up to recall 0.5 (51 grid points), 0 beyond: AP = 51 / 101.
    truths = [truth([SQUARE], [HAND_POSITIVE]), truth([OTHER], [HAND_POSITIVE])]
    detections = [found([SQUARE], [0.9], [HAND_POSITIVE]), ImageDetections.empty()]
    metrics = coco_metrics(truths, detections)
    assert metrics.map50 == pytest.approx(51 / 101, abs=1e-12)
    assert ap50_from_matches(metrics.matches) == pytest.approx(51 / 101, abs=1e-12)


def test_boxes_scale_by_each_image_size():
    # A box that is right in normalised coordinates is right whatever the image's aspect.
    truths = [truth([SQUARE], [HAND_POSITIVE], (1920, 120)), truth([OTHER], [HAND_POSITIVE], (64, 3000))]
    detections = [found([SQUARE], [0.9], [HAND_POSITIVE]), found([OTHER], [0.8], [HAND_POSITIVE])]
    assert coco_metrics(truths, detections).map50_95 == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("truths", "detections", "error"),
    [
        ([], [], FracdetError),
        ([truth([SQUARE], [HAND_POSITIVE])], [], ValueError),
        ([truth([SQUARE], [10])], [ImageDetections.empty()], ValueError),
        ([truth([SQUARE], [HAND_POSITIVE])], [found([SQUARE], [0.5], [-1])], ValueError),
        ([truth([SQUARE, OTHER], [HAND_POSITIVE])], [ImageDetections.empty()], ValueError),
        ([truth([], [], (0, 10))], [ImageDetections.empty()], ValueError),
    ],
    ids=["empty split", "misaligned", "truth class 10", "detection class -1", "boxes vs classes", "zero width"],
)
def test_rejects_malformed_records(truths, detections, error):
    with pytest.raises(error):
        coco_metrics(truths, detections)
