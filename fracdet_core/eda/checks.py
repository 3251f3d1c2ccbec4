"""Data checks that stop a run before training time is spent on broken data, and warnings.

Failures stop the stage (after its report is written, so a person sees why); warnings only show
in the report. Every check is reported, passed or not.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from fracdet_core.classes import CLASS_NAMES
from fracdet_core.eda.config import EdaConfig
from fracdet_core.eda.stats import box_table


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """One check: `severity` is "failure" (stops the run) or "warning"; `detail` says what was found."""

    name: str
    severity: str
    passed: bool
    detail: str


def run_checks(stats: dict, labels: pd.DataFrame, config: EdaConfig) -> list[CheckResult]:
    """Every check, the failures first, each in the same place on every run."""
    train = stats["splits"]["train"]
    val = stats["splits"].get("val", {"images": 0, "classes": {}})
    boxes = box_table(labels)
    return [
        _class_without_training_boxes(train),
        _empty_val_split(val),
        _quarantine_share(stats["quarantine"], config),
        _boxes_per_image(boxes, config),
        _degenerate_boxes(boxes, config),
        _rare_classes(train, config),
        _train_val_share_gap(train, val, config),
    ]


def _class_without_training_boxes(train: dict) -> CheckResult:
    """Failure: a class the model would never see a box of."""
    missing = [name for name in CLASS_NAMES if train["classes"][name]["boxes"] == 0]
    return CheckResult(
        "class_without_training_boxes", "failure", not missing,
        f"no training boxes for: {', '.join(missing)}" if missing else "every class has training boxes",
    )


def _empty_val_split(val: dict) -> CheckResult:
    """Failure: nothing to validate, stop early or evaluate on."""
    return CheckResult("empty_val_split", "failure", val["images"] > 0, f"val has {val['images']} images")


def _quarantine_share(quarantine: dict, config: EdaConfig) -> CheckResult:
    """Failure: so many files rejected that the data is more likely broken than noisy."""
    share = quarantine["share"]
    return CheckResult(
        "quarantine_share", "failure", share <= config.max_quarantine_share,
        f"{quarantine['quarantined']} of {quarantine['found']} files quarantined "
        f"({share:.1%}; limit {config.max_quarantine_share:.1%})",
    )


def _boxes_per_image(boxes: pd.DataFrame, config: EdaConfig) -> CheckResult:
    """Failure: images with more boxes than the limit, naming the first."""
    crowded = boxes.groupby("image_id").size()
    crowded = crowded[crowded > config.max_boxes_per_image]
    return CheckResult(
        "boxes_per_image", "failure", crowded.empty,
        f"{len(crowded)} images have more than {config.max_boxes_per_image} boxes"
        + (f", e.g. {crowded.index[0]} with {crowded.iloc[0]}" if len(crowded) else ""),
    )


def _degenerate_boxes(boxes: pd.DataFrame, config: EdaConfig) -> CheckResult:
    """Failure: too large a share of boxes under `min_box_pixels` wide or high."""
    degenerate = (boxes["width_px"] < config.min_box_pixels) | (boxes["height_px"] < config.min_box_pixels)
    degenerate_share = float(degenerate.mean()) if len(boxes) else 0.0
    return CheckResult(
        "degenerate_boxes", "failure", degenerate_share <= config.max_degenerate_box_share,
        f"{int(degenerate.sum())} boxes ({degenerate_share:.2%}) are under {config.min_box_pixels:g} px wide or high "
        f"(limit {config.max_degenerate_box_share:.2%})",
    )


def _rare_classes(train: dict, config: EdaConfig) -> CheckResult:
    """Warning: present classes with too few training boxes to learn from."""
    rare = [f"{name} ({train['classes'][name]['boxes']})" for name in CLASS_NAMES
            if 0 < train["classes"][name]["boxes"] < config.min_class_boxes]
    return CheckResult(
        "rare_classes", "warning", not rare,
        f"under {config.min_class_boxes} training boxes: {', '.join(rare)}" if rare
        else f"every present class has at least {config.min_class_boxes} training boxes",
    )


def _train_val_share_gap(train: dict, val: dict, config: EdaConfig) -> CheckResult:
    """Warning: class shares that differ between the splits, so validation measures another mix."""
    gaps = [
        f"{name} (train {train['classes'][name]['share']:.1%}, val {val['classes'][name]['share']:.1%})"
        for name in CLASS_NAMES
        if val["classes"] and abs(train["classes"][name]["share"] - val["classes"][name]["share"]) > config.max_share_gap
    ]
    return CheckResult(
        "train_val_share_gap", "warning", not gaps,
        f"class shares differ by more than {config.max_share_gap:.0%}: {', '.join(gaps)}" if gaps
        else f"train and val class shares within {config.max_share_gap:.0%}",
    )
