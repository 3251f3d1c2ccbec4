"""Which grid cells are responsible for which box: the training targets.

Scheme (anchor-free, after FCOS, Tian et al. 2019, with its centre sampling):
- Every pyramid level l (stride s = 2**l) has one cell per s x s pixels of the letterboxed
  input; cell centres sit at ((col + 0.5) * s, (row + 0.5) * s).
- A box goes to one level by its longer side in input pixels: the finest level takes sides up
  to 8 of its strides (64 px at stride 8), each next level up to 8 of its own strides, the
  coarsest everything larger. A fracture of a few pixels thus lands on the finest grid and a
  whole-bone box on the coarsest.
- On its level, a box claims the cells whose centres lie within `CENTRE_RADIUS` strides of the
  box centre and inside the box, in x and in y separately; along a side shorter than a cell,
  the reach is half a stride, so every box claims at least the cell holding its centre. A thin
  fracture box across a shaft thus claims one row of cells on the break, not the rows above and
  below it, whose features show intact bone: claiming those taught the objectness head to fire
  on intact bone, and cost mAP at equal training.
  Cells outside the image do not exist.
- A cell claimed by several boxes takes the one with the smallest area (small fractures are
  not swallowed by the bone box around them).

Targets per cell, float32 `(cells, 5 + classes)`: `[dx, dy, log_w, log_h, objectness,
one-hot classes]` where (dx, dy) is the box centre minus the cell centre and (w, h) the box
size, both in strides; unclaimed cells are all zero. Written in TensorFlow ops because it runs
inside the `tf.data` input pipeline.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from fracdet_core.model.config import ModelConfig

CENTRE_RADIUS = 1.5
SIDE_PER_STRIDE = 8.0
_MIN_SIZE_PX = 1.0


def grid(config: ModelConfig, size: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cell centres (cells, 2) as (x, y) pixels, strides (cells,), and each level's side limits (cells, 2).

    On a `size` canvas (default `config.image_size`, the training input); cells are ordered level
    by level, row-major within a level, as the detector outputs them.
    """
    centres, strides, limits = [], [], []
    for index, (stride, side) in enumerate(zip(config.strides, config.grid_sizes(size), strict=True)):
        rows, cols = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
        centres.append(np.stack([(cols.ravel() + 0.5) * stride, (rows.ravel() + 0.5) * stride], axis=1))
        strides.append(np.full(side * side, stride, dtype=np.float32))
        lower = 0.0 if index == 0 else SIDE_PER_STRIDE * config.strides[index - 1]
        upper = np.inf if index == len(config.strides) - 1 else SIDE_PER_STRIDE * stride
        limits.append(np.tile([[lower, upper]], (side * side, 1)))
    return (np.concatenate(centres).astype(np.float32), np.concatenate(strides), np.concatenate(limits).astype(np.float32))


def assign_targets(boxes: tf.Tensor, classes: tf.Tensor, config: ModelConfig) -> tf.Tensor:
    """Targets for one image.

    Args:
        boxes: float32 (N, 4), `ymin, xmin, ymax, xmax` normalised to the letterboxed input.
        classes: int32 (N,), class ids.
        config: the model's grid.

    Returns:
        float32 (cells, 5 + num_classes), as the module docstring describes.
    """
    centres, strides, limits = (tf.constant(array) for array in grid(config))
    described = _centres_and_sides(boxes, float(config.image_size))
    claims = _claims(described, centres, strides, limits)
    owner = _owners(claims, described)
    # The sentinel box (1 x 1 at the origin, class 0) stands in where no box claims the cell; the mask zeroes it.
    owned = tf.gather(tf.concat([described, tf.ones([1, 4])], axis=0), owner)
    padded_classes = tf.concat([tf.reshape(tf.cast(classes, tf.int32), [-1]), [0]], axis=0)
    one_hot = tf.one_hot(tf.gather(padded_classes, owner), config.num_classes)
    mask = tf.cast(tf.reduce_any(claims, axis=0), tf.float32)[:, None]
    targets = tf.concat([_box_targets(owned, centres, strides), tf.ones_like(mask), one_hot], axis=1) * mask
    return tf.where(tf.math.is_finite(targets), targets, 0.0)


def _centres_and_sides(boxes: tf.Tensor, size: float) -> tf.Tensor:
    """(N, 4) `centre_x, centre_y, width, height` in input pixels; a side is at least `_MIN_SIZE_PX`."""
    ymin, xmin, ymax, xmax = tf.unstack(tf.reshape(tf.cast(boxes, tf.float32), [-1, 4]) * size, axis=1)
    width = tf.maximum(xmax - xmin, _MIN_SIZE_PX)
    height = tf.maximum(ymax - ymin, _MIN_SIZE_PX)
    return tf.stack([(xmin + xmax) / 2.0, (ymin + ymax) / 2.0, width, height], axis=1)


def _claims(described: tf.Tensor, centres: tf.Tensor, strides: tf.Tensor, limits: tf.Tensor) -> tf.Tensor:
    """(N, cells) bool: does box n claim cell c? Its level by its longer side, then the cells near its centre."""
    centre_x, centre_y, width, height = tf.unstack(described, axis=1)
    longer = tf.maximum(width, height)
    on_level = (longer[:, None] > limits[None, :, 0]) & (longer[:, None] <= limits[None, :, 1])
    radius = CENTRE_RADIUS * strides[None, :]
    half_stride = 0.5 * strides[None, :]
    reach_x = tf.maximum(tf.minimum(radius, width[:, None] / 2.0), half_stride)
    reach_y = tf.maximum(tf.minimum(radius, height[:, None] / 2.0), half_stride)
    near_x = tf.abs(centres[None, :, 0] - centre_x[:, None]) <= reach_x
    near_y = tf.abs(centres[None, :, 1] - centre_y[:, None]) <= reach_y
    return on_level & near_x & near_y


def _owners(claims: tf.Tensor, described: tf.Tensor) -> tf.Tensor:
    """(cells,) int32: each cell's smallest claiming box; an arbitrary index for a cell no box claims."""
    area = tf.where(claims, (described[:, 2] * described[:, 3])[:, None], np.inf)
    # A sentinel row that claims nothing keeps argmin defined for images without boxes.
    area = tf.concat([area, tf.fill([1, tf.shape(area)[1]], np.inf)], axis=0)
    return tf.argmin(area, axis=0, output_type=tf.int32)


def _box_targets(owned: tf.Tensor, centres: tf.Tensor, strides: tf.Tensor) -> tf.Tensor:
    """(cells, 4) `dx, dy, log_w, log_h` in strides, from each cell's box (cells, 4) `centre_x, centre_y, width, height`."""
    return tf.stack(
        [
            (owned[:, 0] - centres[:, 0]) / strides,
            (owned[:, 1] - centres[:, 1]) / strides,
            tf.math.log(owned[:, 2] / strides),
            tf.math.log(owned[:, 3] / strides),
        ],
        axis=1,
    )
