"""The detection loss of the original design, with the options that measure better.

- objectness: binary cross-entropy on every cell, focal-weighted by default (Lin et al. 2017;
  `focal_gamma` 0 gives the original design's plain cross-entropy);
- classes: binary cross-entropy per class on the cells that own a box, the EDA's class weight
  applied to each positive class target (a rare class's missed box costs more);
- boxes: mean squared error of `[dx, dy, log_w, log_h]` on the cells that own a box, or the
  GIoU loss (Rezatofighi et al., CVPR 2019) of the decoded boxes.

Class and box terms are averaged over positive cells (at least one); the focal objectness term
is summed and divided by the positive cells too, the plain one averaged over all cells. So an
image without boxes gives a finite loss driven by objectness alone. Written in
`keras.ops`, so it runs on the JAX backend too.

- study (optional, `study_weight`): the question a reader asks of the image, "is there a
  fracture?". The image's fracture score is its most confident fracture-class cell (objectness
  times class probability: the score of the detection that the image-level call reads,
  `fracdet_core.evaluate.fracture_call`), and the term is its binary cross-entropy against the
  image's truth (a fracture box anywhere), averaged over images: multiple-instance learning
  with max pooling over the detector's own evidence. On a normal image it pushes down the one
  false alarm that decides the study; the cell terms spread their weight over thousands of cells.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import keras
from keras import ops

from fracdet_core import defaults
from fracdet_core.classes import CLASS_NAMES, IS_FRACTURE
from fracdet_core.model.config import BOX_LOSSES


def _bce(targets, logits):  # noqa: ANN001, ANN202 - Keras tensors
    return ops.maximum(logits, 0.0) - logits * targets + ops.log1p(ops.exp(-ops.abs(logits)))


def study_term(targets, predictions):  # noqa: ANN001, ANN201 - Keras tensors (N, cells, 5 + C) -> a scalar
    """Cross-entropy of each image's most confident fracture-class cell against its truth, averaged over images."""
    fracture = ops.convert_to_tensor(IS_FRACTURE, dtype="float32")
    fractured = ops.cast(ops.max(targets[..., 4] * ops.max(targets[..., 5:] * fracture, axis=-1), axis=1) > 0, "float32")
    # log(objectness x class probability) of every fracture class; other classes at log 0 = -inf.
    log_scores = ops.log_sigmoid(predictions[..., 4:5]) + ops.log_sigmoid(predictions[..., 5:])
    log_scores = ops.where(fracture > 0, log_scores, -1e9)
    log_score = ops.minimum(ops.max(ops.reshape(log_scores, (ops.shape(log_scores)[0], -1)), axis=1), -1e-7)
    log_miss = ops.log(-ops.expm1(log_score))  # log(1 - score)
    return ops.mean(-(fractured * log_score + (1.0 - fractured) * log_miss))


def _giou_loss(targets, predictions):  # noqa: ANN001, ANN202
    """1 - GIoU of boxes given as (dx, dy, log_w, log_h) relative to the same cell, (..., 4) -> (...)."""

    def corners(boxes):  # noqa: ANN001, ANN202
        centre, size = boxes[..., 0:2], ops.exp(ops.clip(boxes[..., 2:4], -10.0, 10.0))
        return centre - size / 2.0, centre + size / 2.0, size

    t_low, t_high, t_size = corners(targets)
    p_low, p_high, p_size = corners(predictions)
    overlap = ops.prod(ops.maximum(ops.minimum(t_high, p_high) - ops.maximum(t_low, p_low), 0.0), axis=-1)
    union = ops.prod(t_size, axis=-1) + ops.prod(p_size, axis=-1) - overlap
    hull = ops.prod(ops.maximum(t_high, p_high) - ops.minimum(t_low, p_low), axis=-1)
    iou = overlap / ops.maximum(union, 1e-9)
    return 1.0 - (iou - (hull - union) / ops.maximum(hull, 1e-9))


