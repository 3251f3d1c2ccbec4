"""Target assignment on hand-made boxes, and the loss's behaviour."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from fracdet_core.classes import CLASS_NAMES
from fracdet_core.model.assign import assign_targets, grid
from fracdet_core.model.config import ModelConfig
from fracdet_core.model.detector import build_detector
from fracdet_core.model.loss import DetectionLoss, detection_loss_terms, study_term
from fracdet_core.serving.decode import decode_boxes

CONFIG = ModelConfig()  # 256 px, strides 8, 16, 32
CENTRES, STRIDES, _ = grid(CONFIG)


def _targets(boxes_px, classes):
    boxes = tf.constant(np.array(boxes_px, np.float32).reshape(-1, 4) / CONFIG.image_size)
    return assign_targets(boxes, tf.constant(classes, tf.int32), CONFIG).numpy()


def _positive(targets):
    return np.flatnonzero(targets[:, 4])


def test_a_tiny_box_claims_its_own_cell_on_the_finest_level():
    targets = _targets([[100, 100, 104, 103]], [1])  # 3 x 4 px: smaller than a cell
    cells = _positive(targets)
    assert set(STRIDES[cells]) == {8.0}
    centre = np.array([101.5, 102.0])
    own = np.argmin(np.where(STRIDES == 8, np.abs(CENTRES - centre).max(axis=1), np.inf))
    assert list(cells) == [own]  # smaller than a cell: only the cell holding its centre
    assert np.all(targets[cells, 5:].argmax(axis=1) == 1)


def test_a_huge_box_goes_to_the_coarsest_level():
    cells = _positive(_targets([[12, 10, 248, 240]], [9]))  # centre (125, 130), off the cell boundaries
    assert set(STRIDES[cells]) == {32.0} and len(cells) == 9


@pytest.mark.parametrize(("side", "stride"), [(40, 8), (64, 8), (65, 16), (128, 16), (129, 32)])
def test_the_level_follows_the_longer_side(side, stride):
    cells = _positive(_targets([[60, 60, 60 + side, 70]], [0]))
    assert set(STRIDES[cells]) == {stride}


def test_a_box_at_the_border_claims_only_cells_inside_the_image():
    targets = _targets([[0, 0, 6, 6]], [4])
    cells = _positive(targets)
    assert len(cells) == 1 and np.all(CENTRES[cells] == 4)  # the corner cell, the one holding its centre


def test_a_thin_box_claims_only_cells_inside_it():
    box = [96, 72, 106, 112]  # ymin, xmin, ymax, xmax: 40 x 10 px, like a break line across a shaft
    cells = _positive(_targets([box], [1]))
    x, y = CENTRES[cells, 0], CENTRES[cells, 1]
    assert set(STRIDES[cells]) == {8.0}
    assert set(y) == {100.0}  # one row: the rows above and below see intact bone, not the break
    assert set(x) == {84.0, 92.0, 100.0}  # within 1.5 strides of the centre (92) and inside the box


def test_a_shared_cell_goes_to_the_smaller_box():
    small, large = [120, 120, 140, 140], [100, 100, 160, 160]  # both on the finest level, same centre
    targets = _targets([large, small], [5, 0])
    cells = _positive(targets)
    assert np.all(targets[cells, 5:].argmax(axis=1) == 0)


def test_box_targets_decode_back_to_the_box():
    box = [30.0, 50.0, 90.0, 70.0]  # ymin, xmin, ymax, xmax
    targets = _targets([box], [2])
    decoded = decode_boxes(targets[None, :, :], CONFIG).numpy()[0]
    for cell in _positive(targets):
        np.testing.assert_allclose(decoded[cell], box, atol=1e-3)


def test_an_image_without_boxes_has_no_targets_and_a_finite_loss():
    targets = _targets(np.zeros((0, 4)), [])
    assert not targets.any()
    predictions = np.random.default_rng(0).normal(size=(1, *targets.shape)).astype(np.float32)
    terms = detection_loss_terms(targets[None], predictions, [1.0] * 10)
    assert float(terms["box"]) == 0.0 and float(terms["classes"]) == 0.0 and np.isfinite(float(terms["objectness"]))


def test_class_weights_scale_the_positive_class_term():
    targets = _targets([[100, 100, 120, 120]], [3])[None]
    predictions = np.zeros_like(targets)
    plain = detection_loss_terms(targets, predictions, [1.0] * 10)["classes"]
    weights = [1.0] * 10
    weights[3] = 4.0
    heavier = detection_loss_terms(targets, predictions, weights)["classes"]
    other = [1.0] * 10
    other[7] = 4.0
    # every class logit is 0: the positive class costs log 2, each of the 9 others log 2
    assert float(plain) == pytest.approx(10 * np.log(2), rel=1e-5)
    assert float(heavier) == pytest.approx(13 * np.log(2), rel=1e-5)
    assert float(detection_loss_terms(targets, predictions, other)["classes"]) == pytest.approx(float(plain))
    by_name = DetectionLoss(class_weights={"XR_HAND_positive": 4.0})
    assert by_name.class_weights == weights and CLASS_NAMES[3] == "XR_HAND_positive"


@pytest.mark.slow
@pytest.mark.parametrize("box_loss", ["mse", "giou"])
def test_the_loss_falls_on_a_fixed_batch(box_loss):
    config = ModelConfig(image_size=128, stem_width=8, stage_widths=(8, 16, 16, 24, 32), stage_depths=(1, 1, 1, 1, 1),
                         fpn_width=16, head_depth=1)
    rng = np.random.default_rng(0)
    images = rng.random((4, 128, 128, 1), dtype=np.float32)
    boxes = [tf.constant([[0.2, 0.2, 0.3, 0.35]]), tf.constant([[0.1, 0.5, 0.9, 0.7]]), tf.zeros([0, 4]),
             tf.constant([[0.4, 0.4, 0.45, 0.5]])]
    classes = [tf.constant([0]), tf.constant([6]), tf.zeros([0], tf.int32), tf.constant([3])]
    targets = tf.stack([assign_targets(b, c, config) for b, c in zip(boxes, classes, strict=True)])
    keras_model = build_detector(config)
    keras_model.compile(optimizer="adam", loss=DetectionLoss(box_loss=box_loss))
    history = keras_model.fit(images, targets, epochs=30, batch_size=4, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0]


def _logit(probability):
    return float(np.log(probability / (1 - probability)))


def _study_batch():
    """Two images on the 256-px grid: a hand fracture (class 3), and a normal hand (class 8, whole-bone box)."""
    fractured = _targets([[100, 100, 112, 130]], [3])
    normal = _targets([[20, 40, 240, 200]], [8])
    predictions = np.full((2, *fractured.shape), -20.0, np.float32)  # every score near 0
    return np.stack([fractured, normal]), predictions


def test_the_study_term_is_the_cross_entropy_of_each_images_best_fracture_cell():
    targets, predictions = _study_batch()
    cell = _positive(targets[0])[0]
    predictions[0, cell, 4], predictions[0, cell, 5 + 3] = _logit(0.8), _logit(0.5)  # the fracture scores 0.4
    elsewhere = _positive(targets[1])[0]
    predictions[1, elsewhere, 4], predictions[1, elsewhere, 5 + 1] = _logit(0.9), _logit(0.5)  # a false alarm, 0.45
    predictions[1, elsewhere, 5 + 8] = _logit(0.99)  # the normal-study class scores higher, and does not count
    expected = (-np.log(0.4) - np.log(1 - 0.45)) / 2
    assert float(study_term(targets, predictions)) == pytest.approx(expected, rel=1e-5)


def test_the_study_term_pushes_down_only_the_false_alarm_that_decides_a_normal_study():
    targets, predictions = _study_batch()
    alarms = np.flatnonzero(STRIDES == 8)[:2]
    predictions[1, alarms, 4] = _logit(0.9)
    predictions[1, alarms[0], 5 + 3], predictions[1, alarms[1], 5 + 3] = _logit(0.6), _logit(0.3)
    logits = tf.Variable(predictions)
    with tf.GradientTape() as tape:
        loss = study_term(targets, logits)
    gradient = tape.gradient(loss, logits).numpy()
    assert gradient[1, alarms[0], 5 + 3] > 0 and gradient[1, alarms[0], 4] > 0  # descending lowers its score
    assert not gradient[1, alarms[1]].any()  # the weaker alarm does not decide the study
    assert np.count_nonzero(gradient[1]) == 2


def test_the_detection_loss_adds_the_study_term_only_when_weighted():
    targets, predictions = _study_batch()
    plain = float(DetectionLoss()(targets, predictions))
    weighted = float(DetectionLoss(study_weight=0.5)(targets, predictions))
    assert weighted == pytest.approx(plain + 0.5 * float(study_term(targets, predictions)), rel=1e-5)
    assert DetectionLoss.from_config(DetectionLoss(study_weight=0.5).get_config()).study_weight == 0.5
