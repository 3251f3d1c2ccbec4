"""The indications head: its targets, its loss, its gradients, and what the serving signature returns of it."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf
from test_model import SMALL

from fracdet_core.classes import CLASS_NAMES, SCOPE_PARTS
from fracdet_core.model.detector import build_detector
from fracdet_core.model.indications import (
    DETECTIONS,
    IN_SCOPE_UNKNOWN_PART,
    OUTPUT,
    IndicationsLoss,
    indications_target,
    with_indications_head,
)
from fracdet_core.serving.saved_model import detect, load_serving
from fracdet_core.serving.signature import export_saved_model
from fracdet_core.train.config import TrainConfig
from fracdet_core.train.indications_phase import indications_learner, release


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


def test_the_head_shares_the_detectors_layers_and_adds_its_own():
    detector = build_detector(SMALL)
    model = with_indications_head(detector, SMALL)
    outputs = model(tf.random.stateless_uniform((2, 128, 128, 1), seed=(1, 2)), training=True)
    assert tuple(outputs[OUTPUT].shape) == (2, len(SCOPE_PARTS)) and outputs[OUTPUT].dtype == "float32"
    detector_weights = {id(weight) for weight in detector.weights}
    head = {weight.path.split("/")[0] for weight in model.weights if id(weight) not in detector_weights}
    assert head == {"indications_tower_0", "indications_tower_1", "indications_logits"}


def _weights(model: keras.Model) -> dict[str, np.ndarray]:
    return {weight.path: np.array(weight) for weight in model.weights}


def test_the_learner_trains_the_head_alone_and_leaves_every_detector_weight_and_statistic_as_it_was():
    detector = build_detector(SMALL)
    before = _weights(detector)
    served, learner = indications_learner(detector, SMALL, TrainConfig(indications_epochs=2, batch_size=4), 2)
    head_before = {path: value for path, value in _weights(served).items() if path not in before}
    images = tf.random.stateless_uniform((8, 128, 128, 1), seed=(3, 4))
    learner.fit(images, tf.constant([0.0, 1, 2, 3, 4, 5, IN_SCOPE_UNKNOWN_PART, 5]), batch_size=4, epochs=2, verbose=0)
    after = _weights(detector)
    # Batch norm's moving statistics too: a frozen backbone runs in inference mode.
    for path, value in before.items():
        np.testing.assert_array_equal(after[path], value, err_msg=path)
    head_after = _weights(served)
    assert all(not np.array_equal(head_after[path], value) for path, value in head_before.items()
               if "moving" not in path and "gamma" not in path)
    release(detector)
    assert all(layer.trainable for layer in detector.layers)


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
