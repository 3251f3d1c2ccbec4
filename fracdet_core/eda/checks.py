"""Data checks that stop a run before training time is spent on broken data, and warnings.

Failures stop the stage (after its report is written, so a person sees why); warnings only show
in the report. Every check is reported, passed or not.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from fracdet_core.classes import CLASS_NAMES
from fracdet_core.eda.config import EdaOptions
from fracdet_core.eda.stats import box_table


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """One check: `severity` is "failure" (stops the run) or "warning"; `detail` says what was found."""

    name: str
    severity: str
    passed: bool
    detail: str


def run_checks(stats: dict, labels: pd.DataFrame, options: EdaOptions) -> list[CheckResult]:
    """Every check, the failures first, each in the same place on every run."""
    train = stats["splits"]["train"]
    val = stats["splits"].get("val", {"images": 0, "classes": {}})
    boxes = box_table(labels)
    return [
        _class_without_training_boxes(train),
        _empty_val_split(val),
        _quarantine_share(stats["quarantine"], options),
        _boxes_per_image(boxes, options),
        _degenerate_boxes(boxes, options),
        _rare_classes(train, options),
        _train_val_share_gap(train, val, options),
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


def _quarantine_share(quarantine: dict, options: EdaOptions) -> CheckResult:
    """Failure: so many files rejected that the data is more likely broken than noisy."""
    share = quarantine["share"]
    return CheckResult(
        "quarantine_share", "failure", share <= options.max_quarantine_share,
        f"{quarantine['quarantined']} of {quarantine['found']} files quarantined "
        f"({share:.1%}; limit {options.max_quarantine_share:.1%})",
    )


def _boxes_per_image(boxes: pd.DataFrame, options: EdaOptions) -> CheckResult:
    """Failure: images with more boxes than the limit, naming the first."""
    crowded = boxes.groupby("image_id").size()
    crowded = crowded[crowded > options.max_boxes_per_image]
    return CheckResult(
        "boxes_per_image", "failure", crowded.empty,
        f"{len(crowded)} images have more than {options.max_boxes_per_image} boxes"
        + (f", e.g. {crowded.index[0]} with {crowded.iloc[0]}" if len(crowded) else ""),
    )


def _degenerate_boxes(boxes: pd.DataFrame, options: EdaOptions) -> CheckResult:
    """Failure: too large a share of boxes under `min_box_pixels` wide or high."""
    degenerate = (boxes["width_px"] < options.min_box_pixels) | (boxes["height_px"] < options.min_box_pixels)
    degenerate_share = float(degenerate.mean()) if len(boxes) else 0.0
    return CheckResult(
        "degenerate_boxes", "failure", degenerate_share <= options.max_degenerate_box_share,
        f"{int(degenerate.sum())} boxes ({degenerate_share:.2%}) are under {options.min_box_pixels:g} px wide or high "
        f"(limit {options.max_degenerate_box_share:.2%})",
    )


def _rare_classes(train: dict, options: EdaOptions) -> CheckResult:
    """Warning: present classes with too few training boxes to learn from."""
    rare = [f"{name} ({train['classes'][name]['boxes']})" for name in CLASS_NAMES
            if 0 < train["classes"][name]["boxes"] < options.min_class_boxes]
    return CheckResult(
        "rare_classes", "warning", not rare,
        f"under {options.min_class_boxes} training boxes: {', '.join(rare)}" if rare
        else f"every present class has at least {options.min_class_boxes} training boxes",
    )


def _train_val_share_gap(train: dict, val: dict, options: EdaOptions) -> CheckResult:
    """Warning: class shares that differ between the splits, so validation measures another mix."""
    gaps = [
        f"{name} (train {train['classes'][name]['share']:.1%}, val {val['classes'][name]['share']:.1%})"
        for name in CLASS_NAMES
        if val["classes"] and abs(train["classes"][name]["share"] - val["classes"][name]["share"]) > options.max_share_gap
    ]
    return CheckResult(
        "train_val_share_gap", "warning", not gaps,
        f"class shares differ by more than {options.max_share_gap:.0%}: {', '.join(gaps)}" if gaps
        else f"train and val class shares within {options.max_share_gap:.0%}",
    )
