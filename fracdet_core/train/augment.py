"""Letterboxing and augmentations that respect anatomy, on one image and its boxes.

Shapes: image float32 (H, W, 1) in [0, 1]; boxes float32 (N, 4) `ymin, xmin, ymax, xmax`
normalised to the image; classes int32 (N,).

Geometric changes keep radiographs plausible: a left-right flip (a left limb looks like a
mirrored right one), a few degrees of rotation, 15% of scale and 6% of translation; never a
vertical flip. Boxes follow: their corners are moved with the image and the box becomes the
corners' bounding box, clipped to the canvas; a box left with under `MIN_VISIBLE` of its area
is dropped. Photometric changes mimic exposure and processing: brightness, contrast, gamma
and a little noise. Every random draw comes from a stateless op seeded by `seed`, so a given
seed always gives the same result.
"""

from __future__ import annotations

import dataclasses
import math

import tensorflow as tf

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


def letterbox(image: tf.Tensor, boxes: tf.Tensor, size: int) -> tuple[tf.Tensor, tf.Tensor]:
    """Fit `image` into a black `size` x `size` canvas keeping its aspect, centred; boxes follow.

    Returns the canvas (size, size, 1) and the boxes normalised to the canvas.
    """
    height = tf.cast(tf.shape(image)[0], tf.float32)
    width = tf.cast(tf.shape(image)[1], tf.float32)
    scale = tf.cast(size, tf.float32) / tf.maximum(height, width)
    new_height = tf.maximum(tf.cast(tf.round(height * scale), tf.int32), 1)
    new_width = tf.maximum(tf.cast(tf.round(width * scale), tf.int32), 1)
    resized = tf.image.resize(image, [new_height, new_width], method="bilinear", antialias=True)
    top = (size - new_height) // 2
    left = (size - new_width) // 2
    canvas = tf.image.pad_to_bounding_box(resized, top, left, size, size)
    offset = tf.cast(tf.stack([top, left, top, left]), tf.float32)
    extent = tf.cast(tf.stack([new_height, new_width, new_height, new_width]), tf.float32)
    return canvas, (boxes * extent + offset) / float(size)


def augment(image: tf.Tensor, boxes: tf.Tensor, classes: tf.Tensor, config: AugmentConfig, seed: tf.Tensor):  # noqa: ANN201
    """Randomly transform a letterboxed square image and its boxes; returns (image, boxes, classes)."""
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=8)
    size = tf.cast(tf.shape(image)[0], tf.float32)

    flip = config.flip & (tf.random.stateless_uniform([], seeds[0]) < 0.5)
    angle = tf.random.stateless_uniform([], seeds[1], -1.0, 1.0) * math.radians(config.max_rotation_degrees)
    scale = tf.random.stateless_uniform([], seeds[2], *config.scale_range)
    shift = tf.random.stateless_uniform([2], seeds[3], -config.max_translation, config.max_translation) * size

    # Forward map about the centre c: p' = c + shift + A F (p - c), with A = scale * R(angle)
    # and F the optional mirror of x. ImageProjectiveTransform wants the inverse,
    # p = c + F A^-1 (p' - c - shift), in pixel-index coordinates (continuous minus 0.5).
    centre = size / 2.0
    mirror = tf.where(flip, -1.0, 1.0)
    cos, sin = tf.cos(angle) * scale, tf.sin(angle) * scale
    a0, a1 = mirror * cos / scale**2, mirror * sin / scale**2
    b0, b1 = -sin / scale**2, cos / scale**2
    index_centre = centre - 0.5
    target_x, target_y = index_centre + shift[0], index_centre + shift[1]
    transform = tf.stack([
        a0, a1, index_centre - (a0 * target_x + a1 * target_y),
        b0, b1, index_centre - (b0 * target_x + b1 * target_y),
        0.0, 0.0,
    ])
    warped = tf.raw_ops.ImageProjectiveTransformV3(
        images=image[None], transforms=transform[None], output_shape=tf.shape(image)[:2],
        fill_value=0.0, interpolation="BILINEAR", fill_mode="CONSTANT",
    )[0]

    corners_y = tf.stack([boxes[:, 0], boxes[:, 0], boxes[:, 2], boxes[:, 2]], axis=1) * size
    corners_x = tf.stack([boxes[:, 1], boxes[:, 3], boxes[:, 1], boxes[:, 3]], axis=1) * size
    px = mirror * (corners_x - centre)
    py = corners_y - centre
    moved_x = centre + shift[0] + cos * px - sin * py
    moved_y = centre + shift[1] + sin * px + cos * py
    moved = tf.stack([tf.reduce_min(moved_y, 1), tf.reduce_min(moved_x, 1), tf.reduce_max(moved_y, 1), tf.reduce_max(moved_x, 1)], axis=1)
    clipped = tf.clip_by_value(moved, 0.0, size)
    area = lambda b: tf.maximum(b[:, 2] - b[:, 0], 0.0) * tf.maximum(b[:, 3] - b[:, 1], 0.0)  # noqa: E731
    keep = area(clipped) >= MIN_VISIBLE * tf.maximum(area(moved), 1e-6)
    boxes_out = tf.boolean_mask(clipped, keep) / size
    classes_out = tf.boolean_mask(classes, keep)

    brightness = tf.random.stateless_uniform([], seeds[4], -config.max_brightness, config.max_brightness)
    contrast = tf.random.stateless_uniform([], seeds[5], *config.contrast_range)
    gamma = tf.random.stateless_uniform([], seeds[6], *config.gamma_range)
    mean = tf.reduce_mean(warped)
    toned = tf.clip_by_value((warped - mean) * contrast + mean + brightness, 0.0, 1.0) ** gamma
    noisy = toned + tf.random.stateless_normal(tf.shape(toned), seeds[7], stddev=config.noise_std)
    return tf.clip_by_value(noisy, 0.0, 1.0), boxes_out, classes_out
