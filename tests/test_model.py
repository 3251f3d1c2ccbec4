"""The detector: shapes, gradient flow, serialisation, and its config's checks."""

from __future__ import annotations

import inspect

import keras
import numpy as np
import pytest
import tensorflow as tf

from fracdet_core.errors import ConfigError
from fracdet_core.model.assign import assign_targets
from fracdet_core.model.config import ModelConfig
from fracdet_core.model.detector import build_detector
from fracdet_core.model.layers import ConvBNAct, ResidualBlock
from fracdet_core.model.loss import DetectionLoss, detection_loss_terms
from fracdet_core.train.config import TrainConfig

SMALL = ModelConfig(image_size=128, stem_width=8, stage_widths=(8, 16, 16, 24, 32), stage_depths=(1, 1, 1, 1, 1), fpn_width=16,
                    head_depth=1)


@pytest.mark.parametrize(
    "config",
    [SMALL, ModelConfig(),
     ModelConfig(image_size=192, fpn_levels=(3, 4, 5, 6), stage_widths=(8, 8, 16, 16, 24), stage_depths=(1, 1, 1, 1, 1))],
    ids=["small-128", "default-256", "four-levels-192"],
)
def test_output_has_one_row_per_cell(config):
    model = build_detector(config)
    outputs = model(np.zeros((2, config.image_size, config.image_size, 1), np.float32))
    assert tuple(outputs.shape) == (2, sum(side * side for side in config.grid_sizes()), 5 + 10)
    assert outputs.dtype == "float32"


def test_initial_probabilities_start_at_the_prior():
    outputs = build_detector(SMALL)(np.random.default_rng(0).random((1, 128, 128, 1), dtype=np.float32))
    probabilities = tf.sigmoid(outputs[..., 4:]).numpy()
    assert 0.003 < probabilities.mean() < 0.03


def test_every_weight_receives_a_gradient():
    model = build_detector(SMALL)
    boxes = tf.constant([[0.1, 0.1, 0.14, 0.16], [0.3, 0.2, 0.7, 0.6], [0.0, 0.0, 1.0, 1.0]])
    targets = assign_targets(boxes, tf.constant([0, 5, 9]), SMALL)[None]
    images = tf.random.stateless_uniform((1, 128, 128, 1), seed=(1, 2))
    with tf.GradientTape() as tape:
        loss = DetectionLoss()(targets, model(images, training=True))
    gradients = tape.gradient(loss, model.trainable_weights)
    assert len(gradients) == len(model.trainable_weights) > 0
    for weight, gradient in zip(model.trainable_weights, gradients, strict=True):
        assert gradient is not None, weight.path
        assert np.all(np.isfinite(gradient.numpy())), weight.path
        assert np.any(gradient.numpy() != 0), weight.path


def test_the_loss_defaults_are_the_trainers():
    """A loss built without arguments is the one training uses: focal objectness, MSE boxes."""
    loss = DetectionLoss()
    assert (loss.box_loss, loss.focal_gamma) == (TrainConfig().box_loss, TrainConfig().focal_gamma) == ("mse", 2.0)
    terms = inspect.signature(detection_loss_terms).parameters
    assert (terms["box_loss"].default, terms["focal_gamma"].default) == ("mse", 2.0)


@pytest.mark.parametrize(("layer", "arguments"), [
    (ConvBNAct, {"filters": 8, "kernel_size": 1, "strides": 2, "activation": False, "fused_norm": False}),
    (ResidualBlock, {"filters": 12, "strides": 2, "fused_norm": False}),
])
def test_layer_config_is_exactly_its_constructor_arguments(layer, arguments):
    instance = layer(**arguments, name="probe")
    config = instance.get_config()
    expected = set(inspect.signature(layer.__init__).parameters) - {"self", "kwargs"}
    assert {key: config[key] for key in expected} == arguments
    assert layer.from_config(config).get_config() == config


def test_saved_model_file_round_trip(tmp_path):
    model = build_detector(SMALL)
    images = np.random.default_rng(3).random((1, 128, 128, 1), dtype=np.float32)
    path = tmp_path / "detector.keras"
    model.save(path)
    restored = keras.models.load_model(path)
    np.testing.assert_allclose(restored(images).numpy(), model(images).numpy(), atol=1e-5)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"stage_depths": (1, 1)}, "one entry per stage"),
        ({"fpn_levels": (3, 5)}, "consecutive"),
        ({"fpn_levels": (3, 4, 9)}, r"within \[2, 5\]"),
        ({"image_size": 100}, "multiple of 32"),
        ({"stage_widths": (8, 0, 8, 8)}, "at least 1"),
        ({"fine_image_size": 256}, "above image_size 256"),
        ({"fine_image_size": 500}, "fine_image_size must be 0 or a multiple of 32"),
        ({"fine_box_share": 0.0}, r"fine_box_share must be within \(0, 1\], got 0.0"),
        ({"fine_box_share": 1.5}, r"fine_box_share must be within \(0, 1\], got 1.5"),
    ],
)
def test_config_rejects_bad_values(changes, message):
    with pytest.raises(ConfigError, match=message):
        ModelConfig(**changes)
