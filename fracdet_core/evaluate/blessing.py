"""Blessing: whether a candidate model is good enough to register, with a reason for every check.

The pipeline registers a model only when it is blessed, so the decision must be explicable
from `blessing.json` alone: each check writes one line saying PASS or FAIL with its numbers,
and a metric that is missing fails its check instead of crashing the stage.

The thresholds file is small YAML, every key optional:

    min_map50: 0.3
    min_sensitivity: 0.8            # overall only; or per group: {overall: 0.8, HAND: 0.85}
    min_specificity: 0.3            # at the operating threshold; same forms
    min_auc: 0.6                    # image-level ROC AUC; same forms
    max_regression: {map50: 0.05}   # allowed absolute drop vs the champion, per metric
    min_in_scope_kept: 0.98         # share of in-scope test images the in-scope threshold keeps; null: no gate
    min_out_of_scope_rejected: 0.95 # share of out-of-scope test images it turns away; null: no gate

The operating thresholds are chosen on the calibration half of the split to reach the target
sensitivity; every figure gated here is of the test half, which chose nothing (`partition`), so
sensitivity there is measured, not met by construction. Specificity at those thresholds and the
AUC are what tell a useful fracture call from a model that flags everything.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import yaml

from fracdet_core import storage
from fracdet_core.classes import BODY_PARTS
from fracdet_core.errors import ConfigError
from fracdet_core.evaluate.clinical import OVERALL

SENSITIVITY_GROUPS: tuple[str, ...] = (*BODY_PARTS, OVERALL)

# Metric name in `max_regression` -> its path in metrics.json; fracture metrics are overall.
REGRESSION_METRICS: dict[str, tuple[str, ...]] = {
    "map50": ("map50",),
    "map50_95": ("map50_95",),
    "sensitivity": ("fracture", OVERALL, "sensitivity"),
    "specificity": ("fracture", OVERALL, "specificity"),
    "auc": ("fracture", OVERALL, "auc"),
}

# Threshold field -> the metric of metrics.json's `fracture` groups it bounds from below.
_GROUP_MINIMUMS: dict[str, str] = {"min_sensitivity": "sensitivity", "min_specificity": "specificity", "min_auc": "auc"}

# Threshold field -> the share of metrics.json's `indications` it bounds from below, and what the share is of.
_INDICATIONS_MINIMUMS: dict[str, tuple[str, str]] = {
    "min_in_scope_kept": ("in_scope_kept", "in-scope images"),
    "min_out_of_scope_rejected": ("out_of_scope_rejected", "out-of-scope images"),
}

# Rounding slack for "drop <= allowed": 0.62 - 0.57 is 0.05000000000000004 in floats.
_TOLERANCE = 1e-9


@dataclasses.dataclass(frozen=True)
class BlessingThresholds:
    """Attributes:
        min_map50: the lowest mAP@0.5 blessed.
        min_sensitivity, min_specificity, min_auc: group (a body part or "overall") -> the
            lowest image-level sensitivity, specificity at the operating threshold, and ROC
            AUC blessed.
        max_regression: metric name (a key of `REGRESSION_METRICS`) -> the largest absolute
            drop against the champion blessed.
        min_in_scope_kept, min_out_of_scope_rejected: the lowest shares of the test half's
            in-scope images kept and out-of-scope images turned away by the in-scope threshold
            (`evaluate.indications`), None for no gate. Where a share cannot be measured (a model
            without the indications output, a split without out-of-scope images) the check
            passes and says why: nothing there could show it.

    The defaults suit the demo dataset: a model that learned something, and no real step back.
    """

    min_map50: float = 0.3
    min_sensitivity: Mapping[str, float] = dataclasses.field(default_factory=lambda: {OVERALL: 0.8})
    min_specificity: Mapping[str, float] = dataclasses.field(default_factory=lambda: {OVERALL: 0.3})
    min_auc: Mapping[str, float] = dataclasses.field(default_factory=lambda: {OVERALL: 0.6})
    max_regression: Mapping[str, float] = dataclasses.field(default_factory=lambda: {"map50": 0.05})
    min_in_scope_kept: float | None = 0.98
    min_out_of_scope_rejected: float | None = 0.95

    def __post_init__(self) -> None:
        _check_fraction("min_map50", self.min_map50)
        for name in _INDICATIONS_MINIMUMS:
            if getattr(self, name) is not None:
                _check_fraction(name, getattr(self, name))
        for name in _GROUP_MINIMUMS:
            minimums = getattr(self, name)
            if not isinstance(minimums, Mapping):
                raise ConfigError(f"{name} must be a number or a mapping group -> number, got {minimums!r}")
            for group, value in minimums.items():
                if group not in SENSITIVITY_GROUPS:
                    raise ConfigError(f"{name}.{group}: unknown group; expected one of {', '.join(SENSITIVITY_GROUPS)}")
                _check_fraction(f"{name}.{group}", value)
        if not isinstance(self.max_regression, Mapping):
            raise ConfigError(f"max_regression must be a mapping metric -> number, got {self.max_regression!r}")
        for metric, value in self.max_regression.items():
            if metric not in REGRESSION_METRICS:
                raise ConfigError(f"max_regression.{metric}: unknown metric; expected one of {', '.join(REGRESSION_METRICS)}")
            _check_fraction(f"max_regression.{metric}", value)


@dataclasses.dataclass(frozen=True)
class Blessing:
    """Attributes:
        blessed: every check passed.
        reasons: one line per check, "PASS ..." or "FAIL ...", in check order.
    """

    blessed: bool
    reasons: list[str]


def load_thresholds(uri: str | None) -> BlessingThresholds:
    """Thresholds from a YAML file (local path or gs:// URI); None gives the defaults.

    A single number for a `min_*` group threshold applies to "overall": per-part samples are often
    too small to gate on unless asked for by name.

    Raises:
        ConfigError: the file is not YAML or not a mapping, has an unknown key, or a value is
            not a number within [0, 1]; the message names the file and the key.
    """
    if uri is None:
        return BlessingThresholds()
    try:
        content = yaml.safe_load(storage.read_text(uri))
    except yaml.YAMLError as error:
        raise ConfigError(f"{uri}: not valid YAML: {error}") from None
    content = {} if content is None else content
    if not isinstance(content, dict):
        raise ConfigError(f"{uri}: expected a mapping of thresholds, got {type(content).__name__}")
    known = {field.name for field in dataclasses.fields(BlessingThresholds)}
    unknown = set(content) - known
    if unknown:
        raise ConfigError(f"{uri}: unknown keys {sorted(map(str, unknown))}; known: {sorted(known)}")
    values = dict(content)
    for name in _GROUP_MINIMUMS:
        if name in values and not isinstance(values[name], dict):
            values[name] = {OVERALL: values[name]}
    try:
        return BlessingThresholds(**values)
    except ConfigError as error:
        raise ConfigError(f"{uri}: {error}") from None


def decide(metrics: Mapping, thresholds: BlessingThresholds, champion: Mapping | None) -> Blessing:
    """Bless the candidate when it clears every minimum and regresses no more than allowed.

    Args:
        metrics: the candidate's metrics.json content (`map50`, `map50_95`, `fracture`, ...).
        thresholds: the minimums and allowed drops.
        champion: the current champion's metrics.json content; None when there is none.

    Regression is checked only where both models have the metric: a champion without it
    (an older metrics.json) passes that check, a candidate without it fails.
    """
    reasons = [_minimum("map50", _lookup(metrics, ("map50",)), thresholds.min_map50)]
    for name, metric in _GROUP_MINIMUMS.items():
        for group, minimum in getattr(thresholds, name).items():
            reasons.append(_minimum(f"fracture.{group}.{metric}", _lookup(metrics, ("fracture", group, metric)), minimum))
    for metric, allowed in thresholds.max_regression.items():
        reasons.append(_regression(metric, metrics, champion, allowed))
    for name, (share, images) in _INDICATIONS_MINIMUMS.items():
        if getattr(thresholds, name) is not None:
            reasons.append(_indications_minimum(metrics, share, images, getattr(thresholds, name)))
    return Blessing(blessed=all(reason.startswith("PASS") for reason in reasons), reasons=reasons)


def _minimum(name: str, value: float | None, minimum: float) -> str:
    if value is None:
        return f"FAIL {name} is missing from the metrics (needs >= {minimum:.3f})"
    if value >= minimum:
        return f"PASS {name} {value:.3f} >= {minimum:.3f}"
    return f"FAIL {name} {value:.3f} < {minimum:.3f}"


def _indications_minimum(metrics: Mapping, share: str, images: str, minimum: float) -> str:
    """The check of one `indications` share, passing with its reason where nothing could measure it."""
    indications = metrics.get("indications")
    name = f"indications.{share}"
    if not isinstance(indications, Mapping) or indications.get("in_scope_threshold") is None:
        return (f"PASS {name} not measured: no in-scope threshold (the model has no indications output, or the split "
                "no out-of-scope images)")
    overall = (indications.get(share) or {}).get("overall") or {}
    if not overall.get("images"):
        return f"PASS {name} not measured: the test half holds no {images}"
    return _minimum(name, _lookup(overall, ("share",)), minimum)


def _regression(metric: str, metrics: Mapping, champion: Mapping | None, allowed: float) -> str:
    path = REGRESSION_METRICS[metric]
    value = _lookup(metrics, path)
    if value is None:
        return f"FAIL {metric} regression: {metric} is missing from the metrics"
    if champion is None:
        return f"PASS {metric} regression: no champion to compare against"
    reference = _lookup(champion, path)
    if reference is None:
        return f"PASS {metric} regression: the champion has no {metric} to compare against"
    drop = reference - value
    comparison = f"{metric} {value:.3f} vs champion {reference:.3f}: drop {drop:.3f}"
    if drop <= allowed + _TOLERANCE:
        return f"PASS {comparison} <= {allowed:.3f}"
    return f"FAIL {comparison} > {allowed:.3f}"


def _lookup(metrics: Mapping, path: tuple[str, ...]) -> float | None:
    """The number at `path`, or None when a key is missing or the value is null, NaN or not a number."""
    value: object = metrics
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return None
    return float(value)


def _check_fraction(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ConfigError(f"{name} must be a number within [0, 1], got {value!r}")
