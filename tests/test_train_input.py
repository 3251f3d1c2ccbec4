"""The input pipeline: letterboxing and augmentation move boxes with the pixels; batches are reproducible."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from fracdet_core.classes import BODY_PARTS, OTHER, SCOPE_PARTS
from fracdet_core.ingest import IngestConfig, ingest_dataset
from fracdet_core.model.config import ModelConfig
from fracdet_core.model.indications import IN_SCOPE_UNKNOWN_PART
from fracdet_core.model.indications import OUTPUT as INDICATIONS
from fracdet_core.serving.letterbox import letterbox
from fracdet_core.synth import SynthConfig, generate_dataset
from fracdet_core.train.augment import AugmentConfig, augment
from fracdet_core.train.dataset import cached_bytes, canvas_sizes, training_dataset

GEOMETRY_ONLY = AugmentConfig(max_brightness=0.0, contrast_range=(1.0, 1.0), gamma_range=(1.0, 1.0), noise_std=0.0)


def _bright_box(image: np.ndarray) -> np.ndarray:
    """(ymin, xmin, ymax, xmax) in pixels of the pixels brighter than half."""
    rows, cols = np.nonzero(image[..., 0] > 0.5)
    return np.array([rows.min(), cols.min(), rows.max() + 1, cols.max() + 1], np.float32)


def _image_with_rectangle(height: int, width: int, box_px: tuple[int, int, int, int]) -> tuple[tf.Tensor, tf.Tensor]:
    image = np.zeros((height, width, 1), np.float32)
    y0, x0, y1, x1 = box_px
    image[y0:y1, x0:x1] = 1.0
    return tf.constant(image), tf.constant([[y0 / height, x0 / width, y1 / height, x1 / width]], tf.float32)


def test_letterbox_keeps_the_aspect_and_moves_the_boxes():
    image, boxes = _image_with_rectangle(100, 200, (20, 40, 60, 120))
    canvas, moved = letterbox(image, boxes, 256)
    assert canvas.shape == (256, 256, 1)
    np.testing.assert_allclose(_bright_box(canvas.numpy()), moved.numpy()[0] * 256, atol=1.5)
    assert canvas.numpy()[:60].max() == 0.0  # the padding above the 128-px-high picture


@pytest.mark.parametrize("seed", range(8))
def test_augmented_boxes_follow_the_pixels(seed):
    image, boxes = _image_with_rectangle(128, 128, (30, 50, 70, 90))
    warped, moved, classes = augment(image, boxes, tf.constant([3]), GEOMETRY_ONLY, tf.constant([seed, 7], tf.int64))
    assert classes.numpy().tolist() == [3]
    np.testing.assert_allclose(_bright_box(warped.numpy()), moved.numpy()[0] * 128, atol=2.0)


def test_augmentation_is_a_function_of_its_seed():
    image, boxes = _image_with_rectangle(64, 64, (10, 10, 30, 40))
    first = augment(image, boxes, tf.constant([1]), AugmentConfig(), tf.constant([1, 2], tf.int64))
    again = augment(image, boxes, tf.constant([1]), AugmentConfig(), tf.constant([1, 2], tf.int64))
    other = augment(image, boxes, tf.constant([1]), AugmentConfig(), tf.constant([3, 4], tf.int64))
    np.testing.assert_array_equal(first[0].numpy(), again[0].numpy())
    assert not np.array_equal(first[0].numpy(), other[0].numpy())


def test_a_box_pushed_out_of_the_image_is_dropped():
    image, boxes = _image_with_rectangle(64, 64, (0, 0, 6, 6))
    shove = AugmentConfig(flip=False, max_rotation_degrees=0.0, scale_range=(1.0, 1.0), max_translation=0.5)
    dropped = 0
    for seed in range(20):
        _, moved, classes = augment(image, boxes, tf.constant([2]), shove, tf.constant([seed, 0], tf.int64))
        assert moved.shape[0] == classes.shape[0] <= 1
        dropped += moved.shape[0] == 0
    assert dropped > 0


@pytest.fixture(scope="module")
def ingest(tmp_path_factory):
    base = tmp_path_factory.mktemp("input")
    generate_dataset(SynthConfig(train=24, val=6, size=128, seed=12, out_of_scope_train=6), str(base / "data"),
                     progress=False)
    ingest_dataset(str(base / "data"), str(base / "ingest"), IngestConfig(shards=2), progress=False)
    return str(base / "ingest")


def test_batches_have_dense_targets_and_repeat_in_deterministic_mode(ingest):
    config = ModelConfig(image_size=128, fine_image_size=0)
    first = list(training_dataset(ingest, "train", config, 8, deterministic=True, seed=4,
                                  in_scope_only=True).as_numpy_iterator())
    again = list(training_dataset(ingest, "train", config, 8, deterministic=True, seed=4,
                                  in_scope_only=True).as_numpy_iterator())
    assert [images.shape for images, _ in first] == [(8, 128, 128, 1)] * 3  # the 24 in-scope images, not the 6 others
    assert all(targets.shape == (8, 336, 15) for _, targets in first)
    assert sum(targets[..., 4].sum() for _, targets in first) > 0
    for (images_a, targets_a), (images_b, targets_b) in zip(first, again, strict=True):
        # Same images, same augmentations; multithreaded kernels may differ in the last float bit.
        np.testing.assert_allclose(images_a, images_b, rtol=0, atol=1e-6)
        np.testing.assert_allclose(targets_a, targets_b, rtol=0, atol=1e-6)


def test_the_indications_batches_hold_every_image_and_its_part(ingest):
    config = ModelConfig(image_size=128, fine_image_size=0)
    batches = list(training_dataset(ingest, "train", config, 10, deterministic=True, seed=4,
                                    target=INDICATIONS).as_numpy_iterator())
    parts = np.concatenate([targets for _, targets in batches])
    # Each image's part from its boxes, "in scope, part unknown" without boxes, OTHER for the out-of-scope images.
    assert parts.shape == (30,) and np.sum(parts == SCOPE_PARTS.index(OTHER)) == 6
    in_scope = parts[parts != SCOPE_PARTS.index(OTHER)]
    assert set(in_scope) <= {*range(len(BODY_PARTS)), IN_SCOPE_UNKNOWN_PART} and len(set(in_scope)) > 1


def test_a_target_that_names_no_output_is_refused(ingest):
    with pytest.raises(ValueError, match="target must be"):
        training_dataset(ingest, "train", ModelConfig(image_size=128, fine_image_size=0), 8, target="boxes")


def _classes_with_targets(batches: list) -> set[int]:
    return {int(np.argmax(cell[5:])) for _, targets in batches for image in targets for cell in image
            if cell[4] > 0}


@pytest.mark.slow
def test_fine_crops_teach_small_boxes_and_leave_whole_bone_boxes_to_the_whole_images(ingest):
    """The synthetic normal-study boxes span the bones (class ids 5-9), fracture boxes are small (0-4)."""
    fine = ModelConfig(image_size=64, fine_image_size=128)
    crops = list(training_dataset(ingest, "train", fine, 8, deterministic=True, seed=2, fine_crop_share=1.0).as_numpy_iterator())
    wholes = list(training_dataset(ingest, "train", fine, 8, deterministic=True, seed=2, fine_crop_share=0.0).as_numpy_iterator())
    assert all(images.shape[1:] == (64, 64, 1) for images, _ in crops + wholes)
    assert _classes_with_targets(crops) and _classes_with_targets(crops) <= set(range(5))
    assert _classes_with_targets(wholes) & set(range(5, 10))


def test_a_cached_split_gives_the_streamed_batches_and_new_augmentations_every_epoch(ingest):
    config = ModelConfig(image_size=128, fine_image_size=0)
    streamed = training_dataset(ingest, "train", config, 8, deterministic=True, seed=4, in_scope_only=True)
    cached = training_dataset(ingest, "train", config, 8, deterministic=True, seed=4, in_scope_only=True, cache=True)
    epochs = iter(cached.repeat(2).as_numpy_iterator())
    first = [next(epochs) for _ in range(3)]
    second = [next(epochs) for _ in range(3)]
    for (images, targets), (images_streamed, targets_streamed) in zip(first, streamed.as_numpy_iterator(), strict=True):
        np.testing.assert_allclose(images, images_streamed, rtol=0, atol=1e-6)
        np.testing.assert_allclose(targets, targets_streamed, rtol=0, atol=1e-6)
    # The cache holds letterboxed images, not augmented ones: the second epoch is drawn anew.
    assert not any(np.allclose(images_a, images_b, atol=1e-3) for (images_a, _), (images_b, _) in zip(first, second, strict=True))


def test_cached_bytes_count_every_canvas_an_image_is_letterboxed_to():
    fine = ModelConfig(image_size=64, fine_image_size=128)
    assert canvas_sizes(fine, AugmentConfig(), 0.5) == (64, 128)
    assert canvas_sizes(fine, None, 0.5) == (64,)  # validation: whole images only
    assert canvas_sizes(fine, AugmentConfig(), 0.0) == (64,)
    assert cached_bytes(750, (256,)) == 750 * 256 * 256 * 4
    assert cached_bytes(10, (64, 128)) == 10 * (64 * 64 + 128 * 128) * 4


def test_only_a_streamed_split_is_autotuned(ingest):
    """A cached split runs without tf.data's tuner, whose teardown stalls Keras's epochs; a streamed one keeps it."""
    config = ModelConfig(image_size=128, fine_image_size=0)
    assert training_dataset(ingest, "train", config, 8).options().autotune.enabled is True
    assert training_dataset(ingest, "train", config, 8, cache=True).options().autotune.enabled is False
