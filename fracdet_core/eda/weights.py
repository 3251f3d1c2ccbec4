"""Class weights for the classification loss, from the training boxes per class.

- balanced: `n / (k * n_c)`, scikit-learn's `compute_class_weight("balanced")`, so that every
  class contributes as much to the loss as it would in a balanced set.
- effective: the effective number of samples, `(1 - beta) / (1 - beta ** n_c)`, normalised to
  sum to `k` (Cui et al., "Class-Balanced Loss Based on Effective Number of Samples", CVPR 2019).
  It grows more slowly than `1 / n_c` because extra samples of a class overlap in what they teach.

Either way a class with very few boxes, or none, would get a huge or infinite weight that lets
a handful of boxes dominate training; every weight is therefore capped at `max_weight`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from sklearn.utils.class_weight import compute_class_weight

from fracdet_core.classes import CLASS_NAMES


def class_weights(box_counts: Mapping[str, int], weighting: str, *, beta: float, max_weight: float) -> dict[str, float]:
    """Class name -> weight for all ten classes, finite, positive and at most `max_weight`."""
    counts = np.array([box_counts.get(name, 0) for name in CLASS_NAMES], dtype=np.int64)
    present = counts > 0
    weights = np.full(len(CLASS_NAMES), max_weight, dtype=np.float64)
    if present.any():
        if weighting == "balanced":
            labels = np.repeat(np.flatnonzero(present), counts[present])
            present_ids = np.flatnonzero(present)
            # scikit-learn divides by the classes it is given; rescale so the divisor is all ten,
            # which leaves the weights of a dataset holding every class exactly scikit-learn's.
            raw = compute_class_weight("balanced", classes=present_ids, y=labels) * present.sum() / len(CLASS_NAMES)
            weights[present] = raw
        else:
            effective = (1.0 - np.power(beta, counts[present].astype(np.float64))) / (1.0 - beta)
            raw = 1.0 / effective
            weights[present] = raw / raw.sum() * present.sum()
    return {name: float(min(max(weight, 1e-6), max_weight)) for name, weight in zip(CLASS_NAMES, weights, strict=True)}
