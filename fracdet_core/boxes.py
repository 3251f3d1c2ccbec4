"""The box formats fracdet meets, by name, and the conversions and overlap between them.

- `cxcywh`: Ultralytics YOLO label files, `cx, cy, w, h`: centre and size, normalised to [0, 1].
- polygon: the other Ultralytics label line, `x1 y1 x2 y2 ...` normalised; it stands for its bounding box.
- `xyxy`: `xmin, ymin, xmax, ymax` normalised, what ingest's label parser returns (`LabelBox`).
- `yxyx`: `ymin, xmin, ymax, xmax` normalised to the image, the canonical format: the TFRecords
  (the TF Object Detection API's order), the training targets, the serving signature's
  `detection_boxes`, evaluation and prediction records.
- `xywh`: COCO's `x, y, width, height` in absolute pixels of the original image.

A label line is one box (floats); records and metrics hold many (numpy arrays (N, 4)).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def cxcywh_to_xyxy(cx: float, cy: float, w: float, h: float) -> tuple[float, float, float, float]:
    """A YOLO centre and size to its corners `xmin, ymin, xmax, ymax`, in the same units."""
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def xyxy_to_cxcywh(xmin: float, ymin: float, xmax: float, ymax: float) -> tuple[float, float, float, float]:
    """Corners to a YOLO centre and size, in the same units."""
    return (xmin + xmax) / 2, (ymin + ymax) / 2, xmax - xmin, ymax - ymin


def polygon_to_xyxy(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float, float, float]:
    """The bounding box `xmin, ymin, xmax, ymax` of a polygon's points."""
    return min(xs), min(ys), max(xs), max(ys)


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
