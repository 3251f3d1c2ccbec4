"""Acquisition augmentation: blur softens edges, collimation bands stay at the edges and clear of every box."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from fracdet_core.train.acquisition import AcquisitionConfig, simulate_acquisition
from fracdet_core.train.augment import AugmentConfig, augment

SIZE = 64
ALWAYS_BLUR = AcquisitionConfig(blur_share=1.0, max_blur_sigma=2.0, collimation_share=0.0)
ALWAYS_COLLIMATE = AcquisitionConfig(blur_share=0.0, collimation_share=1.0, max_collimation=0.3)


def _checkerboard() -> tf.Tensor:
    rows, cols = np.indices((SIZE, SIZE))
    return tf.constant(((rows // 4 + cols // 4) % 2).astype(np.float32)[..., None] * 0.5)


@pytest.mark.parametrize("seed", range(4))
def test_blur_softens_edges_and_keeps_the_mean_and_range(seed):
    image = _checkerboard()
    blurred = simulate_acquisition(image, tf.zeros([0, 4]), ALWAYS_BLUR, tf.constant([seed, 9], tf.int64)).numpy()
    assert blurred.shape == (SIZE, SIZE, 1)
    assert np.abs(np.diff(blurred[..., 0], axis=1)).sum() < np.abs(np.diff(image.numpy()[..., 0], axis=1)).sum()
    assert blurred.mean() == pytest.approx(image.numpy().mean(), abs=0.01)
    assert blurred.min() >= 0.0 and blurred.max() <= 0.5 + 1e-6


@pytest.mark.parametrize("seed", range(12))
def test_collimation_bands_run_along_the_edges_and_never_reach_a_box(seed):
    image = tf.fill([SIZE, SIZE, 1], 0.25)
    boxes = tf.constant([[0.3, 0.25, 0.5, 0.6], [0.55, 0.4, 0.8, 0.7]], tf.float32)
    out = simulate_acquisition(image, boxes, ALWAYS_COLLIMATE, tf.constant([seed, 1], tf.int64)).numpy()[..., 0]
    changed = out != 0.25
    for ymin, xmin, ymax, xmax in (boxes.numpy() * SIZE).astype(int):
        assert not changed[ymin:ymax, xmin:xmax].any()
    # The changed pixels are exactly bands of whole rows and columns from the edges inwards.
    full_rows, full_columns = changed.all(axis=1), changed.all(axis=0)
    top, bottom = _leading(full_rows), _leading(full_rows[::-1])
    left, right = _leading(full_columns), _leading(full_columns[::-1])
    rows, cols = np.indices((SIZE, SIZE))
    bands = (rows < top) | (rows >= SIZE - bottom) | (cols < left) | (cols >= SIZE - right)
    np.testing.assert_array_equal(changed, bands)
    assert max(top, bottom, left, right) <= 0.3 * SIZE


def _leading(flags: np.ndarray) -> int:
    """How many of `flags` are True before the first False."""
    return int(np.argmin(flags)) if not flags.all() else len(flags)


def test_collimation_happens_on_some_images_and_a_seed_repeats_itself():
    image, boxes = tf.fill([SIZE, SIZE, 1], 0.25), tf.zeros([0, 4])
    seeds = [tf.constant([seed, 4], tf.int64) for seed in range(40)]
    outcomes = [simulate_acquisition(image, boxes, AcquisitionConfig(), seed).numpy() for seed in seeds]
    collimated = sum(bool((outcome != 0.25).any()) for outcome in outcomes)
    assert 3 <= collimated <= 25  # about collimation_share 0.3 of 40
    np.testing.assert_array_equal(outcomes[7], simulate_acquisition(image, boxes, AcquisitionConfig(), seeds[7]).numpy())


def test_augment_applies_acquisition_only_when_asked():
    image, boxes, classes = tf.fill([SIZE, SIZE, 1], 0.25), tf.constant([[0.4, 0.4, 0.6, 0.6]]), tf.constant([1])
    seed = tf.constant([3, 3], tf.int64)
    plain = augment(image, boxes, classes, AugmentConfig(), seed)
    again = augment(image, boxes, classes, AugmentConfig(acquisition=None), seed)
    collimated = augment(image, boxes, classes, AugmentConfig(acquisition=ALWAYS_COLLIMATE), seed)
    np.testing.assert_array_equal(plain[0].numpy(), again[0].numpy())
    assert not np.allclose(plain[0].numpy(), collimated[0].numpy())
    np.testing.assert_array_equal(plain[1].numpy(), collimated[1].numpy())  # boxes untouched
