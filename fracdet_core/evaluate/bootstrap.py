"""Bootstrap confidence interval of mAP@0.5 over images.

The image is the unit that was sampled (truth boxes and detections within one image are not
independent), so the bootstrap resamples images with replacement and recomputes mAP@0.5 from
the stored matches; the percentile interval follows Efron & Tibshirani, "An Introduction to
the Bootstrap" (1993), ch. 13.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from fracdet_core.errors import ConfigError
from fracdet_core.evaluate.matches import MatchResults, ap50_from_matches, per_class_ap50

# Resamples evaluated per batch: bounds the (batch, detections) arrays of one class.
_BATCH = 100


@dataclasses.dataclass(frozen=True)
class MapInterval:
    """Attributes:
        estimate: mAP@0.5 of the images as evaluated (each image once).
        low, high: the percentile interval's bounds.
        confidence: its nominal coverage, e.g. 0.95.
        resamples: resamples that entered the percentiles; a resample that drew no truth box
            has no mAP and is left out (only likely with very few annotated images).
    """

    estimate: float
    low: float
    high: float
    confidence: float
    resamples: int


def bootstrap_map50(
    matches: MatchResults, *, resamples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> MapInterval | None:
    """Percentile bootstrap interval of mAP@0.5.

    Args:
        matches: per-image matches at IoU 0.5 (`CocoMetrics.matches`).
        resamples: number of image resamples drawn.
        confidence: nominal coverage of the interval, within (0, 1).
        seed: seeds the numpy Generator; the same seed gives the same interval.

    Returns:
        The interval, or None when the images hold no truth box or no resample drew one
        (mAP is undefined).

    Raises:
        ConfigError: `resamples` below 1 or `confidence` outside (0, 1).
    """
    if resamples < 1:
        raise ConfigError(f"resamples must be at least 1, got {resamples}")
    if not 0 < confidence < 1:
        raise ConfigError(f"confidence must be within (0, 1), got {confidence}")
    estimate = ap50_from_matches(matches)
    if estimate is None:
        return None
    rng = np.random.default_rng(seed)
    num_images = matches.num_images
    values = []
    for start in range(0, resamples, _BATCH):
        batch = min(_BATCH, resamples - start)
        draws = rng.integers(0, num_images, size=(batch, num_images))
        rows = np.repeat(np.arange(batch), num_images)
        counts = np.bincount(rows * num_images + draws.ravel(), minlength=batch * num_images).reshape(batch, num_images)
        class_ap = per_class_ap50(matches, counts)  # (batch, C), NaN where a class drew no truth
        defined = ~np.isnan(class_ap)
        has_any = defined.any(axis=1)
        values.append(np.nansum(class_ap[has_any], axis=1) / defined[has_any].sum(axis=1))
    samples = np.concatenate(values)
    if not len(samples):
        return None
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(samples, [tail, 100 - tail])
    return MapInterval(estimate=estimate, low=float(low), high=float(high), confidence=confidence, resamples=len(samples))
