"""Image-level fracture metrics against scikit-learn, hand-computed operating points, and predict's calls."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from evaluate_builders import found, random_case, truth
from sklearn.metrics import roc_auc_score, roc_curve

from fracdet_core.classes import BODY_PARTS, class_id
from fracdet_core.errors import ConfigError
from fracdet_core.evaluate.clinical import (
    OVERALL,
    CalibratedThresholds,
    calibrate_thresholds,
    clinical_metrics,
    image_body_parts,
)
from fracdet_core.evaluate.config import EvaluateConfig
from fracdet_core.evaluate.measure import measure_records
from fracdet_core.records import ImageDetections

BOX = [0.2, 0.2, 0.6, 0.6]
ELBOW_FRACTURE, ELBOW_NORMAL = class_id("ELBOW", True), class_id("ELBOW", False)
HAND_FRACTURE, HAND_NORMAL = class_id("HAND", True), class_id("HAND", False)


def _predict_calls(detections, thresholds: CalibratedThresholds) -> tuple[np.ndarray, np.ndarray]:
    """The calls `fracdet predict` documents, written out here: body part of the most confident detection,
    its most confident fracture box of that part against that part's threshold; and that score with its
    odds divided by the threshold's (0 without such a box)."""
    calls, normalised = [], []
    for image in detections:
        if not len(image.scores):
            calls.append(False)
            normalised.append(0.0)
            continue
        part = BODY_PARTS[int(image.classes[int(np.argmax(image.scores))]) % 5]
        own = [score for score, c in zip(image.scores, image.classes, strict=True) if c < 5 and BODY_PARTS[c] == part]
        threshold = thresholds.by_part.get(part, thresholds.overall)
        calls.append(bool(own) and max(own) >= threshold)
        score, threshold = np.clip([max(own, default=0.0), threshold], 1e-7, 1 - 1e-7)  # as documented: odds stay finite
        odds = score / (1 - score) / (threshold / (1 - threshold))
        normalised.append(odds / (1 + odds) if own else 0.0)
    return np.array(calls, bool), np.array(normalised)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_overall_against_scikit_learn_and_the_calls_of_predict(seed):
    truths, detections = random_case(seed, num_images=60, tied_scores=seed == 2)
    target = 0.8
    thresholds = calibrate_thresholds(truths, detections, target_sensitivity=target)
    metrics = clinical_metrics(truths, detections, thresholds)

    fractured = np.array([bool(np.any(image.classes < 5)) for image in truths])
    scores = np.array([max([s for s, c in zip(d.scores, d.classes, strict=True) if c < 5], default=0.0) for d in detections])
    # The split-conformal rank: the j-th lowest fractured score, j = floor((n + 1)(1 - target)).
    weakest_first = np.sort(scores[fractured])
    assert thresholds.overall == pytest.approx(weakest_first[int((len(weakest_first) + 1) * (1 - target) + 1e-9) - 1])
    calls, normalised = _predict_calls(detections, thresholds)

    overall = metrics.groups[OVERALL]
    assert overall.n_images == 60 and overall.n_fractured == fractured.sum()
    assert overall.auc == pytest.approx(roc_auc_score(fractured, normalised), abs=1e-9)
    assert overall.threshold == thresholds.overall
    assert overall.sensitivity == pytest.approx(np.mean(calls[fractured]))
    assert overall.specificity == pytest.approx(np.mean(~calls[~fractured]))
    confusion = metrics.confusion
    assert (confusion.true_positive, confusion.false_positive, confusion.true_negative, confusion.false_negative) == (
        np.sum(calls & fractured), np.sum(calls & ~fractured), np.sum(~calls & ~fractured), np.sum(~calls & fractured))
    expected_roc = roc_curve(fractured, normalised)
    np.testing.assert_allclose(overall.roc.false_positive_rate, expected_roc[0])
    np.testing.assert_allclose(overall.roc.true_positive_rate, expected_roc[1])
    # The calls' operating point lies on the overall curve, at 0.5.
    at_half = np.flatnonzero(np.isclose(overall.roc.thresholds, 0.5) | (overall.roc.thresholds > 0.5))[-1]
    assert (overall.roc.false_positive_rate[at_half], overall.roc.true_positive_rate[at_half]) == pytest.approx(
        (1 - overall.specificity, overall.sensitivity))


