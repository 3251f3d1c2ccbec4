"""Bootstrap interval of mAP@0.5: coverage of the estimate, narrowing with data, determinism."""

from __future__ import annotations

import pytest
from evaluate_builders import found, random_case, truth

from fracdet_core.errors import ConfigError
from fracdet_core.evaluate.bootstrap import bootstrap_map50
from fracdet_core.evaluate.coco import coco_metrics


@pytest.fixture(scope="module")
def matches_by_size():
    """Matches of 20 and of 200 images drawn from the same detector-like distribution."""
    return {size: coco_metrics(*random_case(7, num_images=size, max_boxes=3, extra_detections=3)).matches for size in (20, 200)}


def test_interval_contains_the_estimate(matches_by_size):
    interval = bootstrap_map50(matches_by_size[200], resamples=500, seed=1)
    assert interval.low <= interval.estimate <= interval.high
    assert interval.low < interval.high
    assert interval.confidence == 0.95 and interval.resamples == 500


def test_interval_narrows_with_more_images(matches_by_size):
    small = bootstrap_map50(matches_by_size[20], resamples=500, seed=1)
    large = bootstrap_map50(matches_by_size[200], resamples=500, seed=1)
    assert large.high - large.low < 0.6 * (small.high - small.low)  # ~1/sqrt(10) expected


def test_same_seed_same_interval(matches_by_size):
    first = bootstrap_map50(matches_by_size[20], resamples=300, seed=5)
    assert bootstrap_map50(matches_by_size[20], resamples=300, seed=5) == first
    assert bootstrap_map50(matches_by_size[20], resamples=300, seed=6) != first


def test_lower_confidence_gives_a_narrower_interval(matches_by_size):
    wide = bootstrap_map50(matches_by_size[20], resamples=400, confidence=0.95, seed=2)
    narrow = bootstrap_map50(matches_by_size[20], resamples=400, confidence=0.5, seed=2)
    assert wide.low <= narrow.low <= narrow.high <= wide.high


def test_resamples_without_truth_are_left_out():
    # One annotated image among four: about (3/4)^4 = 32% of resamples draw no truth box.
    box = [0.1, 0.1, 0.4, 0.4]
    truths = [truth([box], [0])] + [truth([], [])] * 3
    detections = [found([box], [0.9], [0])] + [found([box], [0.2], [0])] * 3
    interval = bootstrap_map50(coco_metrics(truths, detections).matches, resamples=200, seed=0)
    assert 100 < interval.resamples < 180


def test_no_truth_gives_no_interval():
    matches = coco_metrics([truth([], [])], [found([[0.1, 0.1, 0.4, 0.4]], [0.9], [0])]).matches
    assert bootstrap_map50(matches) is None


@pytest.mark.parametrize("options", [{"resamples": 0}, {"confidence": 1.0}, {"confidence": 0.0}])
def test_rejects_bad_options(matches_by_size, options):
    with pytest.raises(ConfigError):
        bootstrap_map50(matches_by_size[20], **options)
