"""The image-level fracture call, one rule for `fracdet predict`, serving and the evaluation that reports on it.

An image's body part is the model's answer to which part it shows (the most probable of the five
in `body_part_probabilities`), or for a model without that answer the part of its most confident
detection, of either finding; its fracture score is its most confident fracture-class detection
of that body part (0 without); it is called fractured when it has such a detection scoring at
least the body part's operating threshold. The evaluation's sensitivities and specificities are of exactly these calls, so
what it reports is what a user of `predict` gets.

Scores of different body parts are not on one scale (a part's threshold may be 0.2, another's
0.6), so a call also carries its `normalised_score`: the score with its odds divided by the odds
of its part's threshold, which puts every part's threshold at 0.5. The image is called fractured
exactly when that is at least 0.5 (and it has a fracture detection of its part), so the
overall ROC curve of normalised scores passes through the operating point the calls make.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import numpy as np

from fracdet_core.classes import BODY_PARTS, CLASS_NAMES, IS_FRACTURE, describe_class
from fracdet_core.records import ImageDetections

_CLIP = 1e-7  # keeps the log-odds of a score or threshold of 0 or 1 finite
CLASS_PARTS = tuple(describe_class(name)[0] for name in CLASS_NAMES)  # class id -> body part
FRACTURE_CLASSES = np.array(IS_FRACTURE)  # (C,) bool


@dataclasses.dataclass(frozen=True)
class FractureCall:
    """Attributes:
        body_part: the model's answer, else that of the most confident detection; None without either.
        score: the most confident fracture detection of `body_part`, 0 without.
        threshold: the operating threshold of `body_part`.
        fractured: there is such a detection and `score >= threshold`.
    """

    body_part: str | None
    score: float
    threshold: float
    fractured: bool

    @property
    def normalised_score(self) -> float:
        """The score on the scale where every body part's threshold is 0.5: sigmoid(logit(score) - logit(threshold))."""
        if not self.score:
            return 0.0
        return 1.0 / (1.0 + math.exp(_log_odds(self.threshold) - _log_odds(self.score)))


def call_fracture(found: ImageDetections, by_part: Mapping[str, float], fallback: float) -> FractureCall:
    """The call on one image; `by_part`: body part -> threshold, `fallback` for a part not in it (or no part)."""
    classes = np.asarray(found.classes, np.int64)
    scores = np.asarray(found.scores, np.float64)
    if found.body_part_probabilities is not None:
        body_part = BODY_PARTS[int(np.argmax(found.body_part_probabilities[:len(BODY_PARTS)]))]
    else:
        body_part = CLASS_PARTS[classes[np.argmax(scores)]] if len(classes) else None
    threshold = by_part.get(body_part, fallback) if body_part else fallback
    of_part = np.array([FRACTURE_CLASSES[c] and CLASS_PARTS[c] == body_part for c in classes], bool)
    score = float(scores[of_part].max()) if of_part.any() else 0.0
    return FractureCall(body_part, score, threshold, bool(of_part.any()) and score >= threshold)


def _log_odds(probability: float) -> float:
    clipped = min(max(probability, _CLIP), 1.0 - _CLIP)
    return math.log(clipped / (1.0 - clipped))


def part_scores(found: ImageDetections) -> np.ndarray:
    """(parts,) the highest fracture-class detection score of each body part of `BODY_PARTS`, 0 without."""
    scores = np.zeros(len(BODY_PARTS))
    for class_id, score in zip(np.asarray(found.classes, np.int64), np.asarray(found.scores, np.float64), strict=True):
        if FRACTURE_CLASSES[class_id]:
            part_index = BODY_PARTS.index(CLASS_PARTS[class_id])
            scores[part_index] = max(scores[part_index], score)
    return scores
