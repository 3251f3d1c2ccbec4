"""Export the trained detector as a SavedModel that TF Serving and KServe serve unchanged.

Signature `serving_default` (DESIGN.md): `images`, a string tensor (N,) of encoded PNG or JPEG
bytes of any size up to the serving limits, in; per image up to `max_detections` boxes out, after per-class
non-maximum suppression (`tf.image.combined_non_max_suppression`):
- `detection_boxes` float32 (N, K, 4): `ymin, xmin, ymax, xmax` normalised to the original image;
- `detection_scores` float32 (N, K), descending: objectness times class probability;
- `detection_classes` int32 (N, K): class ids;
- `num_detections` int32 (N,): valid rows.

Inside: check each image's bytes, format and pixel count from its header (`serving_guard`:
an image over `max_pixels` or `max_bytes`, or neither PNG nor JPEG, is refused with an
`InvalidArgumentError` before it is decoded), decode as grayscale, letterbox to the training
size, run the model, decode the cell predictions into boxes, map them back through the letterbox
to the original image, clip. The class names, input size, config and the two limits are written
beside the model in `fracdet_model.json`.
"""

from __future__ import annotations

import dataclasses
import json

import keras
import tensorflow as tf

from fracdet_core import storage
from fracdet_core.classes import CLASS_NAMES
from fracdet_core.ingest.limits import MAX_BYTES, MAX_PIXELS, check_positive
from fracdet_core.model.assign import decode_boxes
from fracdet_core.model.config import ModelConfig
from fracdet_core.train.augment import letterbox
from fracdet_core.train.serving_guard import checked_encoded_image

MAX_DETECTIONS = 100
SCORE_THRESHOLD = 0.01  # low: evaluation sweeps thresholds itself
IOU_THRESHOLD = 0.5


def letterbox_geometry(height: tf.Tensor, width: tf.Tensor, size: int) -> tf.Tensor:
    """(scale, top, left) of `letterbox` for an image of height x width, float32 (3,)."""
    height, width = tf.cast(height, tf.float32), tf.cast(width, tf.float32)
    scale = size / tf.maximum(height, width)
    new_height = tf.maximum(tf.round(height * scale), 1.0)
    new_width = tf.maximum(tf.round(width * scale), 1.0)
    top = tf.math.floordiv(size - new_height, 2.0)
    left = tf.math.floordiv(size - new_width, 2.0)
    return tf.stack([new_height / height, new_width / width, top, left])


def to_original(boxes_px: tf.Tensor, height: tf.Tensor, width: tf.Tensor, size: int) -> tf.Tensor:
    """Boxes (..., 4) `ymin, xmin, ymax, xmax` in letterboxed pixels -> normalised to the original, clipped."""
    scale_y, scale_x, top, left = tf.unstack(letterbox_geometry(height, width, size))
    ymin, xmin, ymax, xmax = tf.unstack(boxes_px, axis=-1)
    height, width = tf.cast(height, tf.float32), tf.cast(width, tf.float32)
    original = tf.stack([(ymin - top) / scale_y / height, (xmin - left) / scale_x / width,
                         (ymax - top) / scale_y / height, (xmax - left) / scale_x / width], axis=-1)
    return tf.clip_by_value(original, 0.0, 1.0)


def export_saved_model(
    model: keras.Model, config: ModelConfig, out: str, *, max_pixels: int = MAX_PIXELS, max_bytes: int = MAX_BYTES
) -> str:
    """Write the SavedModel with its serving signature and `fracdet_model.json` to `out`; returns `out`.

    Args:
        max_pixels, max_bytes: the signature refuses larger images before decoding them
            (defaults: `ingest.limits`, where they are justified).

    Raises:
        ConfigError: a limit below 1.
    """
    check_positive("max_pixels", max_pixels)
    check_positive("max_bytes", max_bytes)
    size = config.image_size

    def prepare(item: tuple[tf.Tensor, tf.Tensor]) -> tuple[tf.Tensor, tf.Tensor]:
        encoded, index = item
        encoded = checked_encoded_image(encoded, index, max_pixels, max_bytes)
        image = tf.io.decode_image(encoded, channels=1, dtype=tf.float32, expand_animations=False)
        canvas, _ = letterbox(image, tf.zeros([0, 4]), size)
        return canvas, tf.shape(image)[:2]

    def serve(images: tf.Tensor) -> dict[str, tf.Tensor]:
        canvases, shapes = tf.map_fn(
            prepare, (images, tf.range(tf.shape(images)[0])),
            parallel_iterations=1,  # one decoded image at a time: a request's peak memory is one image at the limit
            fn_output_signature=(tf.TensorSpec([size, size, 1], tf.float32), tf.TensorSpec([2], tf.int32)),
        )
        predictions = tf.cast(model(canvases, training=False), tf.float32)  # (N, cells, 5 + C)
        boxes_px = decode_boxes(predictions, config)
        boxes = tf.map_fn(lambda item: to_original(item[0], item[1][0], item[1][1], size), (boxes_px, shapes),
                          fn_output_signature=tf.float32)
        scores = tf.sigmoid(predictions[..., 4:5]) * tf.sigmoid(predictions[..., 5:])
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

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serving_default", serve, input_signature=[tf.TensorSpec([None], tf.string, name="images")])
    archive.write_out(out, verbose=False)
    description = {
        "class_names": list(CLASS_NAMES),
        "input_size": size,
        "model_config": dataclasses.asdict(config),
        "max_detections": MAX_DETECTIONS,
        "score_threshold": SCORE_THRESHOLD,
        "iou_threshold": IOU_THRESHOLD,
        "input_limits": {"max_pixels": max_pixels, "max_bytes": max_bytes},
    }
    storage.write_text(storage.join(out, "fracdet_model.json"), json.dumps(description, indent=2) + "\n")
    return out
