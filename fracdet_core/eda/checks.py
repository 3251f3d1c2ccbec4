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
    train = stats["splits"]["train"]
    val = stats["splits"].get("val", {"images": 0, "classes": {}})
    boxes = box_table(labels)
    results = []

    missing = [name for name in CLASS_NAMES if train["classes"][name]["boxes"] == 0]
    results.append(CheckResult(
        "class_without_training_boxes", "failure", not missing,
        f"no training boxes for: {', '.join(missing)}" if missing else "every class has training boxes",
    ))
    results.append(CheckResult(
        "empty_val_split", "failure", val["images"] > 0, f"val has {val['images']} images",
    ))
    share = stats["quarantine"]["share"]
    results.append(CheckResult(
        "quarantine_share", "failure", share <= options.max_quarantine_share,
        f"{stats['quarantine']['quarantined']} of {stats['quarantine']['found']} files quarantined "
        f"({share:.1%}; limit {options.max_quarantine_share:.1%})",
    ))
    crowded = boxes.groupby("image_id").size()
    crowded = crowded[crowded > options.max_boxes_per_image]
    results.append(CheckResult(
        "boxes_per_image", "failure", crowded.empty,
        f"{len(crowded)} images have more than {options.max_boxes_per_image} boxes"
        + (f", e.g. {crowded.index[0]} with {crowded.iloc[0]}" if len(crowded) else ""),
    ))
    degenerate = (boxes["width_px"] < options.min_box_pixels) | (boxes["height_px"] < options.min_box_pixels)
    degenerate_share = float(degenerate.mean()) if len(boxes) else 0.0
    results.append(CheckResult(
        "degenerate_boxes", "failure", degenerate_share <= options.max_degenerate_box_share,
        f"{int(degenerate.sum())} boxes ({degenerate_share:.2%}) are under {options.min_box_pixels:g} px wide or high "
        f"(limit {options.max_degenerate_box_share:.2%})",
    ))

    rare = [f"{name} ({train['classes'][name]['boxes']})" for name in CLASS_NAMES
            if 0 < train["classes"][name]["boxes"] < options.min_class_boxes]
    results.append(CheckResult(
        "rare_classes", "warning", not rare,
        f"under {options.min_class_boxes} training boxes: {', '.join(rare)}" if rare
        else f"every present class has at least {options.min_class_boxes} training boxes",
    ))
    gaps = [
        f"{name} (train {train['classes'][name]['share']:.1%}, val {val['classes'][name]['share']:.1%})"
        for name in CLASS_NAMES
        if val["classes"] and abs(train["classes"][name]["share"] - val["classes"][name]["share"]) > options.max_share_gap
    ]
    results.append(CheckResult(
        "train_val_share_gap", "warning", not gaps,
        f"class shares differ by more than {options.max_share_gap:.0%}: {', '.join(gaps)}" if gaps
        else f"train and val class shares within {options.max_share_gap:.0%}",
    ))
    return results
