"""The in-scope threshold and its figures: the conformal share it keeps, what it turns away, the gates on them,
and the study's body part taken from the model's answer."""

from __future__ import annotations

import numpy as np
import pytest

from fracdet_core.classes import CLASS_NAMES, SCOPE_PARTS
from fracdet_core.evaluate.blessing import BlessingThresholds, decide
from fracdet_core.evaluate.config import EvaluateConfig
from fracdet_core.evaluate.fracture_call import call_fracture
from fracdet_core.evaluate.indications import UNLABELLED, choose_in_scope_threshold, indications_summary
from fracdet_core.evaluate.measure import measure_records
from fracdet_core.records import ImageDetections, ImageTruth


def _truth(index: int, class_name: str | None, *, anatomy: str = "") -> ImageTruth:
    classes = [] if class_name is None else [CLASS_NAMES.index(class_name)]
    boxes = np.array([[0.2, 0.2, 0.6, 0.6]] * len(classes), np.float32).reshape(-1, 4)
    return ImageTruth(f"img{index}.png", 200, 100, boxes, np.array(classes, np.int32), f"{index:064x}",
                      in_scope=not anatomy, anatomy=anatomy)


def _found(in_scope_score: float | None, *, part: str = "HAND", box_class: str | None = None,
           score: float = 0.9) -> ImageDetections:
    probabilities = None
    if in_scope_score is not None:
        probabilities = np.full(6, in_scope_score / 10, np.float32)
        probabilities[SCOPE_PARTS.index(part)] = in_scope_score / 2
        probabilities[-1] = 1.0 - in_scope_score
    classes = [] if box_class is None else [CLASS_NAMES.index(box_class)]
    return ImageDetections(np.array([[0.2, 0.2, 0.6, 0.6]] * len(classes), np.float32).reshape(-1, 4),
                           np.array([score] * len(classes), np.float32), np.array(classes, np.int32),
                           probabilities, in_scope_score)


def test_the_threshold_keeps_the_target_share_of_new_in_scope_images():
    """Many draws of calibration and test scores from one distribution: the conformal rank keeps at least the
    target on fresh images on average, and not much more (it is no looser than it needs to be)."""
    rng = np.random.default_rng(0)
    kept = []
    for _ in range(400):
        calibration = rng.beta(8, 2, 250)
        truths = [_truth(i, None) for i in range(250)] + [_truth(250, None, anatomy="CHEST")]
        chosen = choose_in_scope_threshold(truths, [_found(s) for s in calibration] + [_found(0.0)], 0.95)
        kept.append(np.mean(rng.beta(8, 2, 2000) >= chosen.threshold))
    assert 0.95 <= np.mean(kept) <= 0.965
    assert chosen.calibration_in_scope_images == 250


def test_out_of_scope_images_take_no_part_in_choosing_it():
    truths = [_truth(i, None) for i in range(99)] + [_truth(99 + i, None, anatomy="CHEST") for i in range(50)]
    scores = list(np.linspace(0.5, 1.0, 99)) + [0.01] * 50
    chosen = choose_in_scope_threshold(truths, [_found(s) for s in scores], 0.99)
    assert chosen.threshold == pytest.approx(0.5) and chosen.calibration_in_scope_images == 99


def test_a_split_without_out_of_scope_images_chooses_nothing():
    """Its model was shown nothing out of scope (its scores all near 1): a threshold from them would be a rounding."""
    truths = [_truth(index, "XR_HAND_negative") for index in range(50)]
    assert choose_in_scope_threshold(truths, [_found(1.0) for _ in truths]).threshold is None


def test_a_model_without_the_answer_chooses_nothing_and_measures_nothing():
    truths = [_truth(0, "XR_HAND_positive"), _truth(1, None, anatomy="KNEE")]
    chosen = choose_in_scope_threshold(truths, [_found(None), _found(None)])
    assert chosen.threshold is None
    summary = indications_summary(truths, [_found(None), _found(None)], chosen)
    assert summary["in_scope_kept"] is None and summary["out_of_scope_rejected"] is None


