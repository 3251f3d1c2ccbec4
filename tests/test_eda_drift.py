"""Drift against a baseline: flagged when class shares or box sizes move on purpose, silent otherwise."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats
from yolo_builders import labelled_dataset, one_box_per_class

from fracdet_core.eda.config import EdaConfig
from fracdet_core.eda.drift import binned_ks, population_stability_index
from fracdet_core.eda.run import run_eda
from fracdet_core.errors import FracdetError
from fracdet_core.ingest import ingest_dataset

OPTIONS = EdaConfig(min_class_boxes=1, max_share_gap=1.0)
VAL = one_box_per_class()


def _eda(tmp_path, name: str, train: list[str], baseline: str | None = None, first_seed: int = 0) -> dict:
    data = labelled_dataset(tmp_path / f"{name}-data", train, VAL, first_seed=first_seed)
    ingest_dataset(str(data), str(tmp_path / f"{name}-ingest"), progress=False)
    return run_eda(str(tmp_path / f"{name}-ingest"), str(tmp_path / f"{name}-eda"), OPTIONS, baseline_uri=baseline)


@pytest.fixture
def baseline(tmp_path) -> str:
    _eda(tmp_path, "baseline", one_box_per_class() * 8)
    return str(tmp_path / "baseline-eda")


def test_the_same_distribution_is_not_flagged(tmp_path, baseline):
    stats = _eda(tmp_path, "same", one_box_per_class() * 8, baseline, first_seed=5000)
    assert stats["drift"]["flagged"] == []
    assert stats["drift"]["class_shares"]["psi"] == pytest.approx(0.0)
    assert all(not size["flagged"] for size in stats["drift"]["box_sizes"].values())


def test_shifted_class_shares_are_flagged(tmp_path, baseline):
    shifted = one_box_per_class() * 8 + ["4 0.5 0.5 0.2 0.2\n"] * 60  # shoulder fractures up from 10% to ~47%
    stats = _eda(tmp_path, "shifted", shifted, baseline, first_seed=5000)
    drift = stats["drift"]
    assert drift["class_shares"]["flagged"] and drift["class_shares"]["psi"] > 0.2
    assert drift["class_shares"]["chi2_p_value"] < 1e-6
    assert "XR_SHOULDER_positive" in drift["flagged"][0]


def test_smaller_boxes_are_flagged(tmp_path, baseline):
    stats = _eda(tmp_path, "smaller", one_box_per_class(size=0.05) * 8, baseline, first_seed=5000)
    sizes = stats["drift"]["box_sizes"]
    assert sizes["area"]["flagged"] and sizes["width"]["flagged"] and sizes["area"]["ks"] == pytest.approx(1.0)
    assert not stats["drift"]["class_shares"]["flagged"]


def test_a_baseline_without_stats_is_named(tmp_path):
    with pytest.raises(FracdetError, match=r"holds no stats\.json"):
        _eda(tmp_path, "x", one_box_per_class(), str(tmp_path / "nowhere"))


def test_psi_by_hand():
    current, baseline = np.array([50.0, 30.0, 20.0]), np.array([40.0, 40.0, 20.0])
    expected = (0.5 - 0.4) * math.log(0.5 / 0.4) + (0.3 - 0.4) * math.log(0.3 / 0.4)
    assert population_stability_index(current, baseline) == pytest.approx(expected)


def test_binned_ks_matches_scipy_on_binned_samples():
    rng = np.random.default_rng(0)
    edges = np.linspace(0, 1, 21)
    a, b = rng.uniform(0, 1, 400), rng.uniform(0, 1, 300) ** 1.5
    statistic, p_value = binned_ks(np.histogram(a, edges)[0], np.histogram(b, edges)[0])
    # scipy's exact statistic on the samples snapped to the bin edges equals the binned one
    snapped_a, snapped_b = edges[np.digitize(a, edges)], edges[np.digitize(b, edges)]
    reference = scipy_stats.ks_2samp(snapped_a, snapped_b)
    assert statistic == pytest.approx(reference.statistic)
    assert p_value < 0.01
    assert binned_ks(np.array([5, 5]), np.array([5, 5])) == (0.0, 1.0)
