"""Crops of the fine canvas: pixels and boxes move together, small boxes are sought out, large ones left to the whole image."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from fracdet_core.train.crop import fine_crop

SIZE, CROP, LIMIT = 256, 64, 32.0


def _coordinate_image() -> tf.Tensor:
    """A (SIZE, SIZE, 1) image whose pixel (y, x) holds y * SIZE + x, so a crop tells where it was cut."""
    return tf.constant(np.arange(SIZE * SIZE, dtype=np.float32).reshape(SIZE, SIZE, 1))


def _origin(piece: np.ndarray) -> tuple[int, int]:
    top, left = divmod(int(piece[0, 0, 0]), SIZE)
    return top, left


@pytest.mark.parametrize("seed", range(12))
def test_the_crop_is_a_slice_of_the_canvas_and_its_boxes_moved_with_it(seed):
    small = [100, 40, 120, 60]  # ymin, xmin, ymax, xmax pixels: 20 px, under LIMIT
    boxes = tf.constant([small], tf.float32) / SIZE
    piece, moved, classes = fine_crop(_coordinate_image(), boxes, tf.constant([4]), CROP, LIMIT, tf.constant([seed, 3], tf.int64))
    assert piece.shape == (CROP, CROP, 1)
    top, left = _origin(piece.numpy())
    np.testing.assert_array_equal(piece.numpy(), _coordinate_image().numpy()[top:top + CROP, left:left + CROP])
    expected = np.clip(np.array(small, np.float32) - [top, left, top, left], 0, CROP)
    if moved.shape[0]:
        np.testing.assert_allclose(moved.numpy()[0] * CROP, expected, atol=1e-4)
        assert classes.numpy().tolist() == [4]
    else:  # dropped only when mostly outside the crop
        visible = max(expected[2] - expected[0], 0) * max(expected[3] - expected[1], 0)
        assert visible < 0.4 * 20 * 20


@pytest.mark.slow
def test_about_half_the_crops_hold_a_small_box_whole():
    boxes = tf.constant([[200, 10, 220, 30]], tf.float32) / SIZE  # near a corner: uniform crops rarely hold it
    whole = 0
    for seed in range(200):
        _, moved, _ = fine_crop(_coordinate_image(), boxes, tf.constant([1]), CROP, LIMIT, tf.constant([seed, 0], tf.int64))
        whole += moved.shape[0] == 1 and np.isclose((moved.numpy()[0, 2] - moved.numpy()[0, 0]) * CROP, 20.0)
    # Uniform placement alone holds it whole in (64 - 20 + 1)^2 / 193^2 = 5% of crops; the focus adds half.
    assert 0.4 < whole / 200 < 0.7


def test_boxes_over_the_limit_are_left_to_the_whole_image_pass():
    boxes = tf.constant([[0, 0, SIZE, SIZE], [100, 100, 110, 110]], tf.float32) / SIZE
    for seed in range(20):
        _, moved, classes = fine_crop(_coordinate_image(), boxes, tf.constant([6, 2]), CROP, LIMIT,
                                      tf.constant([seed, 1], tf.int64))
        assert 6 not in classes.numpy().tolist()
        assert moved.shape[0] == classes.shape[0]


def test_an_image_without_boxes_gives_a_crop_and_no_boxes():
    piece, moved, classes = fine_crop(_coordinate_image(), tf.zeros([0, 4]), tf.zeros([0], tf.int32), CROP, LIMIT,
                                      tf.constant([5, 5], tf.int64))
    assert piece.shape == (CROP, CROP, 1) and moved.shape == (0, 4) and classes.shape == (0,)
