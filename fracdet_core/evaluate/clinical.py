"""Image-level fracture calls, per body part and overall: ROC AUC, operating thresholds, confusion.

A clinician reads a study, not boxes: "does this image show a fracture?". The image's truth
is whether it has any fracture (positive-class) box. The operating thresholds are set for a
target sensitivity, since a missed fracture costs more than a second look at a normal image,
and they are chosen on other images (the calibration half, `partition`) than the ones the
figures are reported on: on its own images a threshold reaches the target by construction.

Sensitivity, specificity and the confusion counts are of the calls `fracdet predict` makes
(`fracture_call`: the body part of the most confident detection, that part's threshold), so
the overall row uses the per-body-part thresholds as serving does. A body part's ROC scores its
images by that part's most confident fracture detection. The overall ROC scores every image by
its call's `normalised_score` (each part's threshold at 0.5), so its curve is of the rule the
calls apply, with its operating point on it; pooling raw scores would rank one part's images
against another's on scales that differ by part. Without thresholds (no fractured calibration
image) it falls back to each image's most confident fracture detection of any part.

These are the "suspicious" operating point. Each group also reports the "definite" one
(`evaluate.definite`): the calls whose score reaches the part's threshold at the target
specificity, chosen on the same calibration half.
"""

from __future__ import annotations

import collections
import dataclasses
import math
from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

from fracdet_core import defaults
from fracdet_core.classes import BODY_PARTS
from fracdet_core.errors import ConfigError
from fracdet_core.evaluate.definite import NO_DEFINITE, DefiniteThresholds, definite_thresholds
from fracdet_core.evaluate.fracture_call import CLASS_PARTS, FRACTURE_CLASSES, call_fracture, part_scores
from fracdet_core.evaluate.inputs import check_records
from fracdet_core.records import ImageDetections, ImageTruth

OVERALL = "overall"


@dataclasses.dataclass(frozen=True)
class CalibratedThresholds:
    """The operating thresholds, chosen on calibration images (`calibrate_thresholds`).

    Attributes:
        by_part: body part -> its threshold, for the parts with fractured calibration images.
        overall: the threshold of every other part; None when no calibration image is fractured,
            and then no image is called.
        target_sensitivity: the sensitivity they were chosen to reach.
        definite: the second operating point's thresholds, at `target_specificity` (`evaluate.definite`).
        target_specificity: the specificity those were chosen to reach.
    """

    by_part: Mapping[str, float]
    overall: float | None
    target_sensitivity: float
    definite: DefiniteThresholds = NO_DEFINITE
    target_specificity: float = defaults.TARGET_SPECIFICITY

    def for_part(self, part: str) -> float | None:
        return self.by_part.get(part, self.overall)


@dataclasses.dataclass(frozen=True)
class RocCurve:
    """scikit-learn's `roc_curve`: an image is called fractured when its score >= threshold.

    Attributes:
        false_positive_rate, true_positive_rate, thresholds: float64 (P,) each.
    """

    false_positive_rate: np.ndarray
    true_positive_rate: np.ndarray
    thresholds: np.ndarray


@dataclasses.dataclass(frozen=True)
class GroupMetrics:
    """Image-level metrics of one body part, or of all images ("overall").

    Attributes:
        n_images: images in the group.
        n_fractured: of them, images with a fracture box.
        auc: ROC AUC; None unless the group has both fractured and normal images.
        roc: the ROC curve; None when `auc` is.
        threshold: the operating threshold (`CalibratedThresholds.for_part`; overall: the one of
            the parts without their own). None when no calibration image was fractured.
        sensitivity: share of the fractured images called fractured; None without fractured
            images or threshold.
        specificity: share of the normal images not called fractured; None without normal
            images or threshold.
        definite_threshold, definite_sensitivity, definite_specificity: the same three at the
            definite operating point (`evaluate.definite`); None where it has no threshold.
    """

    n_images: int
    n_fractured: int
    auc: float | None
    roc: RocCurve | None
    threshold: float | None
    sensitivity: float | None
    specificity: float | None
    definite_threshold: float | None = None
    definite_sensitivity: float | None = None
    definite_specificity: float | None = None


@dataclasses.dataclass(frozen=True)
class ConfusionMatrix:
    """Image-level counts of the calls over all images; fractured is positive."""

    true_positive: int
    false_positive: int
    true_negative: int
    false_negative: int


