"""Whether the model keeps what it is for and turns away what it is not: the in-scope threshold and its figures.

The in-scope threshold is chosen on the calibration half so that a stated share of in-scope
images is kept (`target_kept`, default 0.99): the split-conformal rank of the in-scope images'
scores, the rule the fracture thresholds use (`clinical.split_conformal_threshold`), so the
share holds on new images, not only on these. The test half then says what was kept per body
part (by its truth boxes; "unlabelled" for in-scope images without boxes) and what was turned
away per out-of-scope anatomy. No threshold is chosen (every figure None, and the file of
operating thresholds says so) for a model without the indications output, and for a split whose
calibration half holds no in-scope or no out-of-scope image: a model trained without
out-of-scope images has learned no OTHER, its in-scope scores all round to 1, and a threshold of
1 chosen from them would turn away in-scope images for a rounding.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Sequence

import numpy as np

from fracdet_core import defaults
from fracdet_core.errors import ConfigError
from fracdet_core.evaluate.clinical import image_body_parts, split_conformal_threshold
from fracdet_core.records import ImageDetections, ImageTruth

UNLABELLED = "unlabelled"  # the group of in-scope images without boxes, whose body part the truth does not say


@dataclasses.dataclass(frozen=True)
class InScopeThreshold:
    """Attributes:
        threshold: an image is in scope when its `in_scope_score` reaches it; None when none was chosen.
        target_kept: the share of in-scope images it was chosen to keep.
        calibration_in_scope_images: the in-scope images it was chosen on.
    """

    threshold: float | None
    target_kept: float
    calibration_in_scope_images: int


def choose_in_scope_threshold(
    truths: Sequence[ImageTruth], detections: Sequence[ImageDetections], target_kept: float = defaults.TARGET_IN_SCOPE_KEPT,
) -> InScopeThreshold:
    """The threshold that keeps `target_kept` of new in-scope images, chosen on these (calibration) images.

    Raises:
        ConfigError: `target_kept` outside (0, 1).
    """
    if not 0 < target_kept < 1:
        raise ConfigError(f"target_in_scope_kept must be within (0, 1), got {target_kept}")
    scores = [found.in_scope_score for truth, found in zip(truths, detections, strict=True) if truth.in_scope]
    shown_what_is_out = not all(truth.in_scope for truth in truths)
    if not scores or not shown_what_is_out or any(score is None for score in scores):
        return InScopeThreshold(None, target_kept, len(scores))
    return InScopeThreshold(split_conformal_threshold(np.asarray(scores, np.float64), target_kept), target_kept, len(scores))


def indications_summary(
    truths: Sequence[ImageTruth], detections: Sequence[ImageDetections], chosen: InScopeThreshold
) -> dict:
    """metrics.json's `indications`: the threshold and the test half's kept and rejected shares.

    `in_scope_kept`: per body part and overall, the share of in-scope images whose score reaches
    the threshold; `out_of_scope_rejected`: per anatomy and overall, the share of out-of-scope
    images whose score does not; each group with its image count. None where nothing was chosen.
    """
    kept: dict[str, list[bool]] = collections.defaultdict(list)
    rejected: dict[str, list[bool]] = collections.defaultdict(list)
    measured = chosen.threshold is not None
    for truth, part, found in zip(truths, image_body_parts(truths), detections, strict=True):
        if not measured:
            break
        passes = bool(found.in_scope_score >= chosen.threshold)
        if truth.in_scope:
            kept[part or UNLABELLED].append(passes)
        else:
            rejected[truth.anatomy or "unnamed"].append(not passes)
    return {
        "in_scope_threshold": chosen.threshold,
        "target_in_scope_kept": chosen.target_kept,
        "calibration_in_scope_images": chosen.calibration_in_scope_images,
        "in_scope_kept": _shares(kept) if measured else None,
        "out_of_scope_rejected": _shares(rejected) if measured else None,
    }


def _shares(groups: dict[str, list[bool]]) -> dict[str, dict[str, float | int | None]]:
    """Per group and overall: the share of images that came out right, and how many there were."""
    everything = [value for values in groups.values() for value in values]
    table = dict(sorted(groups.items()))
    table["overall"] = everything
    return {name: {"share": float(np.mean(values)) if values else None, "images": len(values)}
            for name, values in table.items()}
