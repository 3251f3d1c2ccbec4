"""Blessing: the decision and its reasons, regression against the champion, the thresholds file."""

from __future__ import annotations

import re

import pytest
from evaluate_builders import random_case

from fracdet_core.errors import ConfigError
from fracdet_core.evaluate.blessing import BlessingThresholds, decide, load_thresholds
from fracdet_core.evaluate.clinical import calibrate_thresholds, clinical_metrics
from fracdet_core.evaluate.coco import coco_metrics


def _metrics(map50=0.612, map50_95=0.4, sensitivity=0.912, specificity=0.7, auc=0.85, hand_sensitivity=0.95) -> dict:
    return {
        "map50": map50,
        "map50_95": map50_95,
        "per_class_ap": {"XR_HAND_positive": 0.5},
        "fracture": {
            "overall": {"sensitivity": sensitivity, "specificity": specificity, "auc": auc, "threshold": 0.4},
            "HAND": {"sensitivity": hand_sensitivity, "specificity": 0.6, "auc": 0.8, "threshold": 0.5},
        },
        "latency_ms": 12.0,
    }


STRICT = BlessingThresholds(min_map50=0.5, min_sensitivity={"overall": 0.9, "HAND": 0.9}, min_specificity={"overall": 0.5},
                            min_auc={"HAND": 0.75}, max_regression={"map50": 0.02, "auc": 0.01},
                            min_in_scope_kept=None, min_out_of_scope_rejected=None)


def test_blessed_when_every_check_passes_without_champion():
    blessing = decide(_metrics(), STRICT, champion=None)
    assert blessing.blessed
    assert blessing.reasons == [
        "PASS map50 0.612 >= 0.500",
        "PASS fracture.overall.sensitivity 0.912 >= 0.900",
        "PASS fracture.HAND.sensitivity 0.950 >= 0.900",
        "PASS fracture.overall.specificity 0.700 >= 0.500",
        "PASS fracture.HAND.auc 0.800 >= 0.750",
        "PASS map50 regression: no champion to compare against",
        "PASS auc regression: no champion to compare against",
    ]


def test_low_map_fails():
    blessing = decide(_metrics(map50=0.25), STRICT, champion=None)
    assert not blessing.blessed
    assert blessing.reasons[0] == "FAIL map50 0.250 < 0.500"
    assert all(reason.startswith("PASS") for reason in blessing.reasons[1:])


def test_low_part_sensitivity_fails():
    blessing = decide(_metrics(hand_sensitivity=0.8), STRICT, champion=None)
    assert not blessing.blessed
    assert "FAIL fracture.HAND.sensitivity 0.800 < 0.900" in blessing.reasons


def test_a_model_that_flags_everything_fails_on_specificity():
    blessing = decide(_metrics(sensitivity=1.0, specificity=0.02), STRICT, champion=None)
    assert not blessing.blessed
    assert "FAIL fracture.overall.specificity 0.020 < 0.500" in blessing.reasons


def test_regression_within_and_beyond_the_allowance():
    champion = _metrics(map50=0.632, auc=0.851)
    within = decide(_metrics(map50=0.612, auc=0.85), STRICT, champion)  # drop exactly 0.020: allowed
    assert within.blessed
    assert "PASS map50 0.612 vs champion 0.632: drop 0.020 <= 0.020" in within.reasons
    beyond = decide(_metrics(map50=0.60, auc=0.83), STRICT, champion)
    assert not beyond.blessed
    assert "FAIL map50 0.600 vs champion 0.632: drop 0.032 > 0.020" in beyond.reasons
    assert "FAIL auc 0.830 vs champion 0.851: drop 0.021 > 0.010" in beyond.reasons


def test_improvement_passes_regression():
    blessing = decide(_metrics(map50=0.7), STRICT, _metrics(map50=0.6))
    assert "PASS map50 0.700 vs champion 0.600: drop -0.100 <= 0.020" in blessing.reasons


