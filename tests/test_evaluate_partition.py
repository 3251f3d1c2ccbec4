"""The calibration/test partition: deterministic from the images' content, stratified, disjoint and covering."""

from __future__ import annotations

import collections

import numpy as np
import pytest
from evaluate_builders import random_case, truth

from fracdet_core.classes import BODY_PARTS, class_id
from fracdet_core.errors import FracdetError
from fracdet_core.evaluate.clinical import fractured_images, image_body_parts
from fracdet_core.evaluate.config import EvaluateConfig
from fracdet_core.evaluate.measure import measure_records
from fracdet_core.evaluate.partition import CALIBRATION, RULE, TEST, UNLABELLED, partition_images, partition_summary
from fracdet_core.records import ImageDetections

BOX = [0.2, 0.2, 0.6, 0.6]


def _strata(truths) -> list[tuple]:
    return list(zip(image_body_parts(truths), fractured_images(truths).tolist(), strict=True))


def _halves_by_content(truths) -> tuple[set[str], set[str]]:
    partition = partition_images(truths)
    return ({truths[i].sha256 for i in partition.calibration}, {truths[i].sha256 for i in partition.test})


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_disjoint_covering_and_balanced(seed):
    truths, _ = random_case(seed, num_images=61)
    partition = partition_images(truths)
    calibration, test = set(partition.calibration.tolist()), set(partition.test.tolist())
    assert not calibration & test and calibration | test == set(range(61))
    assert len(calibration) - len(test) in (0, 1)
    assert list(partition.calibration) == sorted(partition.calibration)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_stratum_is_split_within_one_image(seed):
    truths, _ = random_case(seed, num_images=120)
    partition = partition_images(truths)
    strata = _strata(truths)
    in_calibration = collections.Counter(strata[i] for i in partition.calibration)
    in_test = collections.Counter(strata[i] for i in partition.test)
    for stratum in set(strata):
        assert abs(in_calibration[stratum] - in_test[stratum]) <= 1, stratum
        if strata.count(stratum) >= 2:
            assert in_calibration[stratum] and in_test[stratum], stratum


@pytest.mark.parametrize("seed", [0, 1])
def test_the_same_images_in_any_order_give_the_same_halves(seed):
    truths, _ = random_case(seed, num_images=40)
    shuffled = [truths[i] for i in np.random.default_rng(seed).permutation(len(truths))]
    assert _halves_by_content(shuffled) == _halves_by_content(truths)
    renamed = [truth(t.boxes, t.classes, (t.width, t.height), f"elsewhere/{t.source_id}", t.sha256) for t in shuffled]
    assert _halves_by_content(renamed) == _halves_by_content(truths)  # content, not path, decides


def test_the_rule_by_hand():
    """Fractured elbows a..e (by sha256), then two normal hands: dealt alternately, calibration first, across strata."""
    elbow, hand = class_id("ELBOW", True), class_id("HAND", False)
    truths = [truth([BOX], [elbow], source_id=f"e{sha}", sha256=sha) for sha in "ecadb"]
    truths += [truth([BOX], [hand], source_id=f"h{sha}", sha256=sha) for sha in "zy"]
    truths.append(truth([], [], source_id="blank", sha256="0"))
    partition = partition_images(truths)
    names = [t.source_id for t in truths]
    # Strata in BODY_PARTS order (ELBOW before HAND), images without boxes last; within, by sha256.
    assert sorted(names[i] for i in partition.calibration) == ["ea", "ec", "ee", "hz"]
    assert sorted(names[i] for i in partition.test) == ["blank", "eb", "ed", "hy"]


def test_summary_counts_each_half():
    truths, _ = random_case(4, num_images=50)
    partition = partition_images(truths)
    summary = partition_summary(truths, partition)
    assert summary["rule"] == RULE and summary["images"] == 50
    fractured, parts = fractured_images(truths), [part or UNLABELLED for part in image_body_parts(truths)]
    for name, indices in ((CALIBRATION, partition.calibration), (TEST, partition.test)):
        half = summary[name]
        assert half["images"] == len(indices) and half["fractured"] == int(fractured[indices].sum())
        assert list(half["by_part"]) == [*BODY_PARTS, UNLABELLED]
        for part, counts in half["by_part"].items():
            assert counts["images"] == sum(parts[i] == part for i in indices)
            assert counts["fractured"] == sum(parts[i] == part and fractured[i] for i in indices)
        assert sum(counts["images"] for counts in half["by_part"].values()) == half["images"]


def test_a_split_of_one_image_leaves_nothing_to_test_on():
    with pytest.raises(FracdetError, match="needs at least 2"):
        measure_records([truth([BOX], [class_id("HAND", True)])], [ImageDetections.empty()], EvaluateConfig())
