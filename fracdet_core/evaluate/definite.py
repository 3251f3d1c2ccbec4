"""The second operating point, "definite": per body part, a threshold at a target specificity.

Products in this field show two points on one score: a "suspicious" one at a high sensitivity
(few fractures missed; `clinical.calibrate_thresholds`) and a "definite" one at a high
specificity, where a normal image is rarely called. An image whose score reaches its part's
suspicious threshold is called fractured; it is a definite call when it also reaches the part's
definite threshold.

The definite threshold is chosen on the same calibration half as the suspicious one, from the
scores of its non-fractured images, by the split-conformal rank (`specificity_threshold`), so
that a new normal image, exchangeable with those, stays under it with probability at least the
target. The cases the rank cannot serve are handled on purpose:

- A body part with fewer non-fractured calibration images than the rank needs
  (`min_normal_images`: 19 for a target of 0.95) takes the overall definite threshold, chosen the
  same way over every non-fractured calibration image scored by its most confident fracture
  detection of any part, as a part without fractured calibration images takes the overall
  suspicious threshold. When even all of them are too few, no definite threshold is chosen:
  every fracture call is suspicious.
- A definite threshold below the part's suspicious one would make a definite call of an image
  not called at all; it is raised to the suspicious threshold (every call of that part is then
  definite). Raising a threshold only raises specificity, so the guarantee stands.
- Without a suspicious threshold (no fractured calibration image) there is no call, and no
  definite threshold either.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import numpy as np

from fracdet_core.classes import BODY_PARTS

OWN = "own"  # the part's own non-fractured calibration images chose it
FROM_OVERALL = "overall"  # too few of them: the overall definite threshold
RAISED = "raised_to_suspicious"  # the rank fell below the suspicious threshold, which it takes


@dataclasses.dataclass(frozen=True)
class DefiniteThresholds:
    """Attributes:
        by_part: body part -> its definite threshold, for every part whose threshold is not `overall`.
        overall: that of every other part; None when none was chosen (see the module docstring).
        basis: each body part of `BODY_PARTS` and "overall" -> how its threshold came about
            (`OWN`, `FROM_OVERALL`, `RAISED`); empty when `overall` is None.
    """

    by_part: Mapping[str, float]
    overall: float | None
    basis: Mapping[str, str]

    def for_part(self, part: str | None) -> float | None:
        return self.by_part.get(part, self.overall) if part else self.overall


NO_DEFINITE = DefiniteThresholds({}, None, {})


def min_normal_images(target: float) -> int:
    """The fewest non-fractured calibration images for which `specificity_threshold` keeps its promise."""
    n = 1
    while math.ceil((n + 1) * target - 1e-9) > n:
        n += 1
    return n


def specificity_threshold(normal_scores: np.ndarray, target: float) -> float | None:
    """The threshold a new normal image stays under with probability at least `target`; None for too few scores.

    With the n scores ascending, k = ceil((n + 1) * target): a new score, exchangeable with these,
    is at most the k-th lowest with probability >= k / (n + 1) >= target (the split-conformal
    quantile: Vovk et al., "Algorithmic Learning in a Random World", 2005; Angelopoulos and
    Bates, 2021), and below k / (n + 1) + 1 / (n + 1) when scores do not tie. Calls are made at
    `score >= threshold`, so the threshold is the next float above the k-th lowest (1 at most).
    When k > n (n < `min_normal_images(target)`) no rank keeps the promise: None.
    """
    ascending = np.sort(np.asarray(normal_scores, np.float64))
    rank = math.ceil((len(ascending) + 1) * target - 1e-9)
    if rank > len(ascending) or rank < 1:
        return None
    return float(min(np.nextafter(ascending[rank - 1], np.inf), 1.0))


def definite_thresholds(
    parts: np.ndarray, fractured: np.ndarray, scores: np.ndarray,
    suspicious_by_part: Mapping[str, float], suspicious_overall: float | None, target_specificity: float,
) -> DefiniteThresholds:
    """The definite thresholds of these (calibration) images; the rules in the module docstring.

    Args:
        parts: object (I,), each image's body part (`clinical.image_body_parts`), None without boxes.
        fractured: bool (I,) truth.
        scores: float (I, parts) each image's most confident fracture detection per body part of `BODY_PARTS`.
        suspicious_by_part, suspicious_overall: the suspicious thresholds chosen on the same images.
        target_specificity: within (0, 1].
    """
    if suspicious_overall is None:
        return NO_DEFINITE
    overall = specificity_threshold(scores.max(axis=1)[~fractured], target_specificity)
    if overall is None:
        return NO_DEFINITE
    basis = {"overall": RAISED if overall < suspicious_overall else OWN}
    overall = max(overall, suspicious_overall)
    by_part = {}
    for part_index, part in enumerate(BODY_PARTS):
        own = specificity_threshold(scores[(parts == part) & ~fractured, part_index], target_specificity)
        chosen, basis[part] = (own, OWN) if own is not None else (overall, FROM_OVERALL)
        suspicious = suspicious_by_part.get(part, suspicious_overall)
        if chosen < suspicious:
            chosen, basis[part] = suspicious, RAISED
        if basis[part] != FROM_OVERALL:
            by_part[part] = chosen
    return DefiniteThresholds(by_part, overall, basis)
