"""The fine canvas a training run uses: the model's, never finer than the training images themselves.

A canvas above the radiographs' own resolution only upsamples them: more pixels to crop and to
serve, no more detail. So training lowers `ModelConfig.fine_image_size` to the median longer
side of the train split's images (rounded down to the coarsest stride), and drops the fine
canvas where that is not above `image_size`. The median, not the largest: a few large images
should not make every other image pay for a canvas it cannot fill.
"""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pyarrow.parquet as pq

from fracdet_core import storage
from fracdet_core.model.config import ModelConfig


def train_image_sides(ingest_uri: str) -> np.ndarray:
    """(images,) int: the longer side, pixels, of each image of the ingest's train split, from `labels.parquet`.

    `ingest_uri` is a local folder or a `gs://` prefix (read through the storage layer's retries).
    """
    encoded = storage.read_bytes(storage.join(ingest_uri, "labels.parquet"))  # a few MB for the real dataset
    table = pq.read_table(io.BytesIO(encoded), columns=["image_id", "split", "image_width", "image_height"]).to_pandas()
    images = table[table["split"] == "train"].drop_duplicates("image_id")
    return np.maximum(images["image_width"].to_numpy(), images["image_height"].to_numpy())


def fit_fine_canvas(config: ModelConfig, longer_sides: np.ndarray) -> ModelConfig:
    """`config` with its fine canvas no finer than the median of `longer_sides` (pixels), or none if that is not above
    its `image_size`; unchanged without a fine canvas or without images."""
    if not config.fine_image_size or not len(longer_sides):
        return config
    coarsest = config.strides[-1]
    fitted = min(config.fine_image_size, int(np.median(longer_sides)) // coarsest * coarsest)
    return dataclasses.replace(config, fine_image_size=fitted if fitted > config.image_size else 0)
