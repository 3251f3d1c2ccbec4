"""Acquisition augmentation: what changes from one X-ray unit, site or renderer to the next, not the anatomy.

A model trained on one source learns that source's habits (its sharpness, its borders) along
with the breaks; the real dataset mixes many units, and fracdet's model is also judged on
radiographs from a renderer it never saw. So a share of the training images is
- blurred, as by a larger focal spot, a thicker detector or a lower-resolution scan: a Gaussian
  of random width;
- collimated: bright bands along some edges, where the lead shutters stopped the beam. A band
  never reaches a box (real collimation spares the region examined), so labels stay true.

Exposure, contrast, gamma and noise are drawn by `augment` itself. Shapes as there: image float32
(S, S, 1) in [0, 1], boxes float32 (N, 4) `ymin, xmin, ymax, xmax` normalised. Every draw comes
from the stateless `seed`. The image may be a window of a larger canvas (a training crop): the
bands are then the canvas's, seen through the window.
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf

_KERNEL_RADIUS = 3  # taps each side of the blur kernel: 3 sigmas at the widest blur


@dataclasses.dataclass(frozen=True)
class AcquisitionConfig:
    """Attributes:
        blur_share: share of images blurred.
        max_blur_sigma: widest blur, canvas pixels; each blurred image draws its width below it.
        collimation_share: share of images with collimation bands.
        max_collimation: widest band, share of the side; each edge draws its own, up to the
            nearest box.
        collimated_level: range of the bands' grey level.
    """

    blur_share: float = 0.4
    max_blur_sigma: float = 1.0
    collimation_share: float = 0.3
    max_collimation: float = 0.15
    collimated_level: tuple[float, float] = (0.7, 1.0)


def simulate_acquisition(image: tf.Tensor, boxes: tf.Tensor, config: AcquisitionConfig, seed: tf.Tensor,
                         origin: tf.Tensor | None = None, canvas: tf.Tensor | None = None) -> tf.Tensor:
    """The image as another unit might have taken it; boxes are unchanged and untouched by it.

    For a window of a canvas: `origin` (2,) its (top, left) pixel on the canvas, `canvas` the canvas's
    side in pixels, and `boxes` normalised to the canvas.
    """
    origin = tf.zeros([2]) if origin is None else tf.cast(origin, tf.float32)
    canvas = tf.cast(tf.shape(image)[0], tf.float32) if canvas is None else tf.cast(canvas, tf.float32)
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=4)
    sigma = tf.random.stateless_uniform([], seeds[0], 0.0, config.max_blur_sigma)
    blurred = tf.random.stateless_uniform([], seeds[1]) < config.blur_share
    image = tf.cond(blurred, lambda: blur(image, sigma), lambda: image)
    collimated = tf.random.stateless_uniform([], seeds[2]) < config.collimation_share
    return tf.cond(collimated, lambda: _collimate(image, boxes, config, seeds[3], origin, canvas), lambda: image)


def blur(image: tf.Tensor, sigma: tf.Tensor, radius: int = _KERNEL_RADIUS) -> tf.Tensor:
    """Separable Gaussian blur of standard deviation `sigma` pixels, `radius` taps each side, edges mirrored."""
    taps = tf.range(-radius, radius + 1, dtype=tf.float32)
    kernel = tf.exp(-0.5 * tf.square(taps / tf.maximum(sigma, 0.05)))
    kernel /= tf.reduce_sum(kernel)
    padded = tf.pad(image[None], [[0, 0], [radius] * 2, [radius] * 2, [0, 0]], mode="SYMMETRIC")
    rows = tf.nn.conv2d(padded, tf.reshape(kernel, [-1, 1, 1, 1]), strides=1, padding="VALID")
    return tf.nn.conv2d(rows, tf.reshape(kernel, [1, -1, 1, 1]), strides=1, padding="VALID")[0]


def _collimate(image: tf.Tensor, boxes: tf.Tensor, config: AcquisitionConfig, seed: tf.Tensor, origin: tf.Tensor,
               size: tf.Tensor) -> tf.Tensor:
    """Bright bands along the canvas's four edges, each of random width up to `max_collimation` and short of every box."""
    seeds = tf.random.experimental.stateless_split(seed, num=2)
    # Each box's distance to the top, left, bottom and right edges, as shares of the side.
    clearances = tf.concat([boxes[:, :2], 1.0 - boxes[:, 2:]], axis=1)
    room = tf.reduce_min(tf.concat([tf.fill([1, 4], config.max_collimation), clearances], axis=0), axis=0)
    widths = tf.floor(tf.random.stateless_uniform([4], seeds[0]) * tf.maximum(room, 0.0) * size)
    window = tf.shape(image)[:2]
    rows = origin[0] + tf.range(tf.cast(window[0], tf.float32))
    columns = origin[1] + tf.range(tf.cast(window[1], tf.float32))
    in_rows = (rows < widths[0]) | (rows >= size - widths[2])
    in_columns = (columns < widths[1]) | (columns >= size - widths[3])
    band = in_rows[:, None] | in_columns[None, :]
    level = tf.random.stateless_uniform([], seeds[1], *config.collimated_level)
    return tf.where(band[..., None], level, image)
