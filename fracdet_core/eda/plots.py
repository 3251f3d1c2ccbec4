"""The report's figures, rendered to PNG bytes with Matplotlib's non-interactive backend."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from fracdet_core.classes import BODY_PARTS, CLASS_NAMES
from fracdet_core.html_page import figure_png

_MAX_SCATTER_POINTS = 5000


def class_counts(stats: dict) -> bytes:
    """Boxes per class, one bar per split."""
    figure, axes = plt.subplots(figsize=(8, 4.5), layout="constrained")
    positions = np.arange(len(CLASS_NAMES))
    splits = list(stats["splits"])
    height = 0.8 / max(len(splits), 1)
    for offset, split in enumerate(splits):
        counts = [stats["splits"][split]["classes"][name]["boxes"] for name in CLASS_NAMES]
        axes.barh(positions + offset * height, counts, height=height, label=split)
    axes.set_yticks(positions + height * (len(splits) - 1) / 2, CLASS_NAMES)
    axes.invert_yaxis()
    axes.set_xlabel("boxes")
    axes.legend()
    axes.set_title("Boxes per class")
    return figure_png(figure)


def body_part_balance(stats: dict) -> bytes:
    """Fractured and normal training images per body part."""
    balance = stats["splits"]["train"]["body_parts"]
    positive = [balance[part]["positive_images"] for part in BODY_PARTS]
    negative = [balance[part]["negative_images"] for part in BODY_PARTS]
    figure, axes = plt.subplots(figsize=(7, 3.5), layout="constrained")
    axes.bar(BODY_PARTS, positive, label="fractured", color="#d9534f")
    axes.bar(BODY_PARTS, negative, bottom=positive, label="normal", color="#5bc0de")
    axes.set_ylabel("training images")
    axes.legend()
    axes.set_title("Fractured and normal images per body part (train)")
    return figure_png(figure)


def box_sizes(boxes: pd.DataFrame) -> bytes:
    """Box width against height in pixels, per class, on log axes (train)."""
    train = boxes[boxes["split"] == "train"]
    if len(train) > _MAX_SCATTER_POINTS:
        train = train.sample(_MAX_SCATTER_POINTS, random_state=0)
    figure, axes = plt.subplots(figsize=(7, 5), layout="constrained")
    colours = plt.get_cmap("tab10")
    for index, name in enumerate(CLASS_NAMES):
        of_class = train[train["class_name"] == name]
        if len(of_class):
            axes.scatter(of_class["width_px"], of_class["height_px"], s=6, alpha=0.6, color=colours(index), label=name)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("box width (px)")
    axes.set_ylabel("box height (px)")
    axes.legend(fontsize=7, markerscale=2, loc="upper left")
    axes.set_title("Box sizes (train)")
    return figure_png(figure)


def box_positions(boxes: pd.DataFrame) -> bytes:
    """Where box centres fall in the image, fractures and examined regions apart (train)."""
    train = boxes[boxes["split"] == "train"]
    figure, all_axes = plt.subplots(1, 2, figsize=(8, 4), layout="constrained")
    for axes, positive, title in ((all_axes[0], True, "fracture boxes"), (all_axes[1], False, "normal-study boxes")):
        subset = train[train["positive"] == positive]
        axes.hist2d(subset["cx"], subset["cy"], bins=16, range=[[0, 1], [0, 1]], cmap="magma")
        axes.set_xlim(0, 1)
        axes.set_ylim(1, 0)
        axes.set_aspect("equal")
        axes.set_title(f"Centres of {title} ({len(subset)})")
        axes.set_xlabel("x")
        axes.set_ylabel("y")
    return figure_png(figure)
