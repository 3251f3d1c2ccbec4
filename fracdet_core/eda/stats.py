"""Dataset statistics from an ingest's manifest and `labels.parquet`, never from the images.

Reading only the label table, never an image, keeps EDA quick whatever the images weigh.
Coordinates in the table are normalised; pixel sizes use each image's stored width and height.
A split's counts and distributions are of its in-scope images; its out-of-scope images are
counted apart, per anatomy, under `out_of_scope` (`scope`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fracdet_core.classes import BODY_PARTS, CLASS_NAMES
from fracdet_core.eda.scope import in_scope_rows, out_of_scope_stats

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
# Fixed log-spaced bins, so distributions of two runs compare bin for bin (drift).
SIZE_BIN_EDGES = np.geomspace(1e-4, 1.0, 41)
SIZE_METRICS = ("width", "height", "area")
# (metric, column of `box_table`) of the box shape distributions per class.
_SHAPE_COLUMNS = (("width", "w"), ("height", "h"), ("area", "area"), ("aspect", "aspect"), ("cx", "cx"), ("cy", "cy"))


def summarise(values: pd.Series | np.ndarray) -> dict[str, float] | None:
    """min, quantiles, max and mean of a sample, or None for an empty one."""
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        return None
    summary = {"min": float(array.min())}
    summary.update({f"p{round(q * 100):02d}": float(np.quantile(array, q)) for q in QUANTILES})
    summary.update({"max": float(array.max()), "mean": float(array.mean())})
    return summary


def box_table(labels: pd.DataFrame) -> pd.DataFrame:
    """The rows that are boxes (not background), with sizes in image units and pixels."""
    boxes = labels[labels["class_id"].notna()].copy()
    boxes["area"] = boxes["w"] * boxes["h"]
    boxes["aspect"] = boxes["w"] * boxes["image_width"] / (boxes["h"] * boxes["image_height"])
    boxes["width_px"] = boxes["w"] * boxes["image_width"]
    boxes["height_px"] = boxes["h"] * boxes["image_height"]
    return boxes


def split_stats(labels: pd.DataFrame, split: str) -> dict:
    """Counts and distributions of one split's in-scope images, and its out-of-scope images per anatomy."""
    rows = in_scope_rows(labels[labels["split"] == split])
    boxes = box_table(rows)
    images = rows.drop_duplicates("image_id")
    per_image = rows.groupby("image_id")["class_id"].count()  # 0 for background images
    return {
        "images": len(images),
        "background_images": int((per_image == 0).sum()),
        "boxes": len(boxes),
        "boxes_per_image": summarise(per_image[per_image > 0]),
        "max_boxes_per_image": int(per_image.max()) if len(per_image) else 0,
        "classes": _class_counts(boxes),
        "image_size": {"width": summarise(images["image_width"]), "height": summarise(images["image_height"])},
        "body_parts": _body_part_balance(boxes),
        "boxes_by_class": _box_shapes_by_class(boxes),
        "size_histograms": _size_histograms(boxes),
        "out_of_scope": out_of_scope_stats(labels, split),
    }


def _class_counts(boxes: pd.DataFrame) -> dict[str, dict[str, float | int]]:
    """Per class: images with a box of it, its boxes, and its share of all boxes."""
    classes = {}
    for name in CLASS_NAMES:
        of_class = boxes[boxes["class_name"] == name]
        classes[name] = {
            "images": int(of_class["image_id"].nunique()),
            "boxes": len(of_class),
            "share": float(len(of_class) / len(boxes)) if len(boxes) else 0.0,
        }
    return classes


def _box_shapes_by_class(boxes: pd.DataFrame) -> dict[str, dict[str, dict[str, float] | None]]:
    """Per class present: the distribution of box width, height, area, aspect and centre."""
    return {
        name: {metric: summarise(group[column]) for metric, column in _SHAPE_COLUMNS}
        for name, group in boxes.groupby("class_name")
    }


def _size_histograms(boxes: pd.DataFrame) -> dict[str, list[int]]:
    """Box width, height and area counted over the fixed `SIZE_BIN_EDGES`, so two runs compare bin for bin."""
    return {
        metric: np.histogram(np.clip(boxes[column], SIZE_BIN_EDGES[0], 1.0), SIZE_BIN_EDGES)[0].tolist()
        for metric, column in zip(SIZE_METRICS, ("w", "h", "area"), strict=True)
    }


def _body_part_balance(boxes: pd.DataFrame) -> dict[str, dict[str, float | int]]:
    """Per body part, images called fractured (any positive box) and normal."""
    per_image = boxes.groupby(["body_part", "image_id"])["positive"].any().reset_index()
    balance = {}
    for part in BODY_PARTS:
        of_part = per_image[per_image["body_part"] == part]
        positive = int(of_part["positive"].sum())
        total = len(of_part)
        balance[part] = {
            "positive_images": positive,
            "negative_images": total - positive,
            "positive_share": positive / total if total else 0.0,
        }
    return balance


def compute_stats(manifest: dict, labels: pd.DataFrame) -> dict:
    """`stats.json` minus checks and drift: per split, per class, sizes, balance, quarantine."""
    totals = manifest["totals"]
    return {
        "schema_version": 1,
        "class_names": list(CLASS_NAMES),
        "size_bin_edges": SIZE_BIN_EDGES.tolist(),
        "splits": {split: split_stats(labels, split) for split in manifest["splits"]},
        "quarantine": {
            "found": totals["found"],
            "quarantined": totals["quarantined"],
            "share": totals["quarantined"] / totals["found"] if totals["found"] else 0.0,
            "reasons": manifest["quarantine_reasons"],
            "warnings": manifest.get("warning_reasons", {}),
        },
    }
