"""A SavedModel whose one detection is known, and an ingest whose val images hold exactly that box."""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from yolo_builders import add_image, png_bytes, write_data_yaml

from fracdet_core.ingest import IngestConfig, ingest_dataset
from fracdet_core.model.assign import grid
from fracdet_core.model.config import ModelConfig
from fracdet_core.serving.letterbox import to_original
from fracdet_core.serving.signature import export_saved_model

CONFIG = ModelConfig(image_size=128, fine_image_size=0, test_time_flip=False)
CLASS = 7  # XR_FOREARM_negative
SIZES = [(200, 100), (200, 100), (150, 300), (150, 300)]  # (width, height) of the val images


def constant_model(class_id: int = CLASS) -> tuple[keras.Model, np.ndarray]:
    """A model that always predicts one box of `class_id` (7 unless told); returns it and the box in letterboxed pixels (yxyx)."""
    centres, strides, _ = grid(CONFIG)
    cell = int(np.flatnonzero(strides == 16)[37])
    predictions = np.full((len(strides), 15), -12.0, np.float32)
    predictions[cell, :4] = [0.25, -0.5, math.log(3.0), math.log(2.0)]
    predictions[cell, 4] = 12.0
    predictions[cell, 5 + class_id] = 12.0
    inputs = keras.Input((CONFIG.image_size, CONFIG.image_size, 1))
    constant = keras.layers.Lambda(lambda x: tf.zeros_like(x[:, :1, 0, 0])[:, :, None] + predictions[None])(inputs)
    centre = centres[cell] + np.array([0.25, -0.5]) * 16
    box_px = np.array([centre[1] - 16, centre[0] - 24, centre[1] + 16, centre[0] + 24], np.float32)
    return keras.Model(inputs, constant), box_px


def perfect_setup(base: Path) -> tuple[str, str]:
    """(train output folder with saved_model/, ingest folder) where the model finds every val box exactly."""
    model, box_px = constant_model()
    export_saved_model(model, CONFIG, str(base / "model" / "saved_model"))
    data = base / "data"
    for index, (width, height) in enumerate(SIZES):
        ymin, xmin, ymax, xmax = to_original(tf.constant(box_px), height, width, CONFIG.image_size).numpy()
        label = f"{CLASS} {(xmin + xmax) / 2:.8f} {(ymin + ymax) / 2:.8f} {xmax - xmin:.8f} {ymax - ymin:.8f}\n"
        add_image(data, "valid", f"val_{index}.png", png_bytes(index, size=(width, height)), label)
        add_image(data, "train", f"train_{index}.png", png_bytes(10 + index, size=(width, height)), label)
    write_data_yaml(data)
    ingest_dataset(str(data), str(base / "ingest"), IngestConfig(), progress=False)
    return str(base / "model"), str(base / "ingest")
