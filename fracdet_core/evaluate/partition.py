"""The fixed split of the evaluated images into a calibration half and a test half.

An operating threshold chosen on the images its sensitivity is then reported on meets the
target there by construction, so the figure says nothing. The evaluation therefore chooses the
thresholds on one half of the split and reports every figure on the other.

The rule needs nothing but the images themselves, so it holds for any dataset (the real one
has only train and val) and gives the same halves to every model evaluated on the same data:
images are grouped by stratum, (body part of their truth boxes, fractured or not), the strata
taken in `BODY_PARTS` order (normal before fractured, in-scope images without boxes next, then
out-of-scope images by anatomy, so that they never shift an in-scope image's half), each ordered
by the sha256 of its image bytes (then its source id), and the images so ordered are dealt
alternately, calibration first. Each stratum is so split within one image, and the two halves
within one image overall: both hold fractured images of every body part that has two or more.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TypeVar

import numpy as np

from fracdet_core.classes import BODY_PARTS
from fracdet_core.evaluate.clinical import fractured_images, image_body_parts
from fracdet_core.records import ImageTruth

CALIBRATION = "calibration"
TEST = "test"
RULE = ("strata (body part of the truth boxes, fractured or not) in BODY_PARTS order, in-scope images without boxes "
        "next, out-of-scope images by anatomy last; "
        "within each stratum images ordered by sha256 of their bytes, then source id; "
        "dealt alternately to calibration and test, calibration first")
UNLABELLED = "none"  # the stratum name of images without boxes

Item = TypeVar("Item")


@dataclasses.dataclass(frozen=True)
class Partition:
    """Attributes:
        calibration, test: int64 indices into the evaluated images, ascending; disjoint, together all.
    """

    calibration: np.ndarray
    test: np.ndarray

    def halves(self) -> dict[str, np.ndarray]:
        return {CALIBRATION: self.calibration, TEST: self.test}


def partition_images(truths: Sequence[ImageTruth]) -> Partition:
    """The calibration and test halves of `truths` by the rule of the module docstring."""
    parts = image_body_parts(truths)
    fractured = fractured_images(truths)
    strata = [_stratum_rank(part, bool(broken), truth) for part, broken, truth in zip(parts, fractured, truths, strict=True)]
    order = sorted(range(len(truths)), key=lambda i: (strata[i], truths[i].sha256, truths[i].source_id))
    dealt = np.array(order, np.int64)
    return Partition(calibration=np.sort(dealt[0::2]), test=np.sort(dealt[1::2]))


def take(items: Sequence[Item], indices: np.ndarray) -> list[Item]:
    """The items at `indices`, in that order."""
    return [items[int(index)] for index in indices]


def partition_summary(truths: Sequence[ImageTruth], partition: Partition) -> dict:
    """metrics.json's `partition` block: the rule, then per half its in-scope images and fractured images, in all and
    per part, and its out-of-scope images (which the fracture figures leave out)."""
    parts = np.array([part or UNLABELLED for part in image_body_parts(truths)], dtype=object)
    fractured = fractured_images(truths)
    in_scope = np.array([truth.in_scope for truth in truths], bool)
    summary: dict = {"rule": RULE, "images": int(in_scope.sum()), "out_of_scope": int((~in_scope).sum())}
    for name, indices in partition.halves().items():
        kept = indices[in_scope[indices]]
        in_half, broken = parts[kept], fractured[kept]
        summary[name] = {
            "images": len(kept),
            "out_of_scope": len(indices) - len(kept),
            "fractured": int(broken.sum()),
            "by_part": {part: {"images": int(np.sum(in_half == part)), "fractured": int(np.sum(broken[in_half == part]))}
                        for part in (*BODY_PARTS, UNLABELLED)},
        }
    return summary


def _stratum_rank(part: str | None, fractured: bool, truth: ImageTruth) -> tuple[int, bool, str]:
    if not truth.in_scope:
        return (len(BODY_PARTS) + 1, False, truth.anatomy)
    return (BODY_PARTS.index(part) if part else len(BODY_PARTS), fractured, "")
