"""Class weights: scikit-learn's balanced weights, the effective number of samples, the cap."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.utils.class_weight import compute_class_weight

from fracdet_core.classes import CLASS_NAMES
from fracdet_core.eda.weights import class_weights

COUNTS = dict(zip(CLASS_NAMES, [120, 40, 15, 80, 200, 90, 60, 30, 100, 150], strict=True))


def test_balanced_equals_scikit_learn():
    labels = np.repeat(np.arange(10), [COUNTS[name] for name in CLASS_NAMES])
    expected = compute_class_weight("balanced", classes=np.arange(10), y=labels)
    weights = class_weights(COUNTS, "balanced", beta=0.999, max_weight=100.0)
    np.testing.assert_allclose([weights[name] for name in CLASS_NAMES], expected, rtol=1e-12)


def test_effective_number_by_hand():
    beta = 0.99
    weights = class_weights(COUNTS, "effective", beta=beta, max_weight=100.0)
    raw = np.array([(1 - beta) / (1 - beta ** COUNTS[name]) for name in CLASS_NAMES])
    np.testing.assert_allclose([weights[name] for name in CLASS_NAMES], raw / raw.sum() * 10, rtol=1e-12)
    assert weights["XR_FOREARM_positive"] > weights["XR_SHOULDER_positive"]  # rarer weighs more


@pytest.mark.parametrize("weighting", ["balanced", "effective"])
def test_rare_and_absent_classes_are_capped(weighting):
    counts = dict.fromkeys(CLASS_NAMES, 1000) | {"XR_HAND_positive": 1, "XR_FINGER_negative": 0}
    weights = class_weights(counts, weighting, beta=0.9999, max_weight=10.0)
    assert weights["XR_FINGER_negative"] == 10.0  # absent: the cap, never infinity
    present = {name: weight for name, weight in weights.items() if name != "XR_FINGER_negative"}
    assert max(present, key=present.get) == "XR_HAND_positive"
    if weighting == "balanced":
        assert weights["XR_HAND_positive"] == 10.0  # 8001 / (10 * 1) = 800, capped
    assert all(np.isfinite(w) and 0 < w <= 10.0 for w in weights.values())


def test_no_boxes_at_all_gives_the_cap_everywhere():
    assert set(class_weights({}, "balanced", beta=0.999, max_weight=5.0).values()) == {5.0}
