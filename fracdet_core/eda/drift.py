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
from fracdet_core.eda.config import EdaOptions
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
    effective = int(round(n * m / (n + m)))
    return statistic, float(scipy_stats.kstwo.sf(statistic, max(effective, 1)))


def compare(current: dict, baseline: dict, baseline_uri: str, options: EdaOptions) -> dict:
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
    counts = np.array([train["classes"][name]["boxes"] for name in CLASS_NAMES], dtype=np.float64)
    base_counts = np.array([base_train["classes"].get(name, {}).get("boxes", 0) for name in CLASS_NAMES], dtype=np.float64)
    psi = population_stability_index(counts, base_counts)
    expected = np.maximum(base_counts / max(base_counts.sum(), 1.0), _SHARE_FLOOR)
    expected = expected / expected.sum() * counts.sum()
    chi2, chi2_p = scipy_stats.chisquare(counts, expected) if counts.sum() else (0.0, 1.0)
    shares = {
        name: {"baseline": float(b / max(base_counts.sum(), 1.0)), "current": float(c / max(counts.sum(), 1.0))}
        for name, b, c in zip(CLASS_NAMES, base_counts, counts)
    }
    flagged = []
    class_flag = psi > options.psi_threshold
    if class_flag:
        movers = sorted(shares, key=lambda name: -abs(shares[name]["current"] - shares[name]["baseline"]))[:3]
        flagged.append(f"class shares (PSI {psi:.3f} > {options.psi_threshold}; most moved: {', '.join(movers)})")
    sizes = {}
    comparable = list(base_edges) == list(current["size_bin_edges"])
    for metric in SIZE_METRICS:
        if not comparable:
            break
        statistic, p_value = binned_ks(np.array(train["size_histograms"][metric]), np.array(base_train["size_histograms"][metric]))
        moved = p_value < options.ks_p_value
        sizes[metric] = {"ks": statistic, "p_value": p_value, "flagged": moved}
        if moved:
            flagged.append(f"box {metric} (KS {statistic:.3f}, p {p_value:.2g} < {options.ks_p_value})")
    return {
        "baseline": baseline_uri,
        "class_shares": {"psi": psi, "chi2": float(chi2), "chi2_p_value": float(chi2_p), "flagged": class_flag, "shares": shares},
        "box_sizes": sizes if comparable else None,
        "flagged": flagged,
    }
