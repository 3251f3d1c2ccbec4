"""Processing augmentation: unsharp masks sharpen, windows map grey ranges as drawn, grain grows with the signal."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from fracdet_core.train.augment import AugmentConfig, augment
from fracdet_core.train.processing import ProcessingConfig, simulate_processing

SIZE = 64
PLAIN = {"share": 1.0, "max_unsharp": 0.0, "window_low": (0.0, 0.0), "window_high": (1.0, 1.0),
         "display_floor": (0.0, 0.0), "display_ceiling": (1.0, 1.0), "max_grain": 0.0}


def _seed(value: int) -> tf.Tensor:
    return tf.constant([value, 5], tf.int64)


def _step() -> np.ndarray:
    """Left half 0.3, right half 0.6: one vertical edge."""
    image = np.full((SIZE, SIZE, 1), 0.3, np.float32)
    image[:, SIZE // 2:] = 0.6
    return image


def test_nothing_changes_when_no_image_is_processed():
    image = _step()
    out = simulate_processing(tf.constant(image), ProcessingConfig(share=0.0), _seed(1)).numpy()
    np.testing.assert_array_equal(out, image)


@pytest.mark.parametrize("seed", range(3))
def test_an_unsharp_mask_overshoots_at_edges_and_leaves_flat_ground(seed):
    config = ProcessingConfig(**{**PLAIN, "max_unsharp": 1.5})
    out = simulate_processing(tf.constant(_step()), config, _seed(seed)).numpy()[..., 0]
    assert out[:, SIZE // 2 - 1].min() < 0.3 - 0.01 and out[:, SIZE // 2].max() > 0.6 + 0.01
    np.testing.assert_allclose(out[:, :8], 0.3, atol=1e-5)
    np.testing.assert_allclose(out[:, -8:], 0.6, atol=1e-5)


def test_a_window_stretches_its_grey_range_to_the_display_range():
    config = ProcessingConfig(**{**PLAIN, "window_low": (0.2, 0.2), "window_high": (0.8, 0.8),
                                 "display_floor": (0.1, 0.1), "display_ceiling": (0.7, 0.7)})
    greys = np.array([0.0, 0.2, 0.5, 0.8, 1.0], np.float32)
    image = np.tile(greys, (SIZE, 4))[..., None]
    out = simulate_processing(tf.constant(image), config, _seed(0)).numpy()[..., 0]
    np.testing.assert_allclose(out, np.tile([0.1, 0.1, 0.4, 0.7, 0.7], (SIZE, 4)), atol=1e-6)


def test_grain_grows_with_the_square_root_of_the_grey_level():
    config = ProcessingConfig(**{**PLAIN, "max_grain": 0.04})
    dark, bright = (simulate_processing(tf.fill([SIZE, SIZE, 1], level), config, _seed(2)).numpy()[8:-8, 8:-8]
                    for level in (0.09, 0.64))
    assert dark.std() > 0.0
    assert bright.std() / dark.std() == pytest.approx(np.sqrt(0.64 / 0.09), rel=0.05)


def test_a_seed_repeats_itself_and_seeds_differ():
    image, config = tf.constant(_step()), ProcessingConfig(share=1.0)
    first, again, other = (simulate_processing(image, config, _seed(s)).numpy() for s in (3, 3, 4))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert first.min() >= 0.0 and first.max() <= 1.0


def test_processing_leaves_the_boxes_and_every_other_draw_as_they_were():
    image = tf.constant(_step())
    boxes, classes = tf.constant([[0.2, 0.3, 0.5, 0.6]]), tf.constant([2])
    plain = augment(image, boxes, classes, AugmentConfig(), _seed(6))
    untouched = augment(image, boxes, classes, AugmentConfig(processing=ProcessingConfig(share=0.0)), _seed(6))
    processed = augment(image, boxes, classes, AugmentConfig(processing=ProcessingConfig(share=1.0)), _seed(6))
    for left, right in zip(plain, untouched, strict=True):
        np.testing.assert_array_equal(left.numpy(), right.numpy())
    np.testing.assert_array_equal(processed[1].numpy(), plain[1].numpy())
    assert not np.array_equal(processed[0].numpy(), plain[0].numpy())
