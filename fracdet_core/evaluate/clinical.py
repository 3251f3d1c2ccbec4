"""Image-level fracture calls, per body part and overall: ROC AUC, operating point, confusion.

A clinician reads a study, not boxes: "does this image show a fracture?". The image's truth
is whether it has any fracture (positive-class) box; its score is the model's most confident
fracture detection. The operating threshold is set for a target sensitivity, since a missed
fracture costs more than a second look at a normal image.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Sequence

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

from fracdet_core import defaults
from fracdet_core.classes import BODY_PARTS, CLASS_NAMES, IS_FRACTURE, describe_class
from fracdet_core.errors import ConfigError
from fracdet_core.evaluate.inputs import check_records
from fracdet_core.records import ImageDetections, ImageTruth

OVERALL = "overall"

_CLASS_PARTS = tuple(describe_class(name)[0] for name in CLASS_NAMES)
_FRACTURE_CLASSES = np.array(IS_FRACTURE)  # (C,) bool


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
        threshold: the operating threshold. A group with fractured images gets its own (see
            `clinical_metrics`); a body part without falls back to the overall threshold, so
            its specificity says how its normal images fare at the overall operating point.
            None when no image at all is fractured.
        sensitivity: at `threshold`; None without fractured images.
        specificity: at `threshold`; None without normal images or threshold.
    """

    n_images: int
    n_fractured: int
    auc: float | None
    roc: RocCurve | None
    threshold: float | None
    sensitivity: float | None
    specificity: float | None


@dataclasses.dataclass(frozen=True)
class ConfusionMatrix:
    """Image-level counts over all images at the overall threshold; fractured is positive."""

    true_positive: int
    false_positive: int
    true_negative: int
    false_negative: int


@dataclasses.dataclass(frozen=True)
class ClinicalMetrics:
    """Attributes:
        groups: every body part of `BODY_PARTS`, then "overall" -> its metrics.
        confusion: at the overall threshold; None when no image is fractured.
        target_sensitivity: the sensitivity the thresholds were chosen to reach.
    """

    groups: dict[str, GroupMetrics]
    confusion: ConfusionMatrix | None
    target_sensitivity: float

    def summary(self) -> dict[str, dict[str, float | int | None]]:
        """The `fracture` block of metrics.json: group -> sensitivity, specificity, auc, threshold."""
        return {
            name: {
                "sensitivity": group.sensitivity,
                "specificity": group.specificity,
                "auc": group.auc,
                "threshold": group.threshold,
                "n_images": group.n_images,
                "n_fractured": group.n_fractured,
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
        counts = collections.Counter(_CLASS_PARTS[class_id] for class_id in classes)
        fractured_parts = {_CLASS_PARTS[class_id] for class_id in classes if _FRACTURE_CLASSES[class_id]}
        parts.append(max(counts, key=lambda part: (counts[part], part in fractured_parts, -BODY_PARTS.index(part))))
    return parts


def clinical_metrics(
    truths: Sequence[ImageTruth], detections: Sequence[ImageDetections], *,
    target_sensitivity: float = defaults.TARGET_SENSITIVITY,
) -> ClinicalMetrics:
    """Image-level fracture metrics per body part and overall.

    An image is fractured when any of its truth boxes is of a positive class. Its score for
    body part P is the highest score of its positive-class detections of P, and its overall
    score the highest of all its positive-class detections; 0 without any. A body part's group
    holds the images of that part (`image_body_parts`) scored for that part; "overall" holds
    every image, those without boxes as normal images.

    The operating threshold of a group is the highest one whose sensitivity on the group's
    images reaches `target_sensitivity`: the score of its k-th most confident fractured image,
    k the fewest fractured images that make the target. Chosen on the evaluated images
    themselves, it reaches the target there by construction; its specificity is the number
    to read.

    Raises:
        ConfigError: `target_sensitivity` outside (0, 1].
        FracdetError, ValueError: see `inputs.check_records`.
    """
    if not 0 < target_sensitivity <= 1:
        raise ConfigError(f"target_sensitivity must be within (0, 1], got {target_sensitivity}")
    check_records(truths, detections)
    parts = np.array(image_body_parts(truths), dtype=object)
    fractured = fractured_images(truths)
    part_scores = np.array([_part_scores(found) for found in detections])  # (I, parts)

    overall_scores = part_scores.max(axis=1)
    overall = _group(fractured, overall_scores, target_sensitivity, fallback_threshold=None)
    groups = {}
    for part_index, part in enumerate(BODY_PARTS):
        in_part = parts == part
        groups[part] = _group(fractured[in_part], part_scores[in_part, part_index], target_sensitivity, overall.threshold)
    groups[OVERALL] = overall

    confusion = None
    if overall.threshold is not None:
        called = overall_scores >= overall.threshold
        confusion = ConfusionMatrix(
            true_positive=int(np.sum(called & fractured)),
            false_positive=int(np.sum(called & ~fractured)),
            true_negative=int(np.sum(~called & ~fractured)),
            false_negative=int(np.sum(~called & fractured)),
        )
    return ClinicalMetrics(groups=groups, confusion=confusion, target_sensitivity=target_sensitivity)


def fractured_images(truths: Sequence[ImageTruth]) -> np.ndarray:
    """bool (I,): whether each image has a fracture (positive-class) truth box."""
    return np.array([bool(_FRACTURE_CLASSES[np.asarray(truth.classes, np.int64)].any()) for truth in truths], bool)


def fracture_scores(detections: Sequence[ImageDetections]) -> np.ndarray:
    """float (I,): each image's most confident fracture detection, whatever the body part; 0 without."""
    return np.array([_part_scores(found).max() for found in detections], np.float64)


def _part_scores(found: ImageDetections) -> np.ndarray:
    """(parts,) the highest positive-class detection score of each body part, 0 without."""
    scores = np.zeros(len(BODY_PARTS))
    for class_id, score in zip(np.asarray(found.classes, np.int64), np.asarray(found.scores, np.float64), strict=True):
        if _FRACTURE_CLASSES[class_id]:
            part_index = BODY_PARTS.index(_CLASS_PARTS[class_id])
            scores[part_index] = max(scores[part_index], score)
    return scores


def _group(fractured: np.ndarray, scores: np.ndarray, target: float, fallback_threshold: float | None) -> GroupMetrics:
    """Metrics of one group: `fractured` bool (n,) truth, `scores` float (n,)."""
    n_fractured = int(fractured.sum())
    n_normal = len(fractured) - n_fractured
    auc, roc = None, None
    if n_fractured and n_normal:
        auc = float(roc_auc_score(fractured, scores))
        false_positive_rate, true_positive_rate, thresholds = roc_curve(fractured, scores)
        roc = RocCurve(false_positive_rate, true_positive_rate, thresholds)
    threshold = _operating_threshold(scores[fractured], target) if n_fractured else fallback_threshold
    sensitivity = float(np.mean(scores[fractured] >= threshold)) if n_fractured else None
    specificity = float(np.mean(scores[~fractured] < threshold)) if n_normal and threshold is not None else None
    return GroupMetrics(len(fractured), n_fractured, auc, roc, threshold, sensitivity, specificity)


def _operating_threshold(fractured_scores: np.ndarray, target: float) -> float:
    """Highest threshold whose sensitivity (share of `fractured_scores` >= it) reaches `target`."""
    descending = np.sort(fractured_scores)[::-1]
    reached = np.arange(1, len(descending) + 1) / len(descending) >= target  # share with the k best
    return float(descending[np.argmax(reached)])
