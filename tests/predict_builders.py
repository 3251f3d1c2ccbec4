"""A tiny detector trained in the test session on one synthetic fractured radiograph, and DICOM twins of a PNG.

Training on one image until the model has learnt it is what makes the prediction tests mean
something: the model's boxes depend on the pixels (unlike a constant model), so a DICOM decoded
differently from its PNG twin, or a box mapped back to the wrong coordinates, changes the answer.
"""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import keras
import numpy as np
import pydicom
import tensorflow as tf
from PIL import Image
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from registry_builders import write_operating_thresholds

from fracdet_core import storage
from fracdet_core.model.assign import assign_targets
from fracdet_core.model.config import ModelConfig
from fracdet_core.model.detector import build_detector
from fracdet_core.model.loss import DetectionLoss
from fracdet_core.serving.letterbox import letterbox
from fracdet_core.serving.signature import export_saved_model
from fracdet_core.synth import SynthConfig
from fracdet_core.synth.dataset import make_image, plan_image

# One canvas, one view: the model learns one image as it is at 128 px, and serves it as it learnt it.
TINY = ModelConfig(image_size=128, stem_width=8, stage_widths=(8, 8, 16, 16, 16), stage_depths=(1, 1, 1, 1, 1),
                   fpn_width=16, head_depth=1, fine_image_size=0, test_time_flip=False)
STEPS = 100
# Operating thresholds written into the hand-made evaluation: FINGER's differs from the rest.
THRESHOLDS = {"ELBOW": 0.6, "FINGER": 0.35, "FOREARM": 0.6, "HAND": 0.6, "SHOULDER": 0.6, "overall": 0.7}
# And the definite operating point's: FINGER's own, every other part the overall one.
DEFINITE = {"FINGER": 0.5, "overall": 0.8}


@dataclasses.dataclass(frozen=True)
class TrainedCase:
    """Attributes:
        train_out: a train output folder (saved_model/ inside); `<base>/evaluate/metrics.json` is its evaluation.
        image: the PNG the model learnt, with full 0-255 range.
        pixels: uint8 (H, W) of `image`.
        truth_boxes: float (N, 4) the generator's fracture boxes, `xmin, ymin, xmax, ymax` in pixels.
        truth_class: the class id of those boxes.
    """

    train_out: Path
    image: bytes
    pixels: np.ndarray
    truth_boxes: np.ndarray
    truth_class: int


def fractured_radiograph(size: int = 256) -> tuple[np.ndarray, np.ndarray, int]:
    """(uint8 pixels spanning 0-255, fracture boxes xyxy in pixels, class id) of the first fractured synthetic study."""
    config = SynthConfig(train=0, val=20, size=size, seed=3)
    plan = next(plan for plan in (plan_image(config, "val", index) for index in range(20)) if plan.fractured)
    encoded, lines = make_image(config, plan)
    pixels = np.asarray(Image.open(io.BytesIO(encoded)).convert("L")).copy()
    pixels[0, 0], pixels[0, 1] = 0, 255  # the full range, so a DICOM twin decodes to exactly these values
    height, width = pixels.shape
    rows = np.array([[float(value) for value in line.split()] for line in lines])
    centre_x, centre_y, box_width, box_height = rows[:, 1] * width, rows[:, 2] * height, rows[:, 3] * width, rows[:, 4] * height
    half_width, half_height = box_width / 2, box_height / 2
    boxes = np.stack([centre_x - half_width, centre_y - half_height, centre_x + half_width, centre_y + half_height], axis=1)
    return pixels, boxes, int(rows[0, 0])


def png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def train_on_one_image(base: Path) -> TrainedCase:
    """Fit `TINY` to one fractured radiograph (about 20 s on 2 cores), export it, and write an evaluation beside it."""
    pixels, boxes, class_id = fractured_radiograph()
    height, width = pixels.shape
    image = tf.constant(pixels[..., None], tf.float32) / 255.0
    normalised = tf.constant(boxes[:, [1, 0, 3, 2]] / [height, width, height, width], tf.float32)  # yxyx
    canvas, letterboxed = letterbox(image, normalised, TINY.image_size)
    targets = assign_targets(letterboxed, tf.fill([len(boxes)], class_id), TINY)
    keras.utils.set_random_seed(0)
    model = build_detector(TINY)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=DetectionLoss(focal_gamma=2.0))
    model.fit(tf.data.Dataset.from_tensors((canvas[None], targets[None])).repeat(), steps_per_epoch=STEPS, epochs=1, verbose=0)
    train_out = base / "train"
    export_saved_model(model, TINY, str(train_out / "saved_model"))
    write_evaluation(base / "evaluate", train_out / "saved_model", THRESHOLDS)
    return TrainedCase(train_out, png(pixels), pixels, boxes, class_id)


def write_evaluation(folder: Path, saved_model: Path, thresholds: dict[str, float | None]) -> Path:
    """A `fracdet evaluate` output for the SavedModel: metrics.json with the fingerprint, and the per-part
    `thresholds` ("overall": the other parts') in its fracture block and its operating_thresholds.json."""
    metrics = {
        "model": str(saved_model),
        "model_sha256": storage.tree_sha256(str(saved_model)),
        "map50": 1.0,
        "fracture": {part: {"threshold": value, "sensitivity": 1.0, "specificity": 1.0, "auc": 1.0}
                     for part, value in thresholds.items()},
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "blessing.json").write_text(json.dumps({"blessed": True, "reasons": ["PASS made by the tests"]}))
    by_body_part = {part: value for part, value in thresholds.items() if part != "overall"}
    definite = ({part: value for part, value in DEFINITE.items() if part != "overall"}, DEFINITE["overall"]) if (
        thresholds["overall"] is not None) else ({}, None)  # no call chosen: no definite call either
    write_operating_thresholds(folder, by_body_part, thresholds["overall"], definite)
    return folder


def dicom_of(pixels: np.ndarray, *, sixteen_bit_inverted: bool = False) -> bytes:
    """A DICOM file of the 8-bit `pixels`: as 8-bit MONOCHROME2, or as 16-bit MONOCHROME1 (bone dark in the file)."""
    if sixteen_bit_inverted:
        stored, bits, photometric = (65535 - pixels.astype(np.uint16) * 257).astype(np.uint16), 16, "MONOCHROME1"
    else:
        stored, bits, photometric = pixels.astype(np.uint8), 8, "MONOCHROME2"
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1"  # CR image storage
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[photometric])
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset = pydicom.Dataset()
    dataset.file_meta = meta
    dataset.SOPClassUID, dataset.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    dataset.Modality = "CR"
    dataset.Rows, dataset.Columns = stored.shape
    dataset.SamplesPerPixel = 1
    dataset.PhotometricInterpretation = photometric
    dataset.BitsAllocated = dataset.BitsStored = bits
    dataset.HighBit = bits - 1
    dataset.PixelRepresentation = 0
    dataset.PixelData = stored.tobytes()
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
