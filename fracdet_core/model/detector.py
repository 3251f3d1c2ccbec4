"""Build the detector: residual backbone -> Feature Pyramid Network -> shared dense heads.

Backbone: a stride-2 stem, then stages of residual blocks, each stage entered with stride 2, so
stage k ends at level k + 2 (stride 2**(k + 2)). FPN (Lin et al., "Feature Pyramid Networks for
Object Detection", CVPR 2017): 1x1 lateral convolutions bring the chosen levels to one width, a
top-down path adds each coarser level, upsampled, to the next finer one, and a 3x3 convolution
smooths each sum. Heads are shared by all levels: a classification tower ending in one logit per
class and a box tower ending in four box numbers and one objectness logit.

Output: float32 (N, cells, 5 + classes), cells ordered level by level, row-major within a level
(see `fracdet_core.model.assign.grid`), channels `[dx, dy, log_w, log_h, objectness, classes...]`:
box centre offset from the cell centre and log box size, both in units of the level's stride.
"""

from __future__ import annotations

import math

import keras
from keras import layers

from fracdet_core.model.config import ModelConfig
from fracdet_core.model.layers import ConvBNAct, ResidualBlock

PRIOR_PROBABILITY = 0.01  # initial objectness and class probability (Lin et al., focal loss paper)


def build_detector(config: ModelConfig, *, fused_norm: bool = True) -> keras.Model:
    """The detector for grayscale `(config.image_size, config.image_size, 1)` inputs in [0, 1].

    With a `fine_image_size` the input side is left open: the same weights also run on the fine canvas.
    `fused_norm=False` builds Keras's own batch norm layers instead of the fused ones (`ConvBNAct`):
    the same model, weights and outputs, computed slower; for comparisons.
    """
    side = None if config.fine_image_size else config.image_size
    inputs = keras.Input((side, side, 1), name="image")
    features = _backbone(inputs, config, fused_norm)
    pyramid = _fpn(features, config, fused_norm)
    outputs = _heads(pyramid, config, fused_norm)
    return keras.Model(inputs, outputs, name="fracdet_detector")


def _backbone(inputs, config: ModelConfig, fused_norm: bool) -> dict[int, object]:  # noqa: ANN001
    """Feature maps by pyramid level."""
    x = ConvBNAct(config.stem_width, 3, 2, fused_norm=fused_norm, name="stem")(inputs)
    levels = {}
    for stage, (width, depth) in enumerate(zip(config.stage_widths, config.stage_depths, strict=True)):
        for block in range(depth):
            x = ResidualBlock(width, 2 if block == 0 else 1, fused_norm=fused_norm, name=f"stage{stage + 1}_block{block + 1}")(x)
        levels[stage + 2] = x
    return {level: levels[level] for level in config.fpn_levels}


def _fpn(features: dict[int, object], config: ModelConfig, fused_norm: bool) -> dict[int, object]:
    laterals = {level: layers.Conv2D(config.fpn_width, 1, name=f"fpn_lateral_p{level}")(x) for level, x in features.items()}
    merged = {}
    for level in sorted(laterals, reverse=True):
        coarser = merged.get(level + 1)
        merged[level] = laterals[level] if coarser is None else layers.Add(name=f"fpn_add_p{level}")(
            [laterals[level], layers.UpSampling2D(2, interpolation="nearest", name=f"fpn_up_p{level + 1}")(coarser)]
        )
    return {level: ConvBNAct(config.fpn_width, 3, fused_norm=fused_norm, name=f"fpn_smooth_p{level}")(merged[level])
            for level in config.fpn_levels}


def _heads(pyramid: dict[int, object], config: ModelConfig, fused_norm: bool):  # noqa: ANN202
    prior_bias = keras.initializers.Constant(-math.log((1 - PRIOR_PROBABILITY) / PRIOR_PROBABILITY))
    class_tower = [ConvBNAct(config.fpn_width, 3, fused_norm=fused_norm, name=f"class_tower_{i}")
                   for i in range(config.head_depth)]
    box_tower = [ConvBNAct(config.fpn_width, 3, fused_norm=fused_norm, name=f"box_tower_{i}") for i in range(config.head_depth)]
    class_out = layers.Conv2D(config.num_classes, 1, bias_initializer=prior_bias, name="class_logits")
    box_out = layers.Conv2D(4, 1, kernel_initializer=keras.initializers.RandomNormal(stddev=0.01), name="box")
    objectness_out = layers.Conv2D(1, 1, bias_initializer=prior_bias, name="objectness_logit")
    per_level = []
    for level in config.fpn_levels:
        class_features = box_features = pyramid[level]
        for conv in class_tower:
            class_features = conv(class_features)
        for conv in box_tower:
            box_features = conv(box_features)
        combined = layers.Concatenate(name=f"head_p{level}")(
            [box_out(box_features), objectness_out(box_features), class_out(class_features)]
        )
        per_level.append(layers.Reshape((-1, 5 + config.num_classes), name=f"cells_p{level}")(combined))
    concatenated = layers.Concatenate(axis=1, name="predictions")(per_level) if len(per_level) > 1 else per_level[0]
    return layers.Activation("linear", dtype="float32", name="predictions_float32")(concatenated)