@dataclasses.dataclass(frozen=True)
class ClinicalMetrics:
    """Attributes:
        groups: every body part of `BODY_PARTS`, then "overall" -> its metrics.
        confusion: of the calls; None when no threshold was chosen.
        target_sensitivity: the sensitivity the thresholds were chosen to reach.
        target_specificity: the specificity the definite thresholds were chosen to reach.
        definite_basis: group -> how its definite threshold came about (`DefiniteThresholds.basis`).
    """

    groups: dict[str, GroupMetrics]
    confusion: ConfusionMatrix | None
    target_sensitivity: float
    target_specificity: float = defaults.TARGET_SPECIFICITY
    definite_basis: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def summary(self) -> dict[str, dict]:
        """The `fracture` block of metrics.json: group -> sensitivity, specificity, auc, threshold (the
        suspicious point), and `definite`: threshold, sensitivity, specificity and basis at the definite point."""
        return {
            name: {
                "sensitivity": group.sensitivity,
                "specificity": group.specificity,
                "auc": group.auc,
                "threshold": group.threshold,
                "n_images": group.n_images,
                "n_fractured": group.n_fractured,
                "definite": {"threshold": group.definite_threshold, "sensitivity": group.definite_sensitivity,
                             "specificity": group.definite_specificity, "basis": self.definite_basis.get(name)},
            }
            for name, group in self.groups.items()
        }


def image_body_parts(truths: Sequence[ImageTruth]) -> list[str | None]:
    """The body part each image shows, from its truth boxes; None for an image without boxes.

    An image whose boxes name several parts takes the most frequent; a tie goes to a part
    with a fracture box (the finding the study is about), then to the first in `BODY_PARTS`.
    """
    parts: list[str | None] = []
    for truth in truths:
        classes = np.asarray(truth.classes, np.int64)
        if not len(classes):
            parts.append(None)
            continue
        counts = collections.Counter(CLASS_PARTS[class_id] for class_id in classes)
        fractured_parts = {CLASS_PARTS[class_id] for class_id in classes if FRACTURE_CLASSES[class_id]}
        parts.append(max(counts, key=lambda part: (counts[part], part in fractured_parts, -BODY_PARTS.index(part))))
    return parts


def calibrate_thresholds(
    truths: Sequence[ImageTruth], detections: Sequence[ImageDetections], *,
    target_sensitivity: float = defaults.TARGET_SENSITIVITY,
    target_specificity: float = defaults.TARGET_SPECIFICITY,
) -> CalibratedThresholds:
    """The operating thresholds that reach `target_sensitivity` on these (calibration) images, and the definite ones.

    A body part's threshold is chosen on the images of that part (`image_body_parts`) with
    fractured images among them, scored by that part's most confident fracture detection; the
    overall threshold, for the other parts, on all images scored by their most confident
    fracture detection. Each is chosen so that the target holds, in expectation, on fractured
    images these were not (`split_conformal_threshold`), not only on these. The definite thresholds,
    at `target_specificity`, are chosen on the same images (`definite.definite_thresholds`).

    Raises:
        ConfigError: `target_sensitivity` or `target_specificity` outside (0, 1].
        FracdetError, ValueError: see `inputs.check_records`.
    """
    if not 0 < target_sensitivity <= 1:
        raise ConfigError(f"target_sensitivity must be within (0, 1], got {target_sensitivity}")
    if not 0 < target_specificity <= 1:
        raise ConfigError(f"target_specificity must be within (0, 1], got {target_specificity}")
    parts, fractured, scores = _image_table(truths, detections)
    by_part = {}
    for part_index, part in enumerate(BODY_PARTS):
        chosen = (parts == part) & fractured
        if chosen.any():
            by_part[part] = split_conformal_threshold(scores[chosen, part_index], target_sensitivity)
    overall = split_conformal_threshold(scores.max(axis=1)[fractured], target_sensitivity) if fractured.any() else None
    definite = definite_thresholds(parts, fractured, scores, by_part, overall, target_specificity)
    return CalibratedThresholds(by_part, overall, target_sensitivity, definite, target_specificity)