def test_missing_metrics_fail_with_a_reason():
    metrics = _metrics()
    del metrics["map50"]
    metrics["fracture"]["HAND"]["sensitivity"] = None  # no fractured HAND image
    blessing = decide(metrics, STRICT, champion=_metrics())
    assert not blessing.blessed
    assert "FAIL map50 is missing from the metrics (needs >= 0.500)" in blessing.reasons
    assert "FAIL fracture.HAND.sensitivity is missing from the metrics (needs >= 0.900)" in blessing.reasons
    assert "FAIL map50 regression: map50 is missing from the metrics" in blessing.reasons
    assert not decide({}, STRICT, champion=None).blessed


def test_champion_without_the_metric_does_not_block():
    champion = _metrics()
    del champion["fracture"]
    blessing = decide(_metrics(), STRICT, champion)
    assert blessing.blessed
    assert "PASS auc regression: the champion has no auc to compare against" in blessing.reasons


def test_reads_the_metrics_the_evaluate_modules_produce():
    truths, detections = random_case(3, num_images=30)
    coco = coco_metrics(truths, detections)
    fracture = clinical_metrics(truths, detections, calibrate_thresholds(truths, detections)).summary()
    metrics = {"map50": coco.map50, "map50_95": coco.map50_95, "fracture": fracture}
    sensitivity = fracture["overall"]["sensitivity"]
    thresholds = BlessingThresholds(min_map50=0.0, min_sensitivity={"overall": sensitivity}, min_specificity={}, min_auc={},
                                    max_regression={"sensitivity": 0.0})
    blessing = decide(metrics, thresholds, champion=metrics)
    assert blessing.blessed, blessing.reasons
    assert blessing.reasons[1] == f"PASS fracture.overall.sensitivity {sensitivity:.3f} >= {sensitivity:.3f}"


def test_defaults():
    thresholds = load_thresholds(None)
    assert thresholds == BlessingThresholds()
    assert thresholds.min_map50 == 0.3 and thresholds.min_sensitivity == {"overall": 0.8}
    assert thresholds.min_specificity == {"overall": 0.3} and thresholds.min_auc == {"overall": 0.6}


def test_load_number_and_mapping(tmp_path):
    path = tmp_path / "blessing.yaml"
    path.write_text("min_map50: 0.5\nmin_sensitivity: 0.85\nmin_auc: 0.7\nmax_regression:\n  map50: 0.02\n  sensitivity: 0.05\n")
    thresholds = load_thresholds(str(path))
    assert thresholds == BlessingThresholds(min_map50=0.5, min_sensitivity={"overall": 0.85}, min_auc={"overall": 0.7},
                                            max_regression={"map50": 0.02, "sensitivity": 0.05})
    path.write_text("min_sensitivity: {HAND: 0.9, overall: 0.8}\n")
    assert load_thresholds(str(path)).min_sensitivity == {"HAND": 0.9, "overall": 0.8}
    path.write_text("")
    assert load_thresholds(str(path)) == BlessingThresholds()


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ("min_map: 0.5\n", "min_map"),
        ("min_map50: 1.5\n", "min_map50"),
        ("min_map50: high\n", "min_map50"),
        ("min_map50: true\n", "min_map50"),
        ("min_sensitivity: {FOOT: 0.9}\n", "min_sensitivity.FOOT"),
        ("min_sensitivity: {HAND: -0.1}\n", "min_sensitivity.HAND"),
        ("min_specificity: {KNEE: 0.5}\n", "min_specificity.KNEE"),
        ("min_auc: 2\n", "min_auc.overall"),
        ("max_regression: {latency: 0.1}\n", "max_regression.latency"),
        ("max_regression: 0.1\n", "max_regression"),
        ("- 0.5\n", "mapping"),
        ("min_map50: [0.5\n", "not valid YAML"),
    ],
)
def test_bad_files_name_the_file_and_key(tmp_path, content, named):
    path = tmp_path / "blessing.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=re.escape(str(path))) as raised:
        load_thresholds(str(path))
    assert named in str(raised.value)
