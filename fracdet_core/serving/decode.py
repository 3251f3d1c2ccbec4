"""From the detector's cell predictions to the signature's detections: boxes, scores, NMS.

The detector predicts per cell `[dx, dy, log_w, log_h, objectness, class logits]` (the targets of
`fracdet_core.model.assign`, which this inverts). A detection's score is objectness times class
probability; per-class non-maximum suppression (`tf.image.combined_non_max_suppression`) keeps at
most `MAX_DETECTIONS` per image, sorted by score.
"""

from __future__ import annotations

import tensorflow as tf
from keras import ops

from fracdet_core.model.assign import grid
from fracdet_core.model.config import ModelConfig

MAX_DETECTIONS = 100
SCORE_THRESHOLD = 0.01  # low: evaluation sweeps thresholds itself
IOU_THRESHOLD = 0.5


def decode_boxes(predictions: tf.Tensor, config: ModelConfig, size: int | None = None) -> tf.Tensor:
    """Predicted boxes (N, cells, 4) as `ymin, xmin, ymax, xmax` in canvas pixels, from predictions (N, cells, 5 + C).

    `size`: the side of the canvas the predictions were made on (default `config.image_size`).
    """
    centres, strides, _ = grid(config, size)
    strides = strides[:, None]
    centre = centres + predictions[..., 0:2] * strides
    size = ops.exp(ops.clip(predictions[..., 2:4], -10.0, 10.0)) * strides
    top_left, bottom_right = centre - size / 2.0, centre + size / 2.0
    return ops.stack([top_left[..., 1], top_left[..., 0], bottom_right[..., 1], bottom_right[..., 0]], axis=-1)


def mirrored_predictions(predictions: tf.Tensor, config: ModelConfig, size: int) -> tf.Tensor:
    """Predictions (N, cells, 5 + C) made on a canvas mirrored left to right, as made on the canvas itself.

    Each level's grid is mirrored back (cells are level by level, row-major) and the centre's x offset changes sign;
    the sizes, objectness and classes of a mirrored box are its own.
    """
    levels = []
    start = 0
    for side in config.grid_sizes(size):
        level = predictions[:, start:start + side * side]
        start += side * side
        level = tf.reverse(tf.reshape(level, [-1, side, side, level.shape[-1]]), axis=[2])
        levels.append(tf.reshape(level, [-1, side * side, level.shape[-1]]))
    mirrored = tf.concat(levels, axis=1)
    return tf.concat([-mirrored[..., :1], mirrored[..., 1:]], axis=-1)


def detection_scores(predictions: tf.Tensor) -> tf.Tensor:
    """Per class scores (N, cells, C): objectness times class probability."""
    return tf.sigmoid(predictions[..., 4:5]) * tf.sigmoid(predictions[..., 5:])


def select_detections(boxes: tf.Tensor, scores: tf.Tensor) -> dict[str, tf.Tensor]:
    """The signature's outputs from boxes (N, cells, 4) and scores (N, cells, C), after per-class NMS."""
    selected = tf.image.combined_non_max_suppression(
        boxes[:, :, None, :], scores, max_output_size_per_class=MAX_DETECTIONS, max_total_size=MAX_DETECTIONS,
        iou_threshold=IOU_THRESHOLD, score_threshold=SCORE_THRESHOLD, clip_boxes=False,
    )
    return {
        "detection_boxes": selected.nmsed_boxes,
        "detection_scores": selected.nmsed_scores,
        "detection_classes": tf.cast(selected.nmsed_classes, tf.int32),
        "num_detections": tf.cast(selected.valid_detections, tf.int32),
    }
