"""Crops of the fine canvas: pixels and boxes move together, small boxes are sought out, large ones left to the whole image.

Crops are rendered as windows of the augmented canvas: a geometry-only window is the canvas's own pixels there.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from fracdet_core.train.acquisition import AcquisitionConfig
from fracdet_core.train.augment import AugmentConfig, draw_augmentation, move_boxes, render
from fracdet_core.train.crop import fine_crop

SIZE, CROP, LIMIT = 256, 64, 32.0
STILL = AugmentConfig(flip=False, max_rotation_degrees=0.0, scale_range=(1.0, 1.0), max_translation=0.0,
                      max_brightness=0.0, contrast_range=(1.0, 1.0), gamma_range=(1.0, 1.0), noise_std=0.0)
GEOMETRY_AND_COLLIMATION = AugmentConfig(
    max_brightness=0.0, contrast_range=(1.0, 1.0), gamma_range=(1.0, 1.0), noise_std=0.0,
    acquisition=AcquisitionConfig(blur_share=0.0, collimation_share=1.0, max_collimation=0.3),
)


def _coordinate_image() -> tf.Tensor:
    """A (SIZE, SIZE, 1) image whose pixel (y, x) holds (y * SIZE + x) / SIZE^2, so a crop tells where it was cut."""
    return tf.constant(np.arange(SIZE * SIZE, dtype=np.float32).reshape(SIZE, SIZE, 1) / SIZE**2)


def _origin(piece: np.ndarray) -> tuple[int, int]:
    top, left = divmod(round(float(piece[0, 0, 0]) * SIZE**2), SIZE)
    return top, left


def _fine_crop(boxes: tf.Tensor, classes: tf.Tensor, seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """A crop of the coordinate image with no augmentation, so that its pixels say where it lies."""
    return fine_crop(_coordinate_image(), boxes, classes, STILL, CROP, LIMIT, seed)


@pytest.mark.parametrize("seed", range(12))
def test_the_crop_is_a_slice_of_the_canvas_and_its_boxes_moved_with_it(seed):
    small = [100, 40, 120, 60]  # ymin, xmin, ymax, xmax pixels: 20 px, under LIMIT
    boxes = tf.constant([small], tf.float32) / SIZE
    piece, moved, classes = _fine_crop(boxes, tf.constant([4]), tf.constant([seed, 3], tf.int64))
    assert piece.shape == (CROP, CROP, 1)
    top, left = _origin(piece.numpy())
    np.testing.assert_allclose(piece.numpy(), _coordinate_image().numpy()[top:top + CROP, left:left + CROP], atol=1e-7)
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
        _, moved, _ = _fine_crop(boxes, tf.constant([1]), tf.constant([seed, 0], tf.int64))
        whole += moved.shape[0] == 1 and np.isclose((moved.numpy()[0, 2] - moved.numpy()[0, 0]) * CROP, 20.0)
    # Uniform placement alone holds it whole in (64 - 20 + 1)^2 / 193^2 = 5% of crops; the focus adds half.
    assert 0.4 < whole / 200 < 0.7


def test_boxes_over_the_limit_are_left_to_the_whole_image_pass():
    boxes = tf.constant([[0, 0, SIZE, SIZE], [100, 100, 110, 110]], tf.float32) / SIZE
    for seed in range(20):
        _, moved, classes = _fine_crop(boxes, tf.constant([6, 2]), tf.constant([seed, 1], tf.int64))
        assert 6 not in classes.numpy().tolist()
        assert moved.shape[0] == classes.shape[0]


def test_an_image_without_boxes_gives_a_crop_and_no_boxes():
    piece, moved, classes = _fine_crop(tf.zeros([0, 4]), tf.zeros([0], tf.int32), tf.constant([5, 5], tf.int64))
    assert piece.shape == (CROP, CROP, 1) and moved.shape == (0, 4) and classes.shape == (0,)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("origin", [(0, 0), (37, 150), (192, 192)])
def test_a_rendered_window_is_that_window_of_the_rendered_canvas(seed, origin):
    """Warp and collimation drawn for the canvas, rendered for one window only: the same pixels as cutting it out after."""
    image = tf.random.stateless_uniform([SIZE, SIZE, 1], [seed, 11])
    boxes = tf.constant([[0.4, 0.35, 0.55, 0.5]], tf.float32)
    drawn = draw_augmentation(GEOMETRY_AND_COLLIMATION, tf.constant([seed, 2], tf.int64), SIZE)
    moved, _ = move_boxes(boxes, tf.constant([0]), drawn)
    whole = render(image, moved, drawn, GEOMETRY_AND_COLLIMATION).numpy()
    window = render(image, moved, drawn, GEOMETRY_AND_COLLIMATION, tf.constant(origin), CROP).numpy()
    top, left = origin
    # Float32 sub-pixel positions of the two maps differ by about 1e-5 px; a pixel off would differ by ~0.3.
    np.testing.assert_allclose(window, whole[top:top + CROP, left:left + CROP], atol=1e-4)


def test_crops_of_an_augmented_canvas_hold_its_boxes_over_the_right_pixels():
    """A bright small box, augmented and cropped: the box the crop reports covers the bright pixels it shows."""
    image = np.zeros((SIZE, SIZE, 1), np.float32)
    image[120:140, 90:110] = 1.0
    boxes = tf.constant([[120, 90, 140, 110]], tf.float32) / SIZE
    geometry = AugmentConfig(max_brightness=0.0, contrast_range=(1.0, 1.0), gamma_range=(1.0, 1.0), noise_std=0.0)
    checked = 0
    for seed in range(24):
        piece, moved, _ = fine_crop(tf.constant(image), boxes, tf.constant([1]), geometry, CROP, LIMIT,
                                    tf.constant([seed, 8], tf.int64))
        bright = np.argwhere(piece.numpy()[..., 0] > 0.5)
        if moved.shape[0] and len(bright) > 100:  # the box shown whole enough to measure
            ymin, xmin, ymax, xmax = moved.numpy()[0] * CROP
            assert bright[:, 0].min() >= ymin - 1.5 and bright[:, 0].max() + 1 <= ymax + 1.5
            assert bright[:, 1].min() >= xmin - 1.5 and bright[:, 1].max() + 1 <= xmax + 1.5
            checked += 1
    assert checked >= 6
