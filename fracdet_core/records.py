"""The per-image record types that evaluation, prediction and annotation share: the ground
truth of an image and a model's detections on it.

Boxes are `ymin, xmin, ymax, xmax` normalised to the original image, as the TFRecords store
them and the serving signature returns them; the true image size travels with the truth so
that metrics needing pixels (COCO areas) convert exactly once.
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class ImageTruth:
    """Attributes:
        source_id: the image's path in the source dataset, for galleries and reports.
        width, height: the original image size, pixels.
        boxes: float32 (N, 4) yxyx normalised; N is 0 for an image without labels.
        classes: int32 (N,) fracdet class ids.
        sha256: hex digest of the image file's bytes: who the image is, whatever its path (the
            evaluation's calibration/test partition is keyed on it).
        in_scope: whether the image is within the indications (a radiograph of one of the five
            body parts); an out-of-scope image has no boxes.
        anatomy: "" in scope; else the out-of-scope kind in upper case (CHEST, CT, PHOTO, ...).
    """

    source_id: str
    width: int
    height: int
    boxes: np.ndarray
    classes: np.ndarray
    sha256: str
    in_scope: bool = True
    anatomy: str = ""


@dataclasses.dataclass(frozen=True)
class ImageDetections:
    """Attributes:
        boxes: float32 (K, 4) yxyx normalised to the original image.
        scores: float32 (K,), in [0, 1].
        classes: int32 (K,) fracdet class ids.
        body_part_probabilities: float32 (6,), the image's body part over `classes.SCOPE_PARTS`
            (the five parts, then OTHER); None from a model exported before its signature said.
        in_scope_score: higher is more like the in-scope radiographs it was trained on; None as above.
    """

    boxes: np.ndarray
    scores: np.ndarray
    classes: np.ndarray
    body_part_probabilities: np.ndarray | None = None
    in_scope_score: float | None = None

    @classmethod
    def empty(cls) -> ImageDetections:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int32))