def test_the_summary_counts_kept_per_part_and_rejected_per_anatomy():
    truths = [_truth(0, "XR_HAND_positive"), _truth(1, "XR_HAND_negative"), _truth(2, "XR_ELBOW_negative"),
              _truth(3, None), _truth(4, None, anatomy="CHEST"), _truth(5, None, anatomy="CHEST"),
              _truth(6, None, anatomy="CT")]
    scores = [0.9, 0.3, 0.8, 0.7, 0.2, 0.6, 0.1]
    chosen = choose_in_scope_threshold(truths[:5], [_found(s) for s in scores[:5]], 0.75)
    assert chosen.threshold == pytest.approx(0.3)
    summary = indications_summary(truths, [_found(s) for s in scores], chosen)
    assert summary["in_scope_kept"]["HAND"] == {"share": 1.0, "images": 2}
    assert summary["in_scope_kept"][UNLABELLED] == {"share": 1.0, "images": 1}
    assert summary["out_of_scope_rejected"]["CHEST"] == {"share": 0.5, "images": 2}
    assert summary["out_of_scope_rejected"]["CT"] == {"share": 1.0, "images": 1}
    assert summary["out_of_scope_rejected"]["overall"] == {"share": pytest.approx(2 / 3), "images": 3}


def test_fracture_figures_leave_out_of_scope_images_out():
    rng = np.random.default_rng(1)
    truths, found = [], []
    for index in range(80):
        fractured = index % 2 == 0
        truths.append(_truth(index, "XR_HAND_positive" if fractured else "XR_HAND_negative"))
        found.append(_found(0.9, box_class="XR_HAND_positive", score=float(rng.uniform(0.6, 1.0) if fractured
                                                                          else rng.uniform(0.0, 0.4))))
    alone = measure_records(truths, found, EvaluateConfig())
    # Chest films the model scores as fractured hands change nothing of the fracture figures.
    truths += [_truth(100 + index, None, anatomy="CHEST") for index in range(40)]
    found += [_found(0.05, box_class="XR_HAND_positive", score=0.95) for _ in range(40)]
    with_chests = measure_records(truths, found, EvaluateConfig())
    assert with_chests.clinical.summary() == alone.clinical.summary()
    assert with_chests.coco.map50 == alone.coco.map50
    assert with_chests.indications["out_of_scope_rejected"]["CHEST"]["images"] > 0
    assert with_chests.indications["out_of_scope_rejected"]["CHEST"]["share"] == 1.0


def _metrics(kept: float | None, rejected: float | None, *, threshold: float | None = 0.4) -> dict:
    def block(share: float | None) -> dict:
        return {"overall": {"share": share, "images": 0 if share is None else 100}}
    return {"map50": 0.9, "fracture": {"overall": {"sensitivity": 0.9, "specificity": 0.9, "auc": 0.95}},
            "indications": {"in_scope_threshold": threshold, "in_scope_kept": block(kept),
                            "out_of_scope_rejected": block(rejected)}}


@pytest.mark.parametrize(("kept", "rejected", "blessed"), [(0.99, 0.97, True), (0.97, 0.99, False), (0.99, 0.94, False)])
def test_the_gates_bless_only_a_model_that_keeps_and_turns_away_enough(kept, rejected, blessed):
    blessing = decide(_metrics(kept, rejected), BlessingThresholds(), None)
    assert blessing.blessed is blessed
    assert any("indications.in_scope_kept" in reason for reason in blessing.reasons)


def test_what_nothing_could_measure_passes_and_says_why():
    blessing = decide(_metrics(0.99, None), BlessingThresholds(), None)
    assert blessing.blessed
    assert any("no out-of-scope images" in reason for reason in blessing.reasons)
    older = decide(_metrics(None, None, threshold=None), BlessingThresholds(), None)
    assert older.blessed and any("no in-scope threshold" in reason for reason in older.reasons)


def test_the_study_is_read_as_the_part_the_model_names_not_the_most_confident_box():
    found = ImageDetections(np.array([[0.1, 0.1, 0.5, 0.5], [0.2, 0.2, 0.4, 0.4]], np.float32),
                            np.array([0.9, 0.6], np.float32),
                            np.array([CLASS_NAMES.index("XR_SHOULDER_negative"), CLASS_NAMES.index("XR_HAND_positive")],
                                     np.int32),
                            np.array([0.05, 0.05, 0.05, 0.7, 0.1, 0.05], np.float32), 0.95)
    call = call_fracture(found, {"HAND": 0.5, "SHOULDER": 0.5}, 0.5)
    assert call.body_part == "HAND" and call.fractured and call.score == pytest.approx(0.6)
    without_answer = ImageDetections(found.boxes, found.scores, found.classes)
    assert call_fracture(without_answer, {"HAND": 0.5, "SHOULDER": 0.5}, 0.5).body_part == "SHOULDER"
