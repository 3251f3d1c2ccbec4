"""mAP@0.5 from stored matches for image multisets, against pycocotools on the repeated images."""

from __future__ import annotations

import numpy as np
import pytest
from evaluate_builders import found, random_case, reference_class_ap50, reference_cocoeval, truth

from fracdet_core.evaluate.coco import coco_metrics
from fracdet_core.evaluate.matches import ap50_from_matches, per_class_ap50


def _repeated(records: list, counts: np.ndarray) -> list:
    """Each record `counts[i]` times, copies next to each other, in the original order."""
    return [record for record, count in zip(records, counts, strict=True) for _ in range(count)]


@pytest.mark.parametrize("seed", [10, 11, 12, 13])
def test_multiset_equals_pycocotools_on_repeated_images(seed):
    truths, detections = random_case(seed, num_images=15)
    matches = coco_metrics(truths, detections).matches
    counts = np.random.default_rng(seed).integers(0, 4, len(truths))  # 0 drops an image, 2 and 3 repeat it

    reference = reference_cocoeval(_repeated(truths, counts), _repeated(detections, counts))
    assert ap50_from_matches(matches, counts) == pytest.approx(reference.stats[1], abs=1e-6)
    np.testing.assert_allclose(per_class_ap50(matches, counts[None, :])[0], reference_class_ap50(reference), atol=1e-6)


def test_batch_rows_are_independent_multisets():
    truths, detections = random_case(20, num_images=10)
    matches = coco_metrics(truths, detections).matches
    counts = np.random.default_rng(0).integers(0, 3, (5, len(truths)))
    batch = per_class_ap50(matches, counts)
    for row, row_counts in zip(batch, counts, strict=True):
        np.testing.assert_array_equal(row, per_class_ap50(matches, row_counts[None, :])[0])


def test_a_repeated_image_counts_twice():
    # Image 0's box is found, image 1's missed. Counting image 1 twice gives 3 truth boxes,
    # 1 found: precision 1 up to recall 1/3, the 34 grid points 0, 0.01, ..., 0.33.
    box = [0.1, 0.1, 0.4, 0.4]
    truths = [truth([box], [0]), truth([box], [0])]
    detections = [found([box], [0.9], [0]), found([], [], [])]
    matches = coco_metrics(truths, detections).matches
    assert ap50_from_matches(matches) == pytest.approx(51 / 101)
    assert ap50_from_matches(matches, np.array([1, 2])) == pytest.approx(34 / 101)
    assert ap50_from_matches(matches, np.array([2, 0])) == pytest.approx(1.0)


def test_multiset_without_truth_is_undefined():
    truths = [truth([[0.1, 0.1, 0.4, 0.4]], [0]), truth([], [])]
    detections = [found([[0.1, 0.1, 0.4, 0.4]], [0.9], [0]), found([[0.5, 0.5, 0.6, 0.6]], [0.3], [0])]
    matches = coco_metrics(truths, detections).matches
    assert ap50_from_matches(matches, np.array([0, 3])) is None
    assert np.isnan(per_class_ap50(matches, np.array([[0, 3]]))).all()


def test_counts_must_cover_every_image():
    truths, detections = random_case(0, num_images=4)
    matches = coco_metrics(truths, detections).matches
    with pytest.raises(ValueError, match=r"\(B, 4\)"):
        per_class_ap50(matches, np.ones((2, 3)))
