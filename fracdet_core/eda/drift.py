"""Drift of the training data against a previous EDA run (the data the champion saw).

- Class shares: the population stability index, `sum((p - q) * ln(p / q))` over classes
  (0.1: some change, 0.25: a large one), with a chi-square test of the current counts against
  the baseline shares.
- Box sizes (width, height, area): the two-sample Kolmogorov-Smirnov statistic, computed on the
  fixed log-spaced histograms both runs store in `stats.json` (so a baseline needs no access to
  its data), with its asymptotic p-value.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as scipy_stats

from fracdet_core.classes import CLASS_NAMES
from fracdet_core.eda.config import EdaConfig
from fracdet_core.eda.stats import SIZE_METRICS
from fracdet_core.errors import FracdetError

_SHARE_FLOOR = 1e-4  # keeps the PSI finite when a class is absent from one side


def population_stability_index(current: np.ndarray, baseline: np.ndarray) -> float:
    """PSI of two distributions given as counts or shares over the same categories."""
    p = np.maximum(current / max(current.sum(), 1e-12), _SHARE_FLOOR)
    q = np.maximum(baseline / max(baseline.sum(), 1e-12), _SHARE_FLOOR)
    return float(np.sum((p - q) * np.log(p / q)))


def binned_ks(current: np.ndarray, baseline: np.ndarray) -> tuple[float, float]:
    """Two-sample KS statistic and p-value from histograms over the same bins."""
    n, m = current.sum(), baseline.sum()
    if n == 0 or m == 0:
        return 0.0, 1.0
    statistic = float(np.max(np.abs(np.cumsum(current) / n - np.cumsum(baseline) / m)))
    effective = round(n * m / (n + m))
    return statistic, float(scipy_stats.kstwo.sf(statistic, max(effective, 1)))


def compare(current: dict, baseline: dict, baseline_uri: str, config: EdaConfig) -> dict:
    """What moved in the training split between `baseline` and `current` stats.

    Raises:
        FracdetError: the baseline's stats lack what a comparison needs (another schema).
    """
    try:
        base_train = baseline["splits"]["train"]
        base_edges = baseline["size_bin_edges"]
    except KeyError as error:
        raise FracdetError(f"{baseline_uri}: stats.json has no {error.args[0]!r}; is it a fracdet EDA output?") from None
    train = current["splits"]["train"]
    class_shares = _class_share_drift(train, base_train, config.psi_threshold)
    # Histograms over other bins do not compare bin for bin.
    comparable = list(base_edges) == list(current["size_bin_edges"])
    box_sizes = _box_size_drift(train, base_train, config.ks_p_value) if comparable else None
    return {
        "baseline": baseline_uri,
        "class_shares": class_shares,
        "box_sizes": box_sizes,
        "flagged": _moved(class_shares, box_sizes or {}, config),
    }


def _class_share_drift(train: dict, base_train: dict, psi_threshold: float) -> dict:
    """PSI and chi-square of the training boxes per class, and each class's share then and now."""
    counts = np.array([train["classes"][name]["boxes"] for name in CLASS_NAMES], dtype=np.float64)
    base_counts = np.array([base_train["classes"].get(name, {}).get("boxes", 0) for name in CLASS_NAMES], dtype=np.float64)
    psi = population_stability_index(counts, base_counts)
    chi2, chi2_p = _chi_square(counts, base_counts)
    shares = {
        name: {"baseline": float(b / max(base_counts.sum(), 1.0)), "current": float(c / max(counts.sum(), 1.0))}
        for name, b, c in zip(CLASS_NAMES, base_counts, counts, strict=True)
    }
    return {"psi": psi, "chi2": chi2, "chi2_p_value": chi2_p, "flagged": psi > psi_threshold, "shares": shares}


def _chi_square(counts: np.ndarray, base_counts: np.ndarray) -> tuple[float, float]:
    """Chi-square statistic and p-value of `counts` against the baseline's shares, floored so no class expects 0."""
    if not counts.sum():
        return 0.0, 1.0
    expected = np.maximum(base_counts / max(base_counts.sum(), 1.0), _SHARE_FLOOR)
    chi2, p_value = scipy_stats.chisquare(counts, expected / expected.sum() * counts.sum())
    return float(chi2), float(p_value)


def _box_size_drift(train: dict, base_train: dict, ks_p_value: float) -> dict[str, dict]:
    """Per box size metric: the binned KS statistic, its p-value, and whether it moved."""
    sizes = {}
    for metric in SIZE_METRICS:
        statistic, p_value = binned_ks(np.array(train["size_histograms"][metric]),
                                       np.array(base_train["size_histograms"][metric]))
        sizes[metric] = {"ks": statistic, "p_value": p_value, "flagged": p_value < ks_p_value}
    return sizes


def _moved(class_shares: dict, box_sizes: dict[str, dict], config: EdaConfig) -> list[str]:
    """One line per flagged change: the class shares (naming the three classes that moved most), then each box size."""
    flagged = []
    if class_shares["flagged"]:
        shares = class_shares["shares"]
        movers = sorted(shares, key=lambda name: -abs(shares[name]["current"] - shares[name]["baseline"]))[:3]
        flagged.append(f"class shares (PSI {class_shares['psi']:.3f} > {config.psi_threshold}; most moved: {', '.join(movers)})")
    flagged += [f"box {metric} (KS {values['ks']:.3f}, p {values['p_value']:.2g} < {config.ks_p_value})"
                for metric, values in box_sizes.items() if values["flagged"]]
    return flagged
