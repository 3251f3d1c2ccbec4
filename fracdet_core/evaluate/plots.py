"""The evaluation report's figures, as PNG bytes (Matplotlib's non-interactive backend)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from fracdet_core.classes import CLASS_NAMES, describe_class
from fracdet_core.evaluate.clinical import ClinicalMetrics
from fracdet_core.evaluate.coco import CocoMetrics
from fracdet_core.evaluate.confusion import COLUMN_LABELS, ROW_LABELS
from fracdet_core.evaluate.froc import Froc
from fracdet_core.html_page import figure_png


def _legend_or_note(axes: plt.Axes, location: str, note: str) -> None:
    """A legend for the plotted curves, or a note saying why there are none."""
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize="small", loc=location)
    else:
        axes.text(0.5, 0.5, note, ha="center", va="center", transform=axes.transAxes, color="grey")


def precision_recall(coco: CocoMetrics) -> bytes:
    """Interpolated precision against recall at IoU 0.5, fracture classes left, normal right."""
    figure, panels = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True, layout="constrained")
    for panel, fractured in zip(panels, (True, False), strict=True):
        for name in CLASS_NAMES:
            curve = coco.pr_curves[name]
            if describe_class(name)[1] != fractured or curve is None:
                continue
            panel.plot(curve.recall, curve.precision, label=f"{describe_class(name)[0]} (AP {coco.per_class_ap50[name]:.2f})")
        panel.set(xlabel="recall", xlim=(0, 1), ylim=(0, 1.02), title="fracture classes" if fractured else "normal-study classes")
        panel.grid(alpha=0.3)
        _legend_or_note(panel, "lower left", "no truth boxes of these classes")
    panels[0].set_ylabel("precision")
    figure.suptitle("Precision-recall per class, IoU 0.5")
    return figure_png(figure)


def roc(clinical: ClinicalMetrics) -> bytes:
    """Image-level ROC of the fracture call per body part and overall, with each operating point."""
    figure, axes = plt.subplots(figsize=(6, 5.5), layout="constrained")
    for name, group in clinical.groups.items():
        if group.roc is None:
            continue
        style = {"color": "black", "linewidth": 2.5} if name == "overall" else {}
        line, = axes.plot(
            group.roc.false_positive_rate, group.roc.true_positive_rate, label=f"{name} (AUC {group.auc:.2f})", **style
        )
        if group.sensitivity is not None and group.specificity is not None:
            axes.plot(1 - group.specificity, group.sensitivity, "o", color=line.get_color())
        if group.definite_sensitivity is not None and group.definite_specificity is not None:
            axes.plot(1 - group.definite_specificity, group.definite_sensitivity, "s", color=line.get_color())
    axes.plot([0, 1], [0, 1], ":", color="grey")
    axes.set(xlabel="1 - specificity", ylabel="sensitivity", xlim=(0, 1), ylim=(0, 1.02),
             title=f"Fracture call per image\n(dots: suspicious, for sensitivity {clinical.target_sensitivity:.2f}; "
                   f"squares: definite, for specificity {clinical.target_specificity:.2f})")
    _legend_or_note(axes, "lower right", "no group has both fractured and normal images")
    axes.grid(alpha=0.3)
    return figure_png(figure)


def froc(curve: Froc) -> bytes:
    """Fracture sensitivity against false positives per image, log x axis over the standard points."""
    figure, axes = plt.subplots(figsize=(6, 4.5), layout="constrained")
    visible = curve.fp_per_image > 0
    axes.plot(curve.fp_per_image[visible], curve.sensitivity[visible], color="#c62828")
    points = [(rate, value) for rate, value in curve.sensitivity_at.items() if value is not None]
    if points:
        axes.plot(*zip(*points, strict=True), "o", color="#c62828")
    axes.set_xscale("log")
    axes.set(xlabel="false positives per image", ylabel="fracture sensitivity", ylim=(0, 1.02), xlim=(0.1, 10),
             title=f"FROC: {curve.num_fractures} fractures in {curve.num_images} images, hit at IoU >= {curve.iou_threshold}")
    axes.grid(alpha=0.3, which="both")
    return figure_png(figure)


def confusion(matrix: np.ndarray, score_threshold: float) -> bytes:
    """The detection confusion matrix, counts in the cells."""
    rows = [label.replace("XR_", "") for label in ROW_LABELS]
    columns = [label.replace("XR_", "") for label in COLUMN_LABELS]
    figure, axes = plt.subplots(figsize=(9, 7.5), layout="constrained")
    axes.imshow(np.log1p(matrix), cmap="Blues")
    for (row, column), count in np.ndenumerate(matrix):
        if count:
            axes.text(column, row, str(count), ha="center", va="center", fontsize=8,
                      color="white" if count > matrix.max() / 2 else "black")
    axes.set_xticks(range(len(columns)), columns, rotation=60, ha="right", fontsize=8)
    axes.set_yticks(range(len(rows)), rows, fontsize=8)
    axes.set(xlabel="predicted", ylabel="truth", title=f"Detections with score >= {score_threshold:.2f}, matched at IoU >= 0.5")
    return figure_png(figure)
