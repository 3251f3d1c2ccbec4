"""Training crops of the fine canvas: small findings at full resolution for the price of the training input.

A model with a `fine_image_size` serves small boxes from a pass over the image letterboxed to
that finer canvas (`fracdet_core.serving.signature`). It learns them from crops of
`image_size` pixels cut from the same canvas, after augmentation, so a step costs what a
whole-image step costs. Only the crop is rendered (`augment.render` of a window): rendering
the whole fine canvas to keep a quarter of it spent most of the input pipeline's work on pixels
thrown away. A crop keeps the boxes the fine pass answers for (longer side up to
`ModelConfig.fine_box_limit` fine pixels) with at least `augment.MIN_VISIBLE` of their area inside it,
clipped; larger boxes (whole-bone, normal-study boxes) are dropped, as the whole-image pass
answers for them.

Where the image has such small boxes, half the crops are placed to hold one of them whole (a
fracture covers well under 1% of a radiograph, so uniform crops would rarely show one); the
others are placed uniformly on the canvas, and show intact bone at full resolution.

Shapes as in `fracdet_core.train.augment`: boxes float32 (N, 4) `ymin, xmin, ymax, xmax`
normalised to the image they belong to.
"""

from __future__ import annotations

import tensorflow as tf

from fracdet_core.train.augment import AugmentConfig, draw_augmentation, mostly_visible, move_boxes, render

FOCUS_SHARE = 0.5  # of crops placed over a small box, where the image has one


def fine_crop(
    image: tf.Tensor, boxes: tf.Tensor, classes: tf.Tensor, augmentation: AugmentConfig, crop: int, box_limit: float,
    seed: tf.Tensor,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """A `crop` x `crop` piece of the square `image` (S, S, 1) augmented by `augmentation`, and its boxes.

    Returns (image, boxes, classes). `box_limit`: the longest box side, pixels of `image`, that a crop keeps.
    """
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=5)
    drawn = draw_augmentation(augmentation, seeds[4], tf.shape(image)[0])
    moved_boxes, classes = move_boxes(boxes, classes, drawn)
    size = drawn.size
    pixels = moved_boxes * size
    small = tf.maximum(pixels[:, 2] - pixels[:, 0], pixels[:, 3] - pixels[:, 1]) <= box_limit
    origin = _origin(tf.boolean_mask(pixels, small), float(crop), size, seeds)
    top, left = origin[0], origin[1]
    piece = render(image, moved_boxes, drawn, augmentation, origin, crop)
    moved = pixels - tf.stack([top, left, top, left])
    clipped = tf.clip_by_value(moved, 0.0, float(crop))
    keep = small & mostly_visible(clipped, moved)
    return piece, tf.boolean_mask(clipped, keep) / float(crop), tf.boolean_mask(classes, keep)


def _origin(small_boxes: tf.Tensor, crop: float, size: tf.Tensor, seeds: tf.Tensor) -> tf.Tensor:
    """(top, left) whole pixels of the crop: over a random small box (`FOCUS_SHARE` of the time, if any), else anywhere."""
    room = size - crop
    anywhere = tf.floor(tf.random.stateless_uniform([2], seeds[0]) * (room + 1.0))
    count = tf.shape(small_boxes)[0]
    # A stand-in row keeps the draw defined for an image without small boxes, where it goes unused.
    candidates = tf.concat([small_boxes, tf.zeros([1, 4])], axis=0)
    chosen = candidates[tf.random.stateless_uniform([], seeds[1], 0, tf.maximum(count, 1), dtype=tf.int32)]
    # The crop holds the box whole where it fits: its corner lies in [far side - crop, near side].
    low = tf.clip_by_value(tf.math.ceil(chosen[2:] - crop), 0.0, room)
    high = tf.clip_by_value(tf.floor(chosen[:2]), 0.0, room)
    focused = low + tf.floor(tf.random.stateless_uniform([2], seeds[2]) * (tf.maximum(high - low, 0.0) + 1.0))
    focus = (count > 0) & (tf.random.stateless_uniform([], seeds[3]) < FOCUS_SHARE)
    return tf.where(focus, tf.minimum(focused, room), anywhere)

