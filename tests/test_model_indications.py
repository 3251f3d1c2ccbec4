"""The indications head: its targets, its loss, its gradients, and what the serving signature returns of it."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf
from test_model import SMALL

from fracdet_core.classes import CLASS_NAMES, SCOPE_PARTS
from fracdet_core.model.assign import assign_targets
from fracdet_core.model.detector import build_detector
from fracdet_core.model.indications import (
    DETECTIONS,
    IN_SCOPE_UNKNOWN_PART,
    OUTPUT,
    IndicationsLoss,
    indications_target,
    with_indications_head,
)
from fracdet_core.model.loss import DetectionLoss
from fracdet_core.serving.saved_model import detect, load_serving
from fracdet_core.serving.signature import export_saved_model


@pytest.mark.parametrize(("classes", "in_scope", "expected"), [
    ([CLASS_NAMES.index("XR_HAND_positive")], 1, SCOPE_PARTS.index("HAND")),
    ([CLASS_NAMES.index("XR_SHOULDER_negative"), CLASS_NAMES.index("XR_SHOULDER_positive")], 1, SCOPE_PARTS.index("SHOULDER")),
    ([CLASS_NAMES.index("XR_ELBOW_negative")], 1, SCOPE_PARTS.index("ELBOW")),
    ([], 1, IN_SCOPE_UNKNOWN_PART),
    ([], 0, SCOPE_PARTS.index("OTHER")),
], ids=["hand-fracture", "shoulder-both", "elbow-normal", "unlabelled-negative", "out-of-scope"])
def test_the_target_is_the_boxes_part_other_out_of_scope_and_unknown_without_boxes(classes, in_scope, expected):
    target = indications_target(tf.constant(classes, tf.int32), tf.constant(in_scope, tf.int32))
    assert float(target) == expected


def _softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


def test_the_loss_is_the_cross_entropy_of_the_part_and_of_not_other_for_an_unknown_part():
    logits = np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32) * 3
    targets = np.array([0, 3, 5, IN_SCOPE_UNKNOWN_PART], np.float32)
    probabilities = _softmax(logits.astype(np.float64))
    expected = [-np.log(probabilities[0, 0]), -np.log(probabilities[1, 3]), -np.log(probabilities[2, 5]),
                -np.log(1.0 - probabilities[3, 5])]
    per_image = IndicationsLoss(reduction=None)(targets, logits)
    np.testing.assert_allclose(np.asarray(per_image), expected, rtol=1e-5)


def test_a_confident_right_answer_costs_almost_nothing_and_a_confident_wrong_one_much():
    confident_other = np.array([[-8, -8, -8, -8, -8, 8]], np.float32)
    loss = IndicationsLoss(reduction=None)
    assert float(loss(np.array([5.0]), confident_other)[0]) < 1e-3
    assert float(loss(np.array([float(IN_SCOPE_UNKNOWN_PART)]), confident_other)[0]) > 10


def _model() -> keras.Model:
    return with_indications_head(build_detector(SMALL), SMALL)


def test_the_head_shares_the_detector_and_every_weight_learns_from_the_two_losses():
    model = _model()
    images = tf.random.stateless_uniform((2, 128, 128, 1), seed=(1, 2))
    outputs = model(images, training=True)
    assert tuple(outputs[OUTPUT].shape) == (2, len(SCOPE_PARTS)) and outputs[OUTPUT].dtype == "float32"
    detector_only = build_detector(SMALL)
    assert len(model.trainable_weights) == len(detector_only.trainable_weights) + 2  # the dense layer's kernel and bias
    boxes = tf.constant([[0.3, 0.2, 0.7, 0.6]])
    targets = tf.stack([assign_targets(boxes, tf.constant([3]), SMALL)] * 2)
    with tf.GradientTape() as tape:
        outputs = model(images, training=True)
        loss = DetectionLoss()(targets, outputs[DETECTIONS]) + IndicationsLoss()(tf.constant([3.0, 5.0]), outputs[OUTPUT])
    for weight, gradient in zip(model.trainable_weights, tape.gradient(loss, model.trainable_weights), strict=True):
        assert gradient is not None and np.any(gradient.numpy() != 0), weight.path


def test_the_model_saves_and_loads_with_both_outputs(tmp_path):
    model = _model()
    images = np.random.default_rng(1).random((1, 128, 128, 1), dtype=np.float32)
    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.models.load_model(path)
    for name in (DETECTIONS, OUTPUT):
        np.testing.assert_allclose(restored(images)[name], model(images)[name], atol=1e-5)


def _png(seed: int, size: tuple[int, int] = (96, 140)) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, size=(*size, 1), dtype=np.uint8)
    return tf.io.encode_png(pixels).numpy()


def test_the_signature_returns_the_whole_images_part_probabilities_and_in_scope_score(tmp_path):
    config = dataclasses.replace(SMALL, fine_image_size=256, test_time_flip=True)
    model = with_indications_head(build_detector(config), config)
    export_saved_model(model, config, str(tmp_path / "saved_model"))
    found = detect(load_serving(str(tmp_path / "saved_model")), [_png(0), _png(1, (300, 200))])
    canvas = np.zeros((1, 128, 128, 1), np.float32)
    for detections in found:
        assert detections.body_part_probabilities.shape == (6,)
        assert detections.body_part_probabilities.sum() == pytest.approx(1.0, abs=1e-5)
        assert detections.in_scope_score == pytest.approx(1.0 - detections.body_part_probabilities[-1], abs=1e-5)
    assert not np.allclose(found[0].body_part_probabilities, found[1].body_part_probabilities)
    # The whole-image pass's answer: a blank image letterboxed to the model's input answers as the model does on it.
    blank = tf.io.encode_png(np.zeros((128, 128, 1), np.uint8)).numpy()
    served = detect(load_serving(str(tmp_path / "saved_model")), [blank])[0]
    direct = tf.nn.softmax(model(canvas)[OUTPUT], axis=-1).numpy()[0]
    np.testing.assert_allclose(served.body_part_probabilities, direct, atol=1e-4)


def test_a_model_without_the_head_serves_as_before(tmp_path):
    config = dataclasses.replace(SMALL, indications=False)
    export_saved_model(build_detector(config), config, str(tmp_path / "saved_model"))
    served = detect(load_serving(str(tmp_path / "saved_model")), [_png(0)])[0]
    assert served.body_part_probabilities is None and served.in_scope_score is None


def test_a_detached_head_learns_alone_and_leaves_the_detector_as_it_would_be():
    config = dataclasses.replace(SMALL, indications_detached=True)
    model = with_indications_head(build_detector(config), config)
    images = tf.random.stateless_uniform((2, 128, 128, 1), seed=(3, 4))
    with tf.GradientTape() as tape:
        loss = IndicationsLoss()(tf.constant([3.0, 5.0]), model(images, training=True)[OUTPUT])
    gradients = dict(zip([weight.path for weight in model.trainable_weights],
                         tape.gradient(loss, model.trainable_weights), strict=True))
    head = {path for path in gradients if path.startswith("indications_logits")}
    assert len(head) == 2 and all(np.any(gradients[path].numpy() != 0) for path in head)
    assert all(gradients[path] is None for path in gradients if path not in head)


def test_a_tower_gives_a_detached_head_convolutions_of_its_own_that_learn():
    config = dataclasses.replace(SMALL, indications_detached=True, indications_tower=2)
    model = with_indications_head(build_detector(config), config)
    images = tf.random.stateless_uniform((2, 128, 128, 1), seed=(5, 6))
    with tf.GradientTape() as tape:
        loss = IndicationsLoss()(tf.constant([1.0, 5.0]), model(images, training=True)[OUTPUT])
    learning = [weight.path for weight, gradient in zip(model.trainable_weights,
                                                        tape.gradient(loss, model.trainable_weights), strict=True)
                if gradient is not None and np.any(gradient.numpy() != 0)]
    assert {path.split("/")[0] for path in learning} == {"indications_tower_0", "indications_tower_1", "indications_logits"}
