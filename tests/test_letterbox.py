"""The letterbox both ways: what training does to an image and its boxes, serving undoes exactly.

Training letterboxes with `letterbox` and the signature maps its boxes back with `to_original`;
both take the geometry from `placement`, and these tests hold them to each other on sizes where
rounding decides a pixel: odd sides, 1-pixel-wide images, sides that scale to exactly half a pixel.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from fracdet_core.serving.letterbox import letterbox, placement, to_original

SIZE = 128
# (height, width): landscape and portrait, square, odd sides, 1-pixel lines, 1.5 and 2.5 px after scaling (round half to even)
SHAPES = [(100, 200), (300, 150), (64, 64), (77, 513), (127, 255), (129, 128), (1, 1), (1, 1000), (1000, 1), (3, 1000),
          (256, 3), (256, 5), (5, 7)]


def _boxes(seed: int) -> tf.Tensor:
    """Boxes `ymin, xmin, ymax, xmax` normalised: random ones, the whole image, and a corner point."""
    corners = np.sort(np.random.default_rng(seed).random((6, 2, 2)), axis=1).reshape(6, 4)[:, [0, 2, 1, 3]]
    return tf.constant(np.concatenate([corners, [[0, 0, 1, 1], [1, 1, 1, 1]]]), tf.float32)


@pytest.mark.parametrize(("height", "width"), SHAPES)
def test_serving_maps_the_training_boxes_back_to_the_original(height, width):
    boxes = _boxes(height * 7919 + width)
    _, letterboxed = letterbox(tf.zeros([height, width, 1]), boxes, SIZE)
    back = to_original(letterboxed * SIZE, height, width, SIZE)
    np.testing.assert_allclose(back.numpy(), boxes.numpy(), atol=1e-5)


@pytest.mark.parametrize(("height", "width"), SHAPES)
def test_the_pixels_land_where_the_boxes_say(height, width):
    canvas, whole = letterbox(tf.ones([height, width, 1]), tf.constant([[0.0, 0.0, 1.0, 1.0]]), SIZE)
    rows, cols = np.nonzero(canvas.numpy()[..., 0] > 0.5)
    painted = [rows.min(), cols.min(), rows.max() + 1, cols.max() + 1]
    np.testing.assert_array_equal(painted, whole.numpy()[0] * SIZE)
    assert canvas.shape == (SIZE, SIZE, 1) and canvas.numpy()[canvas.numpy() <= 0.5].max(initial=0.0) == 0.0


@pytest.mark.parametrize(
    ("height", "width", "expected"),
    [
        (100, 200, (64, 128, 32, 0)),
        (1, 1000, (1, 128, 63, 0)),  # 0.128 px rounds to 0: a side is at least 1 pixel
        (256, 3, (128, 2, 0, 63)),  # 1.5 px rounds half to even: 2
        (256, 5, (128, 2, 0, 63)),  # 2.5 px rounds half to even: 2
        (5, 7, (91, 128, 18, 0)),  # 91.43 px; the odd pixel of padding goes below
    ],
)
def test_placement_by_hand(height, width, expected):
    assert tuple(float(value) for value in placement(height, width, SIZE)) == expected


def test_boxes_outside_the_picture_are_clipped_to_the_original():
    back = to_original(tf.constant([[0.0, -5.0, 70.0, 200.0]]), 100, 200, SIZE)  # the picture spans rows 32-96
    np.testing.assert_allclose(back.numpy(), [[0.0, 0.0, 38 / 64, 1.0]], atol=1e-6)
