"""Augmentations that respect anatomy, on one letterboxed image and its boxes.

Shapes: image float32 (H, W, 1) in [0, 1]; boxes float32 (N, 4) `ymin, xmin, ymax, xmax`
normalised to the image; classes int32 (N,).

Geometric changes keep radiographs plausible: a left-right flip (a left limb looks like a
mirrored right one), a few degrees of rotation, 15% of scale and 6% of translation; never a
vertical flip. Boxes follow: their corners are moved with the image and the box becomes the
corners' bounding box, clipped to the canvas; a box left with under `MIN_VISIBLE` of its area
is dropped. Photometric changes mimic exposure and processing: brightness, contrast, gamma
and a little noise; `acquisition`, when given, adds what differs between X-ray units (blur,
collimation), and `processing` what differs between their software (edge enhancement, display
window, grain).
Every random draw comes from a stateless op seeded by `seed`, so a given
seed always gives the same result.

`augment` renders the whole canvas. A caller that wants only a window of the augmented canvas
(`fracdet_core.train.crop`) draws the change first (`draw_augmentation`, `move_boxes`), then
renders just that window (`render`): the warp maps each window pixel straight from the source,
so a 256-px crop of a 512-px canvas costs what a 256-px image does. Its geometry and collimation
are the canvas's, pixel for pixel; exposure is drawn for the window (contrast about the window's
own mean, noise of its own shape).
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import tensorflow as tf

from fracdet_core.train.acquisition import AcquisitionConfig, simulate_acquisition
from fracdet_core.train.processing import ProcessingConfig, simulate_processing

MIN_VISIBLE = 0.4


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    flip: bool = True
    max_rotation_degrees: float = 7.0
    scale_range: tuple[float, float] = (0.85, 1.15)
    max_translation: float = 0.06
    max_brightness: float = 0.08
    contrast_range: tuple[float, float] = (0.8, 1.2)
    gamma_range: tuple[float, float] = (0.8, 1.25)
    noise_std: float = 0.02
    acquisition: AcquisitionConfig | None = None
    processing: ProcessingConfig | None = None


def augment(
    image: tf.Tensor, boxes: tf.Tensor, classes: tf.Tensor, config: AugmentConfig, seed: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Randomly transform a letterboxed square image and its boxes; returns (image, boxes, classes)."""
    drawn = draw_augmentation(config, seed, tf.shape(image)[0])
    moved_boxes, moved_classes = move_boxes(boxes, classes, drawn)
    return render(image, moved_boxes, drawn, config), moved_boxes, moved_classes


class _Motion(NamedTuple):
    """A drawn geometric change: p' = c + shift + scale * R(angle) * F (p - c), about the centre c.

    `mirror` is -1.0 when F mirrors x (a left-right flip), else 1.0; `shift` (2,) is (x, y) pixels.
    """

    mirror: tf.Tensor
    angle: tf.Tensor
    scale: tf.Tensor
    shift: tf.Tensor


class Augmentation(NamedTuple):
    """One drawn augmentation of a square canvas of `size` (float32 scalar) pixels; `seeds` (4, 2) for
    exposure, `acquisition_seed` (2,) for `simulate_acquisition`."""

    motion: _Motion
    size: tf.Tensor
    seeds: tf.Tensor
    acquisition_seed: tf.Tensor


def draw_augmentation(config: AugmentConfig, seed: tf.Tensor, size: tf.Tensor | int) -> Augmentation:
    """The random change `augment` makes to a canvas of `size` pixels with this `seed`."""
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=9)
    size = tf.cast(size, tf.float32)
    return Augmentation(_draw_motion(config, seeds[:4], size), size, seeds[4:8], seeds[8])


def move_boxes(boxes: tf.Tensor, classes: tf.Tensor, drawn: Augmentation) -> tuple[tf.Tensor, tf.Tensor]:
    """(boxes, classes) after the change: moved and clipped, normalised to the canvas; boxes mostly pushed off are dropped."""
    moved, keep = _move_boxes(boxes, drawn.motion, drawn.size)
    return moved, tf.boolean_mask(classes, keep)


def render(image: tf.Tensor, moved_boxes: tf.Tensor, drawn: Augmentation, config: AugmentConfig,
           origin: tf.Tensor | None = None, window: int | None = None) -> tf.Tensor:
    """The augmented canvas, or its `window` x `window` piece whose top-left pixel is `origin` (2,) (top, left).

    `moved_boxes` (N, 4) normalised to the canvas, from `move_boxes`: collimation stays clear of them.
    """
    origin = tf.zeros([2]) if origin is None else tf.cast(origin, tf.float32)
    shape = tf.shape(image)[:2] if window is None else tf.constant([window, window])
    warped = _warp_image(image, drawn.motion, drawn.size, origin, shape)
    if config.acquisition is not None:
        warped = simulate_acquisition(warped, moved_boxes, config.acquisition, drawn.acquisition_seed,
                                      origin=origin, canvas=drawn.size)
    if config.processing is not None:
        # Folded from the acquisition's seed, so adding processing leaves every other draw as it was.
        warped = simulate_processing(warped, config.processing, tf.random.experimental.stateless_fold_in(
            drawn.acquisition_seed, 1))
    return _retone(warped, config, drawn.seeds)


