"""Lesion-level FROC: how many fractures are found at how many false alarms per image.

Free-response ROC (Chakraborty, "Maximum likelihood analysis of free-response receiver
operating characteristic (FROC) data", Med. Phys. 1989) is how lesion detectors are compared
in radiology: the reader cares how many fractures are marked and how many false marks each
image costs, not about box precision. The fixed FP/image points are those of the LUNA16 and
ANODE09 challenges.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from fracdet_core.boxes import iou_yxyx
from fracdet_core.classes import IS_FRACTURE
from fracdet_core.errors import ConfigError
from fracdet_core.evaluate.inputs import check_records
from fracdet_core.records import ImageDetections, ImageTruth

FP_PER_IMAGE_POINTS: tuple[float, ...] = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)

_FRACTURE_CLASSES = np.array(IS_FRACTURE)  # (C,) bool


@dataclasses.dataclass(frozen=True)
class Froc:
    """Attributes:
        thresholds: float64 (P,) score thresholds, descending, the first +inf; at each, the
            detections with score >= threshold count.
        sensitivity: float64 (P,) found fractures / all fractures; NaN without fractures.
        fp_per_image: float64 (P,) false positives / number of images.
        sensitivity_at: FP/image point -> the best sensitivity of a threshold whose FP/image
            is at most the point; None without fractures.
        num_fractures: truth boxes of fracture (positive) classes.
        num_images: all evaluated images, with or without fractures.
        iou_threshold: the overlap a detection needs to find a fracture.
    """

    thresholds: np.ndarray
    sensitivity: np.ndarray
    fp_per_image: np.ndarray
    sensitivity_at: dict[float, float | None]
    num_fractures: int
    num_images: int
    iou_threshold: float


def froc_curve(
    truths: Sequence[ImageTruth],
    detections: Sequence[ImageDetections],
    *,
    iou_threshold: float = 0.3,
    fp_per_image_points: Sequence[float] = FP_PER_IMAGE_POINTS,
) -> Froc:
    """FROC curve of fracture detections.

    A fracture is a truth box of a positive class, a candidate a detection of a positive
    class. Within each image, candidates are taken best score first (ties in input order); a
    candidate is a hit when it overlaps a fracture of its own class (so its own body part)
    not yet found, at IoU >= `iou_threshold`, and then finds the one it overlaps most;
    otherwise it is a false positive, including a second mark on a found fracture.
    Negative-class detections are not candidates: they mark examined regions, not findings.

    `sensitivity_at[x]` is the sensitivity of the lowest threshold that keeps FP/image <= x:
    the most a user can get within that false-alarm budget. When even all candidates stay
    under the budget, it is the sensitivity with all of them.

    Raises:
        ConfigError: `iou_threshold` outside (0, 1].
        FracdetError, ValueError: see `inputs.check_records`.
    """
    if not 0 < iou_threshold <= 1:
        raise ConfigError(f"iou_threshold must be within (0, 1], got {iou_threshold}")
    check_records(truths, detections)
    scores, hits, num_fractures = _ranked_candidates(truths, detections, iou_threshold)
    # One curve point per distinct score: a threshold takes all candidates tied at it.
    last_of_tie = np.flatnonzero(np.append(scores[1:] != scores[:-1], True)) if len(scores) else np.zeros(0, np.int64)
    found = np.concatenate([[0], np.cumsum(hits)[last_of_tie]])
    false_positives = np.concatenate([[0], np.cumsum(~hits)[last_of_tie]])
    fp_per_image = false_positives / len(truths)
    sensitivity = found / num_fractures if num_fractures else np.full(len(found), np.nan)
    sensitivity_at = {
        float(point): float(sensitivity[fp_per_image <= point].max()) if num_fractures else None for point in fp_per_image_points
    }
    return Froc(
        thresholds=np.concatenate([[np.inf], scores[last_of_tie]]),
        sensitivity=sensitivity,
        fp_per_image=fp_per_image,
        sensitivity_at=sensitivity_at,
        num_fractures=num_fractures,
        num_images=len(truths),
        iou_threshold=iou_threshold,
    )


def _ranked_candidates(
    truths: Sequence[ImageTruth], detections: Sequence[ImageDetections], iou_threshold: float
) -> tuple[np.ndarray, np.ndarray, int]:
    """Every image's candidates, best score first (ties in input order): (scores (K,), hit flags (K,), fractures)."""
    scores, hits, num_fractures = [], [], 0
    for truth, found in zip(truths, detections, strict=True):
        image_scores, image_hits, image_fractures = _match_image(truth, found, iou_threshold)
        scores.append(image_scores)
        hits.append(image_hits)
        num_fractures += image_fractures
    scores, hits = np.concatenate(scores), np.concatenate(hits)
    order = np.argsort(-scores, kind="mergesort")
    return scores[order], hits[order], num_fractures


def _match_image(truth: ImageTruth, found: ImageDetections, iou_threshold: float) -> tuple[np.ndarray, np.ndarray, int]:
    """One image's candidates: (scores (K',), hit flags (K',), number of fractures)."""
    truth_classes = np.asarray(truth.classes, np.int64)
    fracture_mask = _FRACTURE_CLASSES[truth_classes]
    fracture_boxes = np.asarray(truth.boxes).reshape(-1, 4)[fracture_mask]
    fracture_classes = truth_classes[fracture_mask]

    found_classes = np.asarray(found.classes, np.int64)
    candidate_mask = _FRACTURE_CLASSES[found_classes]
    candidate_scores = np.asarray(found.scores, np.float64)[candidate_mask]
    order = np.argsort(-candidate_scores, kind="mergesort")
    candidate_scores = candidate_scores[order]
    candidate_boxes = np.asarray(found.boxes).reshape(-1, 4)[candidate_mask][order]
    candidate_classes = found_classes[candidate_mask][order]

    overlaps = iou_yxyx(candidate_boxes, fracture_boxes)  # (K', F)
    is_found = np.zeros(len(fracture_boxes), bool)
    hits = np.zeros(len(candidate_scores), bool)
    for candidate, overlap in enumerate(overlaps):
        eligible = (fracture_classes == candidate_classes[candidate]) & ~is_found & (overlap >= iou_threshold)
        if eligible.any():
            is_found[np.argmax(np.where(eligible, overlap, -1.0))] = True
            hits[candidate] = True
    return candidate_scores, hits, len(fracture_boxes)
