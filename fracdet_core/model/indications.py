"""The model's answer to "is this within the product's indications, and which body part is it?".

A fracture detector trained on five body parts answers every image as one of them: a chest film
or a CT slice gets a fracture call (issue 34). Beside the detections the model therefore
classifies the whole image over `SCOPE_PARTS` (the five parts and OTHER), from the deepest
backbone stage the pyramid uses: a few convolutions of its own (`ModelConfig.indications_tower`),
then pooled over the image, both averaged (what the image is mostly) and maxed (a feature anywhere,
such as a rib cage's arches, is evidence), and one dense layer. The head trains after the detector,
on its frozen backbone (`fracdet_core.train.indications_phase`): out-of-scope images never take
a place in the detector's batches, so its detections are what they would be without the head.
The in-scope score is the probability of the five parts together, `1 - p(OTHER)`.

Training target per image (`indications_target`): the body part of its boxes (0-4), OTHER (5) for
an out-of-scope image, and `IN_SCOPE_UNKNOWN_PART` (-1) for an in-scope image without boxes (the
real dataset's unlabelled negatives): its part is unknown, so only "not OTHER" is taught.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from fracdet_core.classes import BODY_PARTS, OTHER, SCOPE_PARTS
from fracdet_core.model.config import ModelConfig
from fracdet_core.model.layers import ConvBNAct

OUTPUT = "indications"  # the name of the model's indications output, and of its loss
DETECTIONS = "predictions"  # the name of the detection output beside it
OTHER_INDEX = SCOPE_PARTS.index(OTHER)
IN_SCOPE_UNKNOWN_PART = -1


def with_indications_head(detector: keras.Model, config: ModelConfig) -> keras.Model:
    """The detector with a second output, the indications logits (N, 6) over `SCOPE_PARTS`.

    The outputs are a dict: `DETECTIONS` (the detector's own) and `OUTPUT`; the weights of the
    detector are shared, not copied.
    """
    stage = config.fpn_levels[-1] - 1  # stage k ends at level k + 1 (`detector`); deeper stages are not built
    deepest = detector.get_layer(f"stage{stage}_block{config.stage_depths[stage - 1]}").output
    for index in range(config.indications_tower):
        deepest = ConvBNAct(config.fpn_width, 3, name=f"indications_tower_{index}")(deepest)
    pooled = layers.Concatenate(name="indications_pooled")([
        layers.GlobalAveragePooling2D(name="indications_average")(deepest),
        layers.GlobalMaxPooling2D(name="indications_max")(deepest),
    ])
    logits = layers.Dense(len(SCOPE_PARTS), name="indications_logits")(pooled)
    logits = layers.Activation("linear", dtype="float32", name="indications_float32")(logits)
    return keras.Model(detector.input, {DETECTIONS: detector.output, OUTPUT: logits}, name=detector.name)


def indications_target(classes, in_scope):  # noqa: ANN001, ANN201 - tensors (N,) int32 and a scalar -> a scalar
    """One image's target (float32): its boxes' body part, OTHER out of scope, `IN_SCOPE_UNKNOWN_PART` without boxes.

    Class ids are `XR_<part>_positive` for 0-4 and `XR_<part>_negative` for 5-9, in `BODY_PARTS`
    order, so a box's part is its class id modulo 5; an image's boxes share its part.
    """
    import tensorflow as tf

    part = tf.cond(tf.size(classes) > 0, lambda: tf.math.floormod(classes[0], len(BODY_PARTS)),
                   lambda: tf.constant(IN_SCOPE_UNKNOWN_PART, tf.int32))
    return tf.cast(tf.where(tf.cast(in_scope, tf.bool), part, OTHER_INDEX), tf.float32)


@keras.saving.register_keras_serializable(package="fracdet")
class IndicationsLoss(keras.losses.Loss):
    """Cross-entropy of the image's target over `SCOPE_PARTS`; for an in-scope image of unknown part, of "not OTHER"."""

    def __init__(self, name: str = "indications_loss", **kwargs: object) -> None:
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):  # noqa: ANN001, ANN201 - (N,) or (N, 1) targets, (N, 6) logits -> (N,)
        targets = ops.reshape(ops.cast(y_true, "float32"), (-1,))
        log_p = ops.log_softmax(ops.cast(y_pred, "float32"), axis=-1)
        known = ops.one_hot(ops.cast(ops.maximum(targets, 0.0), "int32"), len(SCOPE_PARTS))
        known_loss = -ops.sum(known * log_p, axis=-1)
        in_scope_loss = -ops.logsumexp(log_p[:, :OTHER_INDEX], axis=-1)
        return ops.where(targets < 0, in_scope_loss, known_loss)


def in_scope_score(probabilities):  # noqa: ANN001, ANN201 - (N, 6) -> (N,)
    """The probability of the five parts together: 1 - p(OTHER), computed as their sum so it is exact near 1."""
    return ops.sum(probabilities[:, :OTHER_INDEX], axis=-1)
