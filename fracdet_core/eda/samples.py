"""Sample thumbnails for the report: a few images per class, with their boxes drawn.

Read straight from the TFRecord shards with fracdet's own record parser, so EDA needs no
TensorFlow import. Images are chosen so that as few shards as possible are read: the label
table says which shard holds each image, and the earliest shards are preferred.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from fracdet_core import storage
from fracdet_core.classes import CLASS_NAMES
from fracdet_core.ingest.tfrecord import parse_example, read_records

THUMBNAIL_SIDE = 192
BACKGROUND = "background"
_POSITIVE_COLOUR = (230, 60, 50)
_NEGATIVE_COLOUR = (60, 170, 230)


def choose_samples(labels: pd.DataFrame, per_class: int) -> dict[str, list[str]]:
    """Class name (or "background") -> image ids of training images to show."""
    train = labels[labels["split"] == "train"].sort_values(["shard", "image_id"], kind="stable")
    chosen: dict[str, list[str]] = {}
    for name in (*CLASS_NAMES, BACKGROUND):
        rows = train[train["class_id"].isna()] if name == BACKGROUND else train[train["class_name"] == name]
        chosen[name] = list(dict.fromkeys(rows["image_id"]))[:per_class]
    return chosen


def render_samples(ingest_uri: str, labels: pd.DataFrame, per_class: int) -> dict[str, list[tuple[str, bytes]]]:
    """Class name -> [(image id, PNG thumbnail with boxes)], reading only the shards needed."""
    chosen = choose_samples(labels, per_class)
    wanted = {image_id for ids in chosen.values() for image_id in ids}
    shards = sorted(set(labels[labels["image_id"].isin(wanted) & (labels["split"] == "train")]["shard"]))
    thumbnails: dict[str, bytes] = {}
    for shard in shards:
        with storage.open_read(storage.join(ingest_uri, shard)) as stream:
            for record in read_records(stream):
                features = parse_example(record)
                image_id = features["image/source_id"][0].decode()  # type: ignore[union-attr]
                if image_id in wanted:
                    thumbnails[image_id] = _thumbnail(features)
                    if len(thumbnails) == len(wanted):
                        break
    return {name: [(image_id, thumbnails[image_id]) for image_id in ids if image_id in thumbnails] for name, ids in chosen.items()}


def _thumbnail(features: dict) -> bytes:
    with Image.open(io.BytesIO(features["image/encoded"][0])) as image:
        pixels = np.asarray(image, dtype=np.float32)
    if pixels.ndim == 3:
        pixels = pixels[..., 0]
    gray = pixels / (65535.0 if features["image/bit_depth"][0] == 16 else 255.0)
    canvas = Image.fromarray(np.round(gray * 255).astype(np.uint8)).convert("RGB")
    canvas.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    draw = ImageDraw.Draw(canvas)
    width, height = canvas.size
    corners = zip(*(features[f"image/object/bbox/{key}"] for key in ("xmin", "ymin", "xmax", "ymax")))
    for (xmin, ymin, xmax, ymax), label in zip(corners, features["image/object/class/label"]):
        colour = _POSITIVE_COLOUR if CLASS_NAMES[label].endswith("positive") else _NEGATIVE_COLOUR
        draw.rectangle((xmin * width, ymin * height, xmax * width, ymax * height), outline=colour, width=2)
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return buffer.getvalue()
