"""The letterbox: where an image of any size lands on the model's square input, and back.

An image of height x width is scaled by `size / max(height, width)`, each side rounded (half to
even, as `tf.round`) and at least 1 pixel, and centred on a black `size` x `size` canvas (the odd
pixel of padding goes below and right). `placement` computes that once; training letterboxes
images and boxes with it (`letterbox`) and the serving signature maps predicted boxes back to the
original image with it (`to_original`), so the two cannot disagree.

Boxes are `ymin, xmin, ymax, xmax` (`fracdet_core.boxes`).
"""

from __future__ import annotations

from typing import NamedTuple

import tensorflow as tf


class Placement(NamedTuple):
    """An image's rectangle on the canvas, pixels: float32 scalars holding whole numbers."""

    height: tf.Tensor
    width: tf.Tensor
    top: tf.Tensor
    left: tf.Tensor


def placement(height: tf.Tensor | int, width: tf.Tensor | int, size: int) -> Placement:
    """Where an image of `height` x `width` pixels lands on the `size` x `size` canvas."""
    height, width = tf.cast(height, tf.float32), tf.cast(width, tf.float32)
    scale = size / tf.maximum(height, width)
    new_height = tf.maximum(tf.round(height * scale), 1.0)
    new_width = tf.maximum(tf.round(width * scale), 1.0)
    return Placement(new_height, new_width, tf.math.floordiv(size - new_height, 2.0), tf.math.floordiv(size - new_width, 2.0))


def letterbox(image: tf.Tensor, boxes: tf.Tensor, size: int) -> tuple[tf.Tensor, tf.Tensor]:
    """Fit `image` (H, W, 1) into a black `size` x `size` canvas keeping its aspect, centred; boxes follow.

    Returns the canvas (size, size, 1) and the boxes (N, 4), normalised to the image in,
    normalised to the canvas out.
    """
    shape = tf.shape(image)
    where = placement(shape[0], shape[1], size)
    resized = tf.image.resize(image, tf.cast(tf.stack([where.height, where.width]), tf.int32), method="bilinear", antialias=True)
    canvas = tf.image.pad_to_bounding_box(resized, tf.cast(where.top, tf.int32), tf.cast(where.left, tf.int32), size, size)
    offset, extent = _corner_scale(where)
    return canvas, (boxes * extent + offset) / float(size)


def to_original(boxes_px: tf.Tensor, height: tf.Tensor | int, width: tf.Tensor | int, size: int) -> tf.Tensor:
    """Boxes (..., 4) in canvas pixels -> normalised to the original `height` x `width` image, clipped to it."""
    where = placement(height, width, size)
    offset, extent = _corner_scale(where)
    return tf.clip_by_value((boxes_px - offset) / extent, 0.0, 1.0)


def _corner_scale(where: Placement) -> tuple[tf.Tensor, tf.Tensor]:
    """(offset, extent) (4,) that take `ymin, xmin, ymax, xmax` normalised to the image to canvas pixels."""
    return (tf.stack([where.top, where.left, where.top, where.left]),
            tf.stack([where.height, where.width, where.height, where.width]))
