"""Sample thumbnails for the report: a few images per class, with their boxes drawn.

Read straight from the TFRecord shards with the schema's pure-Python decoder, so EDA needs no
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
from fracdet_core.data.schema import ImageExample, decode_image_example
from fracdet_core.data.tfrecord import read_records
from fracdet_core.eda.scope import out_of_scope_mask

THUMBNAIL_SIDE = 192
BACKGROUND = "background"
OUT_OF_SCOPE = "out of scope"
_POSITIVE_COLOUR = (230, 60, 50)
_NEGATIVE_COLOUR = (60, 170, 230)


def choose_samples(labels: pd.DataFrame, per_class: int) -> dict[str, list[str]]:
    """Class name (or "background") -> image ids of training images to show; "out of scope" -> one per anatomy, if any."""
    train = labels[labels["split"] == "train"].sort_values(["shard", "image_id"], kind="stable")
    outside = out_of_scope_mask(train)
    inside = train[~outside]
    chosen: dict[str, list[str]] = {}
    for name in (*CLASS_NAMES, BACKGROUND):
        rows = inside[inside["class_id"].isna()] if name == BACKGROUND else inside[inside["class_name"] == name]
        chosen[name] = list(dict.fromkeys(rows["image_id"]))[:per_class]
    if outside.any():
        chosen[OUT_OF_SCOPE] = list(train[outside].sort_values("anatomy", kind="stable").drop_duplicates("anatomy")["image_id"])
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
                example = decode_image_example(record)
                if example.source_id in wanted:
                    thumbnails[example.source_id] = _thumbnail(example)
                    if len(thumbnails) == len(wanted):
                        break
    return {name: [(image_id, thumbnails[image_id]) for image_id in ids if image_id in thumbnails]
            for name, ids in chosen.items()}


def _thumbnail(example: ImageExample) -> bytes:
    with Image.open(io.BytesIO(example.encoded)) as image:
        pixels = np.asarray(image, dtype=np.float32)
    if pixels.ndim == 3:
        pixels = pixels[..., 0]
    gray = pixels / (65535.0 if example.bit_depth == 16 else 255.0)
    canvas = Image.fromarray(np.round(gray * 255).astype(np.uint8)).convert("RGB")
    canvas.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    draw = ImageDraw.Draw(canvas)
    width, height = canvas.size
    for (ymin, xmin, ymax, xmax), class_id in zip(example.boxes.tolist(), example.classes.tolist(), strict=True):
        colour = _POSITIVE_COLOUR if CLASS_NAMES[class_id].endswith("positive") else _NEGATIVE_COLOUR
        draw.rectangle((xmin * width, ymin * height, xmax * width, ymax * height), outline=colour, width=2)
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return buffer.getvalue()
