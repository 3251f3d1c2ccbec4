"""Box conversions and overlaps that the metrics need, named by format.

The records hold `yxyx` boxes normalised to the image (`ymin, xmin, ymax, xmax` in [0, 1]);
COCO wants absolute `xywh` pixels (`x, y, width, height`), so the conversion lives here once.
"""

from __future__ import annotations

import numpy as np


def yxyx_to_xywh(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    """Normalised `ymin, xmin, ymax, xmax` (N, 4) to absolute COCO `x, y, w, h` (N, 4) pixels.

    The scale is the original image's size, so that COCO areas (and with them its area
    ranges) mean the same pixels as in the source dataset.
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    ymin, xmin, ymax, xmax = boxes.T
    return np.stack([xmin * width, ymin * height, (xmax - xmin) * width, (ymax - ymin) * height], axis=1)


def iou_yxyx(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Intersection over union of every pair: `first` (N, 4) and `second` (M, 4) -> (N, M).

    Both in `ymin, xmin, ymax, xmax`, in the same units. Normalised coordinates give the same
    IoU as pixels: scaling each axis scales intersection and union alike. Pairs whose union is
    empty (two degenerate boxes) have IoU 0.
    """
    first = np.asarray(first, np.float64).reshape(-1, 4)
    second = np.asarray(second, np.float64).reshape(-1, 4)
    top = np.maximum(first[:, None, 0], second[None, :, 0])
    left = np.maximum(first[:, None, 1], second[None, :, 1])
    bottom = np.minimum(first[:, None, 2], second[None, :, 2])
    right = np.minimum(first[:, None, 3], second[None, :, 3])
    intersection = np.clip(bottom - top, 0, None) * np.clip(right - left, 0, None)  # (N, M)
    area_first = (first[:, 2] - first[:, 0]) * (first[:, 3] - first[:, 1])
    area_second = (second[:, 2] - second[:, 0]) * (second[:, 3] - second[:, 1])
    union = area_first[:, None] + area_second[None, :] - intersection
    return np.divide(intersection, union, out=np.zeros_like(intersection), where=union > 0)
