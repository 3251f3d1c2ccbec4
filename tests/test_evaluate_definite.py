"""The definite operating point: the split-conformal rank over normal calibration images, its guarantee on
fresh draws, and the cases it cannot serve (too few normal images, a rank below the suspicious threshold)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from evaluate_builders import found, truth

from fracdet_core.classes import class_id
from fracdet_core.errors import ConfigError
from fracdet_core.evaluate.clinical import OVERALL, calibrate_thresholds, clinical_metrics
from fracdet_core.evaluate.definite import FROM_OVERALL, OWN, RAISED, min_normal_images, specificity_threshold

BOX = [0.2, 0.2, 0.6, 0.6]
ELBOW_FRACTURE, ELBOW_NORMAL = class_id("ELBOW", True), class_id("ELBOW", False)
HAND_FRACTURE, HAND_NORMAL = class_id("HAND", True), class_id("HAND", False)


@pytest.mark.parametrize(("target", "fewest"), [(0.95, 19), (0.9, 9), (0.8, 4), (0.5, 1), (0.99, 99)])
def test_the_fewest_normal_images_the_rank_needs(target, fewest):
    # ceil((n + 1) * target) <= n first holds at n = ceil(target / (1 - target)).
    assert min_normal_images(target) == fewest
    assert specificity_threshold(np.linspace(0, 0.5, fewest), target) is not None
    assert specificity_threshold(np.linspace(0, 0.5, fewest - 1), target) is None


def test_the_threshold_is_just_above_the_conformal_rank():
    # 39 scores, target 0.95: k = ceil(40 * 0.95) = 38, so the 38th lowest is not called and the 39th is.
    scores = np.arange(1, 40) / 100.0
    threshold = specificity_threshold(np.random.default_rng(0).permutation(scores), 0.95)
    assert 0.38 < threshold <= np.nextafter(0.38, 1.0)
    # Ties: ten normal images without a fracture box (score 0) and a target of 0.5 (k = 6): above 0.
    assert 0.0 < specificity_threshold(np.zeros(10), 0.5) < 1e-300
    assert specificity_threshold(np.ones(19), 0.95) == 1.0  # capped at 1: a score of 1 is still called


@pytest.mark.parametrize("normal", [19, 40, 120])
def test_new_normal_images_stay_under_it_with_the_target_specificity_on_average_and_not_far_above(normal):
    # Calibration and fresh normal scores from one distribution: over many draws the share of fresh normal
    # images under the threshold averages k / (n + 1), k = ceil((n + 1) * 0.95): at least 0.95, under
    # 0.95 + 1 / (n + 1). The highest threshold that reaches 0.95 on the calibration draw itself (one rank
    # lower) would average 0.90, 0.93 and 0.94 here.
    generator = np.random.default_rng(normal)
    achieved = []
    for _ in range(3000):
        threshold = specificity_threshold(generator.beta(2.0, 5.0, size=normal), 0.95)
        achieved.append(np.mean(generator.beta(2.0, 5.0, size=400) < threshold))
    expected = math.ceil((normal + 1) * 0.95) / (normal + 1)
    assert np.mean(achieved) == pytest.approx(expected, abs=0.004)  # Monte Carlo error about 0.001
    assert 0.95 - 0.003 <= np.mean(achieved) < 0.95 + 1 / (normal + 1)


def _images(part_fracture: int, part_normal: int, fractured_scores, normal_scores) -> tuple[list, list]:
    """Images of one part: fractured ones with a fracture box at `fractured_scores`, normal ones whose
    most confident fracture box of the part scores `normal_scores`."""
    truths = [truth([BOX], [part_fracture]) for _ in fractured_scores] + [truth([BOX], [part_normal]) for _ in normal_scores]
    detections = [found([BOX], [score], [part_fracture]) for score in fractured_scores]
    detections += [found([BOX, BOX], [0.99, score], [part_normal, part_fracture]) for score in normal_scores]
    return truths, detections


def test_a_part_with_enough_normal_images_has_its_own_one_with_too_few_takes_the_overall():
    # 20 normal ELBOWs (>= 19): their own; 5 normal HANDs: the overall, over the fracture scores of all 25.
    # float32, as the signature returns scores
    elbow_normal, hand_normal = np.linspace(0.01, 0.2, 20, dtype=np.float32), np.float32([0.5, 0.55, 0.6, 0.65, 0.7])
    elbow = _images(ELBOW_FRACTURE, ELBOW_NORMAL, [0.2, 0.3], elbow_normal)
    hand = _images(HAND_FRACTURE, HAND_NORMAL, [0.2, 0.3], hand_normal)
    chosen = calibrate_thresholds(elbow[0] + hand[0], elbow[1] + hand[1], target_sensitivity=0.5, target_specificity=0.95)
    overall = specificity_threshold(np.concatenate([elbow_normal, hand_normal]), 0.95)  # k = 25 of 25: above 0.7
    assert chosen.definite.by_part == {"ELBOW": specificity_threshold(elbow_normal, 0.95)}  # k = 20 of 20: above 0.2
    assert chosen.definite.overall == overall > float(hand_normal.max()) and chosen.definite.for_part("HAND") == overall
    assert (chosen.definite.basis["ELBOW"], chosen.definite.basis["HAND"], chosen.definite.basis[OVERALL]) == (
        OWN, FROM_OVERALL, OWN)


def test_a_rank_below_the_suspicious_threshold_is_raised_to_it():
    # The normal ELBOWs score at most 0.2; the fractured ones 0.5 and up: the suspicious threshold (0.5, the
    # lowest, for a target of 0.9 with 2 images) is above the definite rank, so the definite takes it.
    truths, detections = _images(ELBOW_FRACTURE, ELBOW_NORMAL, [0.5, 0.9], np.linspace(0.01, 0.2, 20))
    chosen = calibrate_thresholds(truths, detections, target_sensitivity=0.9, target_specificity=0.95)
    assert chosen.by_part["ELBOW"] == 0.5 and chosen.definite.by_part["ELBOW"] == 0.5
    assert chosen.definite.basis["ELBOW"] == RAISED and chosen.definite.overall == 0.5
    metrics = clinical_metrics(truths, detections, chosen)  # every call is then definite
    elbow = metrics.groups["ELBOW"]
    assert (elbow.definite_sensitivity, elbow.definite_specificity) == (elbow.sensitivity, elbow.specificity) == (1.0, 1.0)


@pytest.mark.parametrize(("fractured_scores", "normal_count"), [([0.5], 18), ([], 30)],
                         ids=["too few normal images in all", "no fractured image: no call"])
def test_no_definite_threshold_when_the_rank_cannot_serve(fractured_scores, normal_count):
    truths, detections = _images(ELBOW_FRACTURE, ELBOW_NORMAL, fractured_scores, np.linspace(0.01, 0.2, normal_count))
    chosen = calibrate_thresholds(truths, detections, target_specificity=0.95)
    assert (dict(chosen.definite.by_part), chosen.definite.overall, dict(chosen.definite.basis)) == ({}, None, {})
    summary = clinical_metrics(truths, detections, chosen).summary()
    assert summary["ELBOW"]["definite"] == {"threshold": None, "sensitivity": None, "specificity": None, "basis": None}


def test_the_definite_points_figures_are_of_the_calls_at_its_thresholds():
    # Calibration: fractured ELBOWs at 0.1 and 0.6 (target 0.5: k = floor(3 * 0.5) = 1, suspicious 0.1), 20 normal
    # ones at 0.01..0.2 (k = 20 of 20: definite just above 0.2). Test: fractured at 0.15, 0.35, 0.9 are all called
    # and two definite; normal at 0.1, 0.21, 0.4 are all called, and two definite.
    calibration = _images(ELBOW_FRACTURE, ELBOW_NORMAL, [0.1, 0.6], np.linspace(0.01, 0.2, 20))
    chosen = calibrate_thresholds(*calibration, target_sensitivity=0.5, target_specificity=0.95)
    elbow = clinical_metrics(*_images(ELBOW_FRACTURE, ELBOW_NORMAL, [0.15, 0.35, 0.9], [0.1, 0.21, 0.4]), chosen).groups["ELBOW"]
    assert (elbow.threshold, elbow.sensitivity, elbow.specificity) == (pytest.approx(0.1), 1.0, 0.0)
    assert elbow.definite_threshold == np.nextafter(float(np.float32(0.2)), 1.0)  # detection scores are float32
    assert (elbow.definite_sensitivity, elbow.definite_specificity) == (pytest.approx(2 / 3), pytest.approx(1 / 3))
    summary = clinical_metrics(*calibration, chosen).summary()
    assert summary["ELBOW"]["definite"] == {"threshold": elbow.definite_threshold, "sensitivity": 0.5, "specificity": 1.0,
                                            "basis": OWN}


@pytest.mark.parametrize("target", [0.0, 1.5])
def test_rejects_a_bad_target_specificity(target):
    truths, detections = _images(ELBOW_FRACTURE, ELBOW_NORMAL, [0.5], [0.1])
    with pytest.raises(ConfigError, match=f"target_specificity must be within \\(0, 1\\], got {target}"):
        calibrate_thresholds(truths, detections, target_specificity=target)