def clinical_metrics(
    truths: Sequence[ImageTruth], detections: Sequence[ImageDetections], thresholds: CalibratedThresholds
) -> ClinicalMetrics:
    """Image-level fracture metrics per body part and overall, of the calls made at `thresholds`.

    A body part's group holds the images of that part (`image_body_parts`); "overall" holds
    every image, those without boxes as normal images.

    Raises:
        FracdetError, ValueError: see `inputs.check_records`.
    """
    parts, fractured, scores = _image_table(truths, detections)
    calls, overall_scores = None, scores.max(axis=1)
    if thresholds.overall is not None:
        made = [call_fracture(found, thresholds.by_part, thresholds.overall) for found in detections]
        calls = np.array([call.fractured for call in made], bool)
        overall_scores = np.array([call.normalised_score for call in made], np.float64)
    definite = thresholds.definite
    definite_calls = None if definite.overall is None else np.array(
        [call_fracture(found, definite.by_part, definite.overall).fractured for found in detections], bool)
    groups = {}
    for part_index, part in enumerate(BODY_PARTS):
        in_part = parts == part
        groups[part] = _with_definite(
            _group(fractured[in_part], scores[in_part, part_index], None if calls is None else calls[in_part],
                   thresholds.for_part(part)),
            fractured[in_part], None if definite_calls is None else definite_calls[in_part], definite.for_part(part))
    groups[OVERALL] = _with_definite(_group(fractured, overall_scores, calls, thresholds.overall),
                                     fractured, definite_calls, definite.overall)
    confusion = None if calls is None else ConfusionMatrix(
        true_positive=int(np.sum(calls & fractured)), false_positive=int(np.sum(calls & ~fractured)),
        true_negative=int(np.sum(~calls & ~fractured)), false_negative=int(np.sum(~calls & fractured)),
    )
    return ClinicalMetrics(groups=groups, confusion=confusion, target_sensitivity=thresholds.target_sensitivity,
                           target_specificity=thresholds.target_specificity, definite_basis=dict(definite.basis))


def _image_table(truths: Sequence[ImageTruth], detections: Sequence[ImageDetections]) -> tuple[np.ndarray, ...]:
    """(body part object (I,), fractured bool (I,), per-part fracture scores float (I, parts)), inputs checked."""
    check_records(truths, detections)
    parts = np.array(image_body_parts(truths), dtype=object)
    scores = np.array([part_scores(found) for found in detections]).reshape(len(detections), len(BODY_PARTS))
    return parts, fractured_images(truths), scores


def _group(fractured: np.ndarray, scores: np.ndarray, calls: np.ndarray | None, threshold: float | None) -> GroupMetrics:
    """Metrics of one group: `fractured` bool (n,) truth, `scores` float (n,), `calls` bool (n,) or None."""
    n_fractured = int(fractured.sum())
    n_normal = len(fractured) - n_fractured
    auc, roc = None, None
    if n_fractured and n_normal:
        auc = float(roc_auc_score(fractured, scores))
        roc = RocCurve(*roc_curve(fractured, scores))
    sensitivity = float(np.mean(calls[fractured])) if n_fractured and calls is not None else None
    specificity = float(np.mean(~calls[~fractured])) if n_normal and calls is not None else None
    return GroupMetrics(len(fractured), n_fractured, auc, roc, threshold, sensitivity, specificity)


def _with_definite(group: GroupMetrics, fractured: np.ndarray, calls: np.ndarray | None, threshold: float | None) -> GroupMetrics:
    """`group` with its definite point: `calls` bool (n,) made at the definite thresholds, None without them."""
    if calls is None:
        return group
    sensitivity = float(np.mean(calls[fractured])) if fractured.any() else None
    specificity = float(np.mean(~calls[~fractured])) if (~fractured).any() else None
    return dataclasses.replace(group, definite_threshold=threshold, definite_sensitivity=sensitivity,
                               definite_specificity=specificity)


def fractured_images(truths: Sequence[ImageTruth]) -> np.ndarray:
    """bool (I,): whether each image has a fracture (positive-class) truth box."""
    return np.array([bool(FRACTURE_CLASSES[np.asarray(truth.classes, np.int64)].any()) for truth in truths], bool)


def fracture_scores(detections: Sequence[ImageDetections]) -> np.ndarray:
    """float (I,): each image's most confident fracture detection, whatever the body part; 0 without."""
    return np.array([part_scores(found).max() for found in detections], np.float64)


def split_conformal_threshold(scores: np.ndarray, target: float) -> float:
    """The j-th lowest of the n `scores`, j = floor((n + 1) * (1 - target)), at least 1.

    `scores` are those of the images that should reach the threshold: the fractured ones for a
    fracture threshold, the in-scope ones for the in-scope threshold (`evaluate.indications`).
    A new fractured image, exchangeable with these n, scores at least the j-th lowest of them
    with probability (n + 1 - j) / (n + 1) >= target (the split-conformal quantile: Vovk et
    al., "Algorithmic Learning in a Random World", 2005; Angelopoulos and Bates, 2021). The
    highest threshold that reaches the target on these images themselves sits one rank higher
    for most n and expects less elsewhere: with 11 fractured forearms and a target of 0.9 it is
    the 2nd lowest score, which a new fractured forearm reaches with probability 10/12 = 0.83.
    Below 1 / (1 - target) - 1 images (9 for 0.9) no rank keeps the promise; the lowest is taken.
    """
    ascending = np.sort(scores)
    rank = min(max(1, math.floor((len(ascending) + 1) * (1.0 - target) + 1e-9)), len(ascending))
    return float(ascending[rank - 1])
