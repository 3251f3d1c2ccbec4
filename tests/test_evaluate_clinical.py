"""Image-level fracture metrics against scikit-learn and hand-computed operating points."""

from __future__ import annotations

import numpy as np
import pytest
from evaluate_builders import found, random_case, truth
from sklearn.metrics import confusion_matrix, roc_auc_score, roc_curve

from fracdet_core.classes import BODY_PARTS, class_id
from fracdet_core.errors import ConfigError
from fracdet_core.evaluate.clinical import OVERALL, clinical_metrics, image_body_parts
from fracdet_core.records import ImageDetections

BOX = [0.2, 0.2, 0.6, 0.6]
ELBOW_FRACTURE, ELBOW_NORMAL = class_id("ELBOW", True), class_id("ELBOW", False)
HAND_FRACTURE, HAND_NORMAL = class_id("HAND", True), class_id("HAND", False)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_overall_against_scikit_learn(seed):
    truths, detections = random_case(seed, num_images=60, tied_scores=seed == 2)
    target = 0.8
    metrics = clinical_metrics(truths, detections, target_sensitivity=target)

    fractured = np.array([bool(np.any(image.classes < 5)) for image in truths])
    scores = np.array([max([s for s, c in zip(d.scores, d.classes, strict=True) if c < 5], default=0.0) for d in detections])
    _, true_positive_rate, thresholds = roc_curve(fractured, scores, drop_intermediate=False)
    expected_threshold = thresholds[np.argmax(true_positive_rate >= target)]  # highest reaching the target
    (true_negative, false_positive), (false_negative, true_positive) = confusion_matrix(fractured, scores >= expected_threshold)

    overall = metrics.groups[OVERALL]
    assert overall.n_images == 60 and overall.n_fractured == fractured.sum()
    assert overall.auc == pytest.approx(roc_auc_score(fractured, scores), abs=1e-12)
    assert overall.threshold == pytest.approx(expected_threshold)
    assert overall.sensitivity == pytest.approx(true_positive / (true_positive + false_negative))
    assert overall.specificity == pytest.approx(true_negative / (true_negative + false_positive))
    assert overall.sensitivity >= target
    confusion = metrics.confusion
    assert (confusion.true_positive, confusion.false_positive, confusion.true_negative, confusion.false_negative) == (
        true_positive, false_positive, true_negative, false_negative
    )
    expected_roc = roc_curve(fractured, scores)
    np.testing.assert_allclose(overall.roc.false_positive_rate, expected_roc[0])
    np.testing.assert_allclose(overall.roc.true_positive_rate, expected_roc[1])


def _hand_case():
    """Five ELBOW images (3 fractured), two HAND normals, one image without boxes.

    ELBOW scores: fractured 0.9, 0.6, 0.3; normal 0.7, 0.2 (its HAND-fracture detection at
    0.95 scores it overall, not as an ELBOW). HAND normals: 0.8 and no detection (0).
    """
    truths = [
        truth([BOX], [ELBOW_FRACTURE]), truth([BOX, BOX], [ELBOW_FRACTURE, ELBOW_NORMAL]), truth([BOX], [ELBOW_FRACTURE]),
        truth([BOX], [ELBOW_NORMAL]), truth([BOX], [ELBOW_NORMAL]),
        truth([BOX], [HAND_NORMAL]), truth([BOX], [HAND_NORMAL]),
        truth([], []),
    ]
    detections = [
        found([BOX, BOX], [0.9, 0.99], [ELBOW_FRACTURE, ELBOW_NORMAL]),  # negative classes never score
        found([BOX], [0.6], [ELBOW_FRACTURE]),
        found([BOX], [0.3], [ELBOW_FRACTURE]),
        found([BOX], [0.7], [ELBOW_FRACTURE]),
        found([BOX, BOX], [0.2, 0.95], [ELBOW_FRACTURE, HAND_FRACTURE]),
        found([BOX], [0.8], [HAND_FRACTURE]),
        ImageDetections.empty(),
        found([BOX], [0.5], [ELBOW_FRACTURE]),
    ]
    return truths, detections