def _draw_motion(config: AugmentConfig, seeds: tf.Tensor, size: tf.Tensor) -> _Motion:
    flip = config.flip & (tf.random.stateless_uniform([], seeds[0]) < 0.5)
    angle = tf.random.stateless_uniform([], seeds[1], -1.0, 1.0) * math.radians(config.max_rotation_degrees)
    scale = tf.random.stateless_uniform([], seeds[2], *config.scale_range)
    shift = tf.random.stateless_uniform([2], seeds[3], -config.max_translation, config.max_translation) * size
    return _Motion(tf.where(flip, -1.0, 1.0), angle, scale, shift)


def _warp_image(image: tf.Tensor, motion: _Motion, size: tf.Tensor, origin: tf.Tensor, shape: tf.Tensor) -> tf.Tensor:
    """The `shape` piece at `origin` (top, left) of the image moved by `motion`, zero where nothing maps.

    ImageProjectiveTransform wants the inverse map, p = c + F A^-1 (p' - c - shift) with
    A = scale * R(angle), in pixel-index coordinates (continuous minus 0.5); the piece's pixel
    (y, x) is the moved canvas's (y + top, x + left).
    """
    cos, sin = tf.cos(motion.angle) * motion.scale, tf.sin(motion.angle) * motion.scale
    a0, a1 = motion.mirror * cos / motion.scale**2, motion.mirror * sin / motion.scale**2
    b0, b1 = -sin / motion.scale**2, cos / motion.scale**2
    index_centre = size / 2.0 - 0.5
    target_x, target_y = index_centre + motion.shift[0], index_centre + motion.shift[1]
    top, left = origin[0], origin[1]
    transform = tf.stack([
        a0, a1, index_centre - (a0 * (target_x - left) + a1 * (target_y - top)),
        b0, b1, index_centre - (b0 * (target_x - left) + b1 * (target_y - top)),
        0.0, 0.0,
    ])
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=image[None], transforms=transform[None], output_shape=shape,
        fill_value=0.0, interpolation="BILINEAR", fill_mode="CONSTANT",
    )[0]


def _move_boxes(boxes: tf.Tensor, motion: _Motion, size: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """(the kept boxes moved and clipped, normalised; which boxes were kept (N,) bool).

    A box becomes its moved corners' bounding box; it is kept while `MIN_VISIBLE` of that stays on the canvas.
    """
    centre = size / 2.0
    cos, sin = tf.cos(motion.angle) * motion.scale, tf.sin(motion.angle) * motion.scale
    corners_y = tf.stack([boxes[:, 0], boxes[:, 0], boxes[:, 2], boxes[:, 2]], axis=1) * size
    corners_x = tf.stack([boxes[:, 1], boxes[:, 3], boxes[:, 1], boxes[:, 3]], axis=1) * size
    px = motion.mirror * (corners_x - centre)
    py = corners_y - centre
    moved_x = centre + motion.shift[0] + cos * px - sin * py
    moved_y = centre + motion.shift[1] + sin * px + cos * py
    moved = tf.stack([tf.reduce_min(moved_y, 1), tf.reduce_min(moved_x, 1), tf.reduce_max(moved_y, 1), tf.reduce_max(moved_x, 1)],
                     axis=1)
    clipped = tf.clip_by_value(moved, 0.0, size)
    keep = mostly_visible(clipped, moved)
    return tf.boolean_mask(clipped, keep) / size, keep


def mostly_visible(clipped: tf.Tensor, moved: tf.Tensor) -> tf.Tensor:
    """(N,) bool: does each clipped box keep at least `MIN_VISIBLE` of its moved area? Both (N, 4), same units."""
    return _area(clipped) >= MIN_VISIBLE * tf.maximum(_area(moved), 1e-6)


def _area(boxes: tf.Tensor) -> tf.Tensor:
    return tf.maximum(boxes[:, 2] - boxes[:, 0], 0.0) * tf.maximum(boxes[:, 3] - boxes[:, 1], 0.0)


def _retone(image: tf.Tensor, config: AugmentConfig, seeds: tf.Tensor) -> tf.Tensor:
    """Exposure and processing: brightness, contrast, gamma, then noise; clipped to [0, 1]."""
    brightness = tf.random.stateless_uniform([], seeds[0], -config.max_brightness, config.max_brightness)
    contrast = tf.random.stateless_uniform([], seeds[1], *config.contrast_range)
    gamma = tf.random.stateless_uniform([], seeds[2], *config.gamma_range)
    mean = tf.reduce_mean(image)
    toned = tf.clip_by_value((image - mean) * contrast + mean + brightness, 0.0, 1.0) ** gamma
    noisy = toned + tf.random.stateless_normal(tf.shape(toned), seeds[3], stddev=config.noise_std)
    return tf.clip_by_value(noisy, 0.0, 1.0)
