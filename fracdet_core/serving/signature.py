"""Export the trained detector as a SavedModel that TF Serving and KServe serve unchanged.

Signature `serving_default` (docs/architecture.md, "The exported model"): `images`, a string tensor (N,) of encoded PNG or JPEG
bytes of any size up to the serving limits, in; per image up to `MAX_DETECTIONS` boxes out, after per-class
non-maximum suppression (`decode`):
- `detection_boxes` float32 (N, K, 4): `ymin, xmin, ymax, xmax` normalised to the original image;
- `detection_scores` float32 (N, K), descending: objectness times class probability;
- `detection_classes` int32 (N, K): class ids;
- `num_detections` int32 (N,): valid rows;
- for a model with the indications output (`ModelConfig.indications`): `body_part_probabilities`
  float32 (N, 6) over the five body parts and OTHER, from the whole image (a fine crop shows only
  part of the body), and `in_scope_score` float32 (N,), their five parts' sum.

Inside: check each image's bytes, format and pixel count from its header (`guard`: an image over
`max_pixels` or `max_bytes`, or neither PNG nor JPEG, is refused with an `InvalidArgumentError`
before it is decoded), decode as grayscale, letterbox to the training size (`letterbox`, as
training does), run the model, decode the cell predictions into boxes, map them back through the
letterbox to the original image, clip. The class names, input size, config and the two limits are
written beside the model in `fracdet_model.json`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable

import keras
import tensorflow as tf

from fracdet_core import storage
from fracdet_core.classes import CLASS_NAMES
from fracdet_core.limits import MAX_BYTES, MAX_PIXELS, check_positive
from fracdet_core.model.config import ModelConfig
from fracdet_core.model.indications import DETECTIONS, in_scope_score
from fracdet_core.model.indications import OUTPUT as INDICATIONS
from fracdet_core.serving.decode import (
    IOU_THRESHOLD,
    MAX_DETECTIONS,
    SCORE_THRESHOLD,
    decode_boxes,
    detection_scores,
    mirrored_predictions,
    select_detections,
)
from fracdet_core.serving.guard import checked_encoded_image
from fracdet_core.serving.letterbox import letterbox, to_original

DESCRIPTION_FILE = "fracdet_model.json"


def export_saved_model(
    model: keras.Model, config: ModelConfig, out: str, *, max_pixels: int = MAX_PIXELS, max_bytes: int = MAX_BYTES
) -> str:
    """Write the SavedModel with its serving signature and `fracdet_model.json` to `out`; returns `out`.

    Args:
        max_pixels, max_bytes: the signature refuses larger images before decoding them
            (defaults: `fracdet_core.limits`, where they are justified).

    Raises:
        ConfigError: a limit below 1.
    """
    check_positive("max_pixels", max_pixels)
    check_positive("max_bytes", max_bytes)
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serving_default", serving_function(model, config, max_pixels, max_bytes),
                         input_signature=[tf.TensorSpec([None], tf.string, name="images")])
    archive.write_out(out, verbose=False)
    description = _description(config, max_pixels, max_bytes)
    storage.write_text(storage.join(out, DESCRIPTION_FILE), json.dumps(description, indent=2) + "\n")
    return out


def serving_function(
    model: keras.Model, config: ModelConfig, max_pixels: int, max_bytes: int
) -> Callable[[tf.Tensor], dict[str, tf.Tensor]]:
    """The signature's body: encoded images (N,) -> the detection outputs, and the indications outputs where the model has them.

    With a `fine_image_size` the model runs on both canvases; the fine pass answers for boxes up
    to `config.fine_box_limit` fine-canvas pixels, the whole-image pass for larger ones (each
    pass's other boxes score 0, under NMS's score threshold), and one NMS merges the two.
    """
    sizes = (config.image_size, config.fine_image_size) if config.fine_image_size else (config.image_size,)

    def prepare(item: tuple[tf.Tensor, tf.Tensor]) -> tuple[tuple[tf.Tensor, ...], tf.Tensor]:
        encoded, index = item
        encoded = checked_encoded_image(encoded, index, max_pixels, max_bytes)
        image = tf.io.decode_image(encoded, channels=1, dtype=tf.float32, expand_animations=False)
        return tuple(letterbox(image, tf.zeros([0, 4]), size)[0] for size in sizes), tf.shape(image)[:2]

    def serve(images: tf.Tensor) -> dict[str, tf.Tensor]:
        canvases, shapes = tf.map_fn(
            prepare, (images, tf.range(tf.shape(images)[0])),
            parallel_iterations=1,  # one decoded image at a time: a request's peak memory is one image at the limit
            fn_output_signature=(tuple(tf.TensorSpec([size, size, 1], tf.float32) for size in sizes),
                                 tf.TensorSpec([2], tf.int32)),
        )
        passes = [_detect_on_canvases(model, config, size, canvas, shapes) for size, canvas in zip(sizes, canvases, strict=True)]
        # Cells of the whole-image pass first, then the fine pass's.
        outputs = select_detections(tf.concat([boxes for boxes, _, _ in passes], axis=1),
                                    tf.concat([scores for _, scores, _ in passes], axis=1))
        probabilities = passes[0][2]  # the whole image's answer: a fine crop shows only part of the body
        if probabilities is not None:
            outputs.update(body_part_probabilities=probabilities, in_scope_score=in_scope_score(probabilities))
        return outputs

    return serve


def _detect_on_canvases(model: keras.Model, config: ModelConfig, size: int, canvases: tf.Tensor,
                        shapes: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor | None]:
    """(boxes (N, cells, 4) normalised to each original image, scores (N, cells, C), body part probabilities (N, 6) or
    None for a model without the indications output) of the model on `size` canvases."""
    predictions, probabilities = _run(model, canvases)
    if config.test_time_flip:
        mirrored, mirrored_probabilities = _run(model, tf.reverse(canvases, axis=[2]))
        predictions = (predictions + mirrored_predictions(mirrored, config, size)) / 2.0
        if probabilities is not None:
            probabilities = (probabilities + mirrored_probabilities) / 2.0
    boxes_px = decode_boxes(predictions, config, size)
    boxes = tf.map_fn(lambda item: to_original(item[0], item[1][0], item[1][1], size),
                      (boxes_px, shapes), fn_output_signature=tf.float32)
    scores = detection_scores(predictions)
    if config.fine_image_size:
        scores = scores * _kept_sizes(boxes_px, size, config)[..., None]
    return boxes, scores, probabilities


def _run(model: keras.Model, canvases: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor | None]:
    """The cell predictions (N, cells, 5 + C), and the body part probabilities (N, 6) where the model has that output."""
    outputs = model(canvases, training=False)
    if not isinstance(outputs, dict):
        return tf.cast(outputs, tf.float32), None
    return tf.cast(outputs[DETECTIONS], tf.float32), tf.nn.softmax(tf.cast(outputs[INDICATIONS], tf.float32), axis=-1)


def _kept_sizes(boxes_px: tf.Tensor, size: int, config: ModelConfig) -> tf.Tensor:
    """1.0 where this pass answers for a box of this size on its `size` canvas, else 0.0.

    The fine pass keeps boxes whose longer side is up to `fine_box_limit`, the whole-image pass the larger ones.
    """
    longer_side_px = tf.maximum(boxes_px[..., 2] - boxes_px[..., 0], boxes_px[..., 3] - boxes_px[..., 1])
    limit = config.fine_box_limit * size / config.fine_image_size
    keep = longer_side_px <= limit if size == config.fine_image_size else longer_side_px > limit
    return tf.cast(keep, tf.float32)


def _description(config: ModelConfig, max_pixels: int, max_bytes: int) -> dict:
    """What `fracdet_model.json` says about the model: enough to call it and read its outputs."""
    return {
        "class_names": list(CLASS_NAMES),
        "input_size": config.image_size,
        "fine_input_size": config.fine_image_size,
        "model_config": dataclasses.asdict(config),
        "max_detections": MAX_DETECTIONS,
        "score_threshold": SCORE_THRESHOLD,
        "iou_threshold": IOU_THRESHOLD,
        "input_limits": {"max_pixels": max_pixels, "max_bytes": max_bytes},
    }
