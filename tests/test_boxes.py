"""Box conversions between the named formats, and IoU, by hand."""

from __future__ import annotations

import numpy as np
import pytest

from fracdet_core.boxes import cxcywh_to_xyxy, iou_yxyx, polygon_to_xyxy, xyxy_to_cxcywh, yxyx_to_xywh


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


def test_yolo_centre_and_size_to_corners():
    assert cxcywh_to_xyxy(0.5, 0.5, 0.2, 0.4) == pytest.approx((0.4, 0.3, 0.6, 0.7))
    assert cxcywh_to_xyxy(0.1, 0.9, 0.2, 0.2) == pytest.approx((0.0, 0.8, 0.2, 1.0))


def test_corners_back_to_the_yolo_centre_and_size():
    assert xyxy_to_cxcywh(0.1, 0.2, 0.5, 0.8) == pytest.approx((0.3, 0.5, 0.4, 0.6))
    assert cxcywh_to_xyxy(*xyxy_to_cxcywh(0.1, 0.2, 0.5, 0.8)) == pytest.approx((0.1, 0.2, 0.5, 0.8))


def test_a_polygon_stands_for_its_bounding_box():
    assert polygon_to_xyxy([0.1, 0.3, 0.2], [0.2, 0.2, 0.6]) == (0.1, 0.2, 0.3, 0.6)