def detection_loss_terms(
    targets,  # noqa: ANN001 - (N, cells, 5 + C)
    predictions,  # noqa: ANN001 - (N, cells, 5 + C)
    class_weights: Sequence[float],
    *,
    box_loss: str = defaults.BOX_LOSS,
    focal_gamma: float = defaults.FOCAL_GAMMA,
) -> dict:
    """The three loss terms, each a scalar."""
    targets = ops.cast(targets, "float32")
    predictions = ops.cast(predictions, "float32")
    positive = targets[..., 4]  # (N, cells)
    positives = ops.maximum(ops.sum(positive), 1.0)

    objectness_logits = predictions[..., 4]
    objectness = _bce(positive, objectness_logits)
    if focal_gamma:
        probability = ops.sigmoid(objectness_logits)
        p_t = positive * probability + (1.0 - positive) * (1.0 - probability)
        objectness = objectness * ops.power(1.0 - p_t, focal_gamma)
        objectness_term = ops.sum(objectness) / positives
    else:
        objectness_term = ops.mean(objectness)

    class_targets = targets[..., 5:]
    weights = ops.convert_to_tensor(list(class_weights), dtype="float32")
    per_class = _bce(class_targets, predictions[..., 5:]) * (1.0 + class_targets * (weights - 1.0))
    class_term = ops.sum(ops.sum(per_class, axis=-1) * positive) / positives

    if box_loss == "giou":
        box_errors = _giou_loss(targets[..., :4], predictions[..., :4])
    else:
        box_errors = ops.mean(ops.square(targets[..., :4] - predictions[..., :4]), axis=-1)
    box_term = ops.sum(box_errors * positive) / positives
    return {"box": box_term, "objectness": objectness_term, "classes": class_term}


@keras.saving.register_keras_serializable(package="fracdet")
class DetectionLoss(keras.losses.Loss):
    """Weighted sum of the three terms (and the study term), for `model.compile`.

    Args:
        class_weights: class name -> weight (the EDA's `class_weights.json`), or a sequence in
            class-id order; missing names weigh 1.
        box_loss: "mse" (the original design) or "giou".
        focal_gamma: 0 for plain cross-entropy on objectness, else the focal exponent.
        box_weight, objectness_weight, class_weight, study_weight: the terms' multipliers; the
            study term is left out (not computed) at 0.
    """

    def __init__(
        self,
        class_weights: Mapping[str, float] | Sequence[float] | None = None,
        box_loss: str = defaults.BOX_LOSS,
        focal_gamma: float = defaults.FOCAL_GAMMA,
        box_weight: float = 5.0,
        objectness_weight: float = 1.0,
        class_weight: float = 1.0,
        study_weight: float = 0.0,
        name: str = "detection_loss",
        **kwargs: object,
    ) -> None:
        super().__init__(name=name, **kwargs)
        if box_loss not in BOX_LOSSES:
            raise ValueError(f"box_loss must be one of {', '.join(BOX_LOSSES)}, got {box_loss!r}")
        if isinstance(class_weights, Mapping):
            class_weights = [float(class_weights.get(name, 1.0)) for name in CLASS_NAMES]
        self.class_weights = list(class_weights) if class_weights is not None else [1.0] * len(CLASS_NAMES)
        self.box_loss = box_loss
        self.focal_gamma = focal_gamma
        self.box_weight = box_weight
        self.objectness_weight = objectness_weight
        self.class_weight = class_weight
        self.study_weight = study_weight

    def call(self, y_true, y_pred):  # noqa: ANN001, ANN201
        terms = detection_loss_terms(
            y_true, y_pred, self.class_weights, box_loss=self.box_loss, focal_gamma=self.focal_gamma
        )
        total = (self.box_weight * terms["box"] + self.objectness_weight * terms["objectness"]
                 + self.class_weight * terms["classes"])
        if self.study_weight:
            total = total + self.study_weight * study_term(ops.cast(y_true, "float32"), ops.cast(y_pred, "float32"))
        # The batch's loss once per image, which Keras averages back to it: under tf.distribute
        # Keras divides only averaged per-image losses by the replica count, so a scalar would
        # make the replicas' summed gradients, and the logged loss, that many times too large.
        return ops.broadcast_to(total, ops.shape(y_pred)[:1])

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "class_weights": self.class_weights,
            "box_loss": self.box_loss,
            "focal_gamma": self.focal_gamma,
            "box_weight": self.box_weight,
            "objectness_weight": self.objectness_weight,
            "class_weight": self.class_weight,
            "study_weight": self.study_weight,
        }
