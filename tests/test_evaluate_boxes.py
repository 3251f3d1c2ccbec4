"""Box conversion to COCO pixels and IoU, by hand."""

from __future__ import annotations

import numpy as np

from fracdet_core.evaluate.boxes import iou_yxyx, yxyx_to_xywh


def test_yxyx_normalised_to_xywh_pixels():
    boxes = np.array([[0.1, 0.2, 0.5, 0.6], [0.0, 0.0, 1.0, 1.0]])  # ymin, xmin, ymax, xmax
    np.testing.assert_allclose(yxyx_to_xywh(boxes, width=200, height=100), [[40, 10, 80, 40], [0, 0, 200, 100]])
    assert yxyx_to_xywh(np.zeros((0, 4)), 10, 10).shape == (0, 4)


def test_iou_by_hand():
    first = np.array([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.5, 0.5]])
    second = np.array([[0.0, 0.0, 1.0, 0.5], [2.0, 2.0, 3.0, 3.0], [0.3, 0.3, 0.3, 0.3]])
    np.testing.assert_allclose(iou_yxyx(first, second), [[0.5, 0.0, 0.0], [0.5, 0.0, 0.0]])
    assert iou_yxyx(first, np.zeros((0, 4))).shape == (2, 0)
    assert iou_yxyx(second[2:], second[2:])[0, 0] == 0.0  # two degenerate boxes: no union, IoU 0