def test_per_part_operating_point_by_hand():
    metrics = clinical_metrics(*_hand_case(), target_sensitivity=0.6)
    elbow = metrics.groups["ELBOW"]
    # 2 of 3 fractured ELBOWs reach 0.6: the threshold is the 2nd best fractured score, 0.6.
    assert (elbow.n_images, elbow.n_fractured) == (5, 3)
    assert elbow.threshold == pytest.approx(0.6)
    assert elbow.sensitivity == pytest.approx(2 / 3)
    assert elbow.specificity == pytest.approx(1 / 2)  # 0.7 called fractured, 0.2 not
    assert elbow.auc == pytest.approx(4 / 6)  # pairs (fractured > normal): 0.9>both, 0.6>0.2, 0.3>0.2


def test_overall_operating_point_and_confusion_by_hand():
    metrics = clinical_metrics(*_hand_case(), target_sensitivity=0.6)
    overall = metrics.groups[OVERALL]
    # Overall scores: fractured 0.9, 0.6, 0.3; normal 0.7, 0.95, 0.8, 0, 0.5.
    assert (overall.n_images, overall.n_fractured) == (8, 3)
    assert overall.threshold == pytest.approx(0.6)
    assert overall.sensitivity == pytest.approx(2 / 3)
    assert overall.specificity == pytest.approx(2 / 5)  # 0 and 0.5 below 0.6
    c = metrics.confusion
    assert (c.true_positive, c.false_positive, c.true_negative, c.false_negative) == (2, 3, 2, 1)


def test_a_part_without_fractures_uses_the_overall_threshold():
    metrics = clinical_metrics(*_hand_case(), target_sensitivity=0.6)
    hand = metrics.groups["HAND"]
    assert (hand.n_images, hand.n_fractured) == (2, 0)
    assert hand.auc is None and hand.roc is None and hand.sensitivity is None
    assert hand.threshold == metrics.groups[OVERALL].threshold
    assert hand.specificity == pytest.approx(1 / 2)  # 0.8 >= 0.6 flagged, 0 not
    finger = metrics.groups["FINGER"]
    assert (finger.n_images, finger.sensitivity, finger.specificity) == (0, None, None)


def test_summary_is_the_metrics_json_block():
    summary = clinical_metrics(*_hand_case(), target_sensitivity=0.6).summary()
    assert list(summary) == [*BODY_PARTS, OVERALL]
    assert summary["ELBOW"]["threshold"] == pytest.approx(0.6)
    assert set(summary["HAND"]) == {"sensitivity", "specificity", "auc", "threshold", "n_images", "n_fractured"}


def test_target_one_takes_the_weakest_fractured_image():
    metrics = clinical_metrics(*_hand_case(), target_sensitivity=1.0)
    assert metrics.groups["ELBOW"].threshold == pytest.approx(0.3)
    assert metrics.groups["ELBOW"].sensitivity == 1.0


def test_no_fractured_image_at_all():
    truths = [truth([BOX], [HAND_NORMAL]), truth([], [])]
    metrics = clinical_metrics(truths, [found([BOX], [0.4], [HAND_FRACTURE]), ImageDetections.empty()])
    overall = metrics.groups[OVERALL]
    assert (overall.threshold, overall.sensitivity, overall.specificity, overall.auc) == (None, None, None, None)
    assert metrics.confusion is None


@pytest.mark.parametrize(
    ("classes", "part"),
    [
        ([], None),
        ([HAND_NORMAL], "HAND"),
        ([ELBOW_NORMAL, HAND_NORMAL, HAND_FRACTURE], "HAND"),  # most frequent
        ([HAND_NORMAL, ELBOW_FRACTURE], "ELBOW"),  # tie: the part with a fracture
        ([HAND_NORMAL, ELBOW_NORMAL], "ELBOW"),  # tie without fracture: BODY_PARTS order
    ],
)
def test_image_body_part(classes, part):
    assert image_body_parts([truth([BOX] * len(classes), classes)]) == [part]


@pytest.mark.parametrize("target", [0.0, 1.5])
def test_rejects_bad_target(target):
    with pytest.raises(ConfigError):
        clinical_metrics(*_hand_case(), target_sensitivity=target)