def _hand_case():
    """Five ELBOW images (3 fractured), two HAND normals, one image without boxes.

    ELBOW fracture scores: fractured 0.9, 0.6, 0.3; normal 0.7, 0.2 (its HAND-fracture detection
    at 0.95 is its most confident: predict reads it as a HAND image). HAND normals: 0.8 and no
    detection. The image without boxes: an ELBOW fracture box at 0.5.
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


def _hand_metrics(target: float = 0.5):
    truths, detections = _hand_case()
    return clinical_metrics(truths, detections, calibrate_thresholds(truths, detections, target_sensitivity=target))


def test_per_part_operating_point_by_hand():
    elbow = _hand_metrics().groups["ELBOW"]
    # Fractured ELBOWs score 0.3, 0.6, 0.9: the threshold is the floor(4 * 0.5) = 2nd lowest, 0.6.
    assert (elbow.n_images, elbow.n_fractured) == (5, 3)
    assert elbow.threshold == pytest.approx(0.6)
    assert elbow.sensitivity == pytest.approx(2 / 3)
    assert elbow.specificity == 0.0  # 0.7 called as an ELBOW, the other as a HAND (0.95 >= HAND's 0.6)
    assert elbow.auc == pytest.approx(4 / 6)  # pairs (fractured > normal): 0.9>both, 0.6>0.2, 0.3>0.2


def test_overall_operating_point_and_confusion_by_hand():
    metrics = _hand_metrics()
    overall = metrics.groups[OVERALL]
    # Calls: fractured 0.9 and 0.6 yes, 0.3 no; normal ELBOW 0.7 and HAND 0.95, 0.8 yes; no detection, 0.5 no.
    assert (overall.n_images, overall.n_fractured) == (8, 3)
    assert overall.threshold == pytest.approx(0.6)
    assert overall.sensitivity == pytest.approx(2 / 3)
    assert overall.specificity == pytest.approx(2 / 5)
    c = metrics.confusion
    assert (c.true_positive, c.false_positive, c.true_negative, c.false_negative) == (2, 3, 2, 1)


def test_a_part_without_fractures_uses_the_overall_threshold():
    metrics = _hand_metrics()
    hand = metrics.groups["HAND"]
    assert (hand.n_images, hand.n_fractured) == (2, 0)
    assert hand.auc is None and hand.roc is None and hand.sensitivity is None
    assert hand.threshold == metrics.groups[OVERALL].threshold
    assert hand.specificity == pytest.approx(1 / 2)  # 0.8 >= 0.6 flagged, no detection not
    finger = metrics.groups["FINGER"]
    assert (finger.n_images, finger.sensitivity, finger.specificity) == (0, None, None)


def _two_part_case(elbow_normal_score: float):
    """Calibration: fractured ELBOWs 0.9, 0.8 and HANDs 0.3, 0.2; test: one fractured HAND 0.25, one normal ELBOW."""
    calibration_truths = [truth([BOX], [ELBOW_FRACTURE]), truth([BOX], [ELBOW_FRACTURE]),
                          truth([BOX], [HAND_FRACTURE]), truth([BOX], [HAND_FRACTURE])]
    calibration_detections = [found([BOX], [score], [part]) for score, part in
                              ((0.9, ELBOW_FRACTURE), (0.8, ELBOW_FRACTURE), (0.3, HAND_FRACTURE), (0.2, HAND_FRACTURE))]
    test_truths = [truth([BOX], [HAND_FRACTURE]), truth([BOX], [ELBOW_NORMAL])]
    test_detections = [found([BOX], [0.25], [HAND_FRACTURE]), found([BOX], [elbow_normal_score], [ELBOW_FRACTURE])]
    return (calibration_truths, calibration_detections), (test_truths, test_detections)


def test_the_overall_row_uses_the_per_part_thresholds_not_one_global_threshold():
    calibration, test = _two_part_case(elbow_normal_score=0.5)
    thresholds = calibrate_thresholds(*calibration, target_sensitivity=1.0)
    assert dict(thresholds.by_part) == pytest.approx({"ELBOW": 0.8, "HAND": 0.2}) and thresholds.overall == pytest.approx(0.2)
    overall = clinical_metrics(*test, thresholds).groups[OVERALL]
    # Per part: the normal ELBOW's 0.5 is below ELBOW's 0.8, so not called; at the global 0.2 it would be.
    assert (overall.sensitivity, overall.specificity) == (1.0, 1.0)
    global_only = dataclasses.replace(thresholds, by_part={})
    assert clinical_metrics(*test, global_only).groups[OVERALL].specificity == 0.0


def test_thresholds_are_chosen_on_the_calibration_half_alone():
    truths, detections = random_case(5, num_images=80)
    # A target of 0.5 puts the thresholds mid-ranking, away from the zero scores of fractured images
    # without a detection, which a target of 0.9 reaches in this small case.
    config = EvaluateConfig(target_sensitivity=0.5, bootstrap_resamples=10, show_progress=False)
    measured = measure_records(truths, detections, config)
    test = set(measured.partition.test.tolist())
    rng = np.random.default_rng(0)

    def rescored(indices: set[int]) -> list[ImageDetections]:
        return [found(d.boxes, rng.random(len(d.scores)), d.classes) if i in indices else d for i, d in enumerate(detections)]

    again = measure_records(truths, rescored(test), config)
    assert again.thresholds == measured.thresholds
    assert again.calibration.summary() == measured.calibration.summary()
    assert again.clinical.groups[OVERALL].auc != measured.clinical.groups[OVERALL].auc  # the test figures did change
    moved = measure_records(truths, rescored(set(measured.partition.calibration.tolist())), config)
    assert moved.thresholds != measured.thresholds  # the calibration half's scores do decide them


def test_a_test_half_is_measured_at_the_calibration_thresholds():
    calibration, test = _two_part_case(elbow_normal_score=0.85)
    thresholds = calibrate_thresholds(*calibration, target_sensitivity=1.0)
    metrics = clinical_metrics(*test, thresholds)
    assert metrics.groups["ELBOW"].threshold == pytest.approx(0.8) and metrics.groups["ELBOW"].specificity == 0.0
    assert metrics.groups["HAND"].sensitivity == 1.0 and metrics.groups["ELBOW"].sensitivity is None
    assert clinical_metrics(*calibration, thresholds).groups[OVERALL].sensitivity == 1.0


def test_summary_is_the_metrics_json_block():
    summary = _hand_metrics().summary()
    assert list(summary) == [*BODY_PARTS, OVERALL]
    assert summary["ELBOW"]["threshold"] == pytest.approx(0.6)
    assert set(summary["HAND"]) == {"sensitivity", "specificity", "auc", "threshold", "n_images", "n_fractured", "definite"}
    assert set(summary["HAND"]["definite"]) == {"threshold", "sensitivity", "specificity", "basis"}


def test_target_one_takes_the_weakest_fractured_image():
    elbow = _hand_metrics(target=1.0).groups["ELBOW"]
    assert elbow.threshold == pytest.approx(0.3)
    assert elbow.sensitivity == 1.0


def test_no_fractured_image_at_all():
    truths = [truth([BOX], [HAND_NORMAL]), truth([], [])]
    detections = [found([BOX], [0.4], [HAND_FRACTURE]), ImageDetections.empty()]
    thresholds = calibrate_thresholds(truths, detections)
    assert (dict(thresholds.by_part), thresholds.overall) == ({}, None)
    metrics = clinical_metrics(truths, detections, thresholds)
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
        calibrate_thresholds(*_hand_case(), target_sensitivity=target)


def test_the_threshold_is_the_conformal_rank_not_the_highest_that_reaches_the_target_here():
    # 3 fractured ELBOWs at 0.3, 0.6, 0.9 and a target of 0.6: 0.6 reaches 2/3 >= 0.6 on these
    # images, but floor(4 * 0.4) = 1: the lowest, 0.3, is what a new fractured ELBOW reaches with
    # probability 3/4 >= 0.6 (0.6: 2/4).
    assert _hand_metrics(target=0.6).groups["ELBOW"].threshold == pytest.approx(0.3)
    # 11 fractured images, target 0.9: floor(12 * 0.1) = 1st lowest, where the highest threshold reaching
    # the target here (10 of 11) would be the 2nd lowest.
    truths = [truth([BOX], [ELBOW_FRACTURE]) for _ in range(11)]
    detections = [found([BOX], [score], [ELBOW_FRACTURE]) for score in np.linspace(0.5, 0.9, 11)]
    assert calibrate_thresholds(truths, detections, target_sensitivity=0.9).by_part["ELBOW"] == pytest.approx(0.5)


@pytest.mark.parametrize("fractured", [11, 24, 60])
def test_new_fractured_images_reach_the_target_sensitivity_on_average(fractured):
    # Calibration and test scores drawn from one distribution: over many draws, the share of new
    # fractured images at or above the threshold is at least the target (for the highest threshold
    # that reaches the target on the calibration draw, it is 0.83, 0.88 and 0.89 here).
    generator = np.random.default_rng(fractured)
    truths = [truth([BOX], [ELBOW_FRACTURE]) for _ in range(fractured)]
    reached = []
    for _ in range(1500):
        scores = generator.beta(2.0, 2.0, size=fractured)
        detections = [found([BOX], [score], [ELBOW_FRACTURE]) for score in scores]
        threshold = calibrate_thresholds(truths, detections, target_sensitivity=0.9).by_part["ELBOW"]
        reached.append(np.mean(generator.beta(2.0, 2.0, size=200) >= threshold))
    assert np.mean(reached) >= 0.895


def test_a_target_near_zero_takes_the_best_fractured_score():
    truths = [truth([BOX], [ELBOW_FRACTURE]), truth([BOX], [ELBOW_FRACTURE])]
    detections = [found([BOX], [0.4], [ELBOW_FRACTURE]), found([BOX], [0.7], [ELBOW_FRACTURE])]
    assert calibrate_thresholds(truths, detections, target_sensitivity=1e-12).by_part["ELBOW"] == pytest.approx(0.7)
