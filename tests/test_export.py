"""The exported SavedModel: the serving signature of docs/architecture.md, boxes in original-image coordinates.

The letterbox itself: test_letterbox.
"""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from bomb_builders import blank_png_streamed
from PIL import Image

from fracdet_core.errors import ConfigError
from fracdet_core.model.assign import grid
from fracdet_core.model.config import ModelConfig
from fracdet_core.model.detector import build_detector
from fracdet_core.serving.decode import decode_boxes, mirrored_predictions
from fracdet_core.serving.letterbox import to_original
from fracdet_core.serving.signature import export_saved_model

# One pass, one view: the two-pass and the mirrored tests below state their own.
CONFIG = ModelConfig(image_size=128, fine_image_size=0, test_time_flip=False)
CELLS = sum(side * side for side in CONFIG.grid_sizes())


def _one_detection_model() -> tuple[keras.Model, np.ndarray]:
    """A model that always predicts one class-7 box at a P4 cell: (dx, dy) = (0.25, -0.5), 3 x 2 strides."""
    centres, strides, _ = grid(CONFIG)
    cell = int(np.flatnonzero(strides == 16)[37])
    predictions = np.full((CELLS, 15), -12.0, np.float32)
    predictions[cell, :4] = [0.25, -0.5, math.log(3.0), math.log(2.0)]
    predictions[cell, 4] = 12.0
    predictions[cell, 5 + 7] = 12.0
    inputs = keras.Input((128, 128, 1))
    constant = keras.layers.Lambda(lambda x: tf.zeros_like(x[:, :1, 0, 0])[:, :, None] + predictions[None])(inputs)
    centre = centres[cell] + np.array([0.25, -0.5]) * 16
    box_px = np.array([centre[1] - 16, centre[0] - 24, centre[1] + 16, centre[0] + 24], np.float32)  # ymin, xmin, ymax, xmax
    return keras.Model(inputs, constant), box_px


def _png(height: int, width: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(height).integers(0, 255, (height, width), dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _jpeg(height: int, width: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(width).integers(0, 255, (height, width, 3), dtype=np.uint8)).save(buffer, format="JPEG")
    return buffer.getvalue()


_LOAD_AND_SERVE = """
import json, sys
import numpy as np
import tensorflow as tf
serve = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
images = [open(path, "rb").read() for path in sys.argv[2:]]
outputs = serve(images=tf.constant(images))
print(json.dumps({key: value.numpy().tolist() for key, value in outputs.items()}))
"""


@pytest.mark.slow
def test_a_fresh_process_gets_boxes_in_original_coordinates(tmp_path):
    model, box_px = _one_detection_model()
    export_saved_model(model, CONFIG, str(tmp_path / "saved_model"))
    sizes = [(100, 200), (300, 150), (128, 128)]
    paths = []
    for index, (height, width) in enumerate(sizes):
        path = tmp_path / f"image{index}.{'jpg' if index == 1 else 'png'}"
        path.write_bytes(_jpeg(height, width) if index == 1 else _png(height, width))
        paths.append(str(path))
    result = subprocess.run([sys.executable, "-c", _LOAD_AND_SERVE, str(tmp_path / "saved_model"), *paths],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    outputs = json.loads(result.stdout.strip().splitlines()[-1])
    assert outputs["num_detections"] == [1, 1, 1]
    for index, (height, width) in enumerate(sizes):
        expected = to_original(tf.constant(box_px), height, width, CONFIG.image_size).numpy()
        np.testing.assert_allclose(outputs["detection_boxes"][index][0], expected, atol=1e-4)
        assert outputs["detection_classes"][index][0] == 7
        assert outputs["detection_scores"][index][0] == pytest.approx(1 / (1 + math.exp(-12)) ** 2, rel=1e-4)
        assert len(outputs["detection_scores"][index]) == 100
    description = json.loads((tmp_path / "saved_model" / "fracdet_model.json").read_text())
    assert description["input_size"] == 128 and description["class_names"][7] == "XR_FOREARM_negative"


_SERVE_WITHIN_LIMITS = """
import json, resource, sys
import tensorflow as tf
serve = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
good = open(sys.argv[2], "rb").read()
for _ in range(2):  # everything but a decode of the refused image is paid before the measurement
    serve(images=tf.constant([good]))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
refusals = []
for path in sys.argv[3:]:
    try:
        serve(images=tf.constant([good, open(path, "rb").read()]))
        refusals.append(None)
    except tf.errors.InvalidArgumentError as error:
        refusals.append(error.message)
growth_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024  # ru_maxrss is in KiB on Linux
print(json.dumps({"growth_mib": growth_mib, "refusals": refusals}))
"""


@pytest.mark.slow
def test_an_oversized_image_is_refused_from_its_header_without_the_memory_a_decode_takes(tmp_path):
    """The issue's probe: a 388 KB PNG of 20000x20000 took a server from 1.0 to 3.0 GB of memory.

    Decoded, it is 400 MB of gray bytes and 1.6 GB as float32; refused from its header, the
    process grows by a few MB at most.
    """
    model, _ = _one_detection_model()
    export_saved_model(model, CONFIG, str(tmp_path / "saved_model"))
    good = tmp_path / "good.png"
    good.write_bytes(_png(100, 200))
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(blank_png_streamed(20000, 20000))
    damaged = tmp_path / "damaged.png"
    damaged.write_bytes(bomb.read_bytes()[:20])
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(b"\x89PNG\r\n\x1a\n" + np.random.default_rng(0).bytes(1000))
    result = subprocess.run([sys.executable, "-c", _SERVE_WITHIN_LIMITS, str(tmp_path / "saved_model"), str(good),
                             str(bomb), str(damaged), str(garbage)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    bomb_refusal, damaged_refusal, garbage_refusal = outcome["refusals"]
    assert "images[1] is 20000x20000 = 400000000 pixels, above the serving limit of 25000000" in bomb_refusal
    assert "images[1] is a PNG whose header is cut short or damaged (20 bytes)" in damaged_refusal
    assert "images[1] is a PNG whose header is cut short or damaged (1008 bytes)" in garbage_refusal
    assert outcome["growth_mib"] < 100, outcome


def test_the_limits_are_recorded_beside_the_model_and_apply(tmp_path):
    model, _ = _one_detection_model()
    export_saved_model(model, CONFIG, str(tmp_path / "saved_model"), max_pixels=200 * 100, max_bytes=10**6)
    description = json.loads((tmp_path / "saved_model" / "fracdet_model.json").read_text())
    assert description["input_limits"] == {"max_pixels": 20_000, "max_bytes": 1_000_000}
    serve = tf.saved_model.load(str(tmp_path / "saved_model")).signatures["serving_default"]
    assert serve(images=tf.constant([_png(100, 200)]))["num_detections"].numpy().tolist() == [1]
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"images\[0\] is 201x100 = 20100 pixels"):
        serve(images=tf.constant([_png(100, 201)]))


def test_the_default_limits_are_recorded(tmp_path):
    model, _ = _one_detection_model()
    export_saved_model(model, CONFIG, str(tmp_path / "saved_model"))
    description = json.loads((tmp_path / "saved_model" / "fracdet_model.json").read_text())
    assert description["input_limits"] == {"max_pixels": 5000 * 5000, "max_bytes": 64 * 1024 * 1024}


@pytest.mark.parametrize("limits", [{"max_pixels": 0}, {"max_bytes": -1}])
def test_limits_below_one_are_refused(tmp_path, limits):
    with pytest.raises(ConfigError, match="must be a whole number of at least 1"):
        export_saved_model(_one_detection_model()[0], CONFIG, str(tmp_path / "saved_model"), **limits)
    assert not (tmp_path / "saved_model").exists()


# The fine pass answers for boxes up to 64 fine px.
TWO_PASS = ModelConfig(image_size=128, fine_image_size=256, test_time_flip=False)


def _prediction_table(size: int, boxes: list[tuple[int, int, float, float, int]]) -> np.ndarray:
    """(cells, 15) predictions on a `size` canvas: one box per (stride, cell index, width and height in strides, class)."""
    _, strides, _ = grid(TWO_PASS, size)
    table = np.full((len(strides), 15), -12.0, np.float32)
    for stride, index, width, height, class_id in boxes:
        cell = int(np.flatnonzero(strides == stride)[index])
        table[cell, :5] = [0.0, 0.0, math.log(width), math.log(height), 12.0]
        table[cell, 5 + class_id] = 12.0
    return table


class _TwoSizeModel(keras.Model):
    """Predicts a small and a large box on each canvas; which ones serving keeps tells the passes apart."""

    def __init__(self) -> None:
        super().__init__(name="two_size_model")
        # Coarse canvas: a 16 px box (class 3, the fine pass's to answer) and a 96 x 64 px one (class 7).
        self.coarse = _prediction_table(128, [(8, 40, 2.0, 2.0, 3), (32, 5, 3.0, 2.0, 7)])
        # Fine canvas: a 16 x 24 px box (class 1) and a 128 x 96 px one (class 5, the coarse pass's to answer).
        self.fine = _prediction_table(256, [(8, 300, 2.0, 3.0, 1), (32, 20, 4.0, 3.0, 5)])

    def call(self, images):
        table = tf.cond(tf.shape(images)[1] == 128, lambda: tf.constant(self.coarse), lambda: tf.constant(self.fine))
        return tf.zeros_like(images[:, :1, 0, 0])[:, :, None] + table[None]


@pytest.mark.slow
def test_a_two_pass_model_takes_small_boxes_from_the_fine_canvas_and_large_ones_from_the_whole_image(tmp_path):
    model = _TwoSizeModel()
    model(np.zeros((1, 128, 128, 1), np.float32))
    export_saved_model(model, TWO_PASS, str(tmp_path / "saved_model"))
    serve = tf.saved_model.load(str(tmp_path / "saved_model")).signatures["serving_default"]
    outputs = serve(images=tf.constant([_png(100, 200)]))
    found = int(outputs["num_detections"][0])
    assert sorted(outputs["detection_classes"][0][:found].numpy().tolist()) == [1, 7]
    for size, class_id in [(128, 7), (256, 1)]:
        table = (model.coarse if size == 128 else model.fine)[None]
        expected = to_original(decode_boxes(tf.constant(table), TWO_PASS, size)[0], 100, 200, size).numpy()
        row = outputs["detection_classes"][0].numpy().tolist().index(class_id)
        cell = int(np.argmax(table[0, :, 5 + class_id]))
        np.testing.assert_allclose(outputs["detection_boxes"][0][row].numpy(), expected[cell], atol=1e-5)
    description = json.loads((tmp_path / "saved_model" / "fracdet_model.json").read_text())
    assert (description["input_size"], description["fine_input_size"]) == (128, 256)


def test_a_box_predicted_on_the_mirrored_canvas_decodes_to_its_mirror_image():
    config = ModelConfig(image_size=128, fine_image_size=0, test_time_flip=False)
    cells = sum(side * side for side in config.grid_sizes())
    predictions = np.random.default_rng(3).normal(size=(2, cells, 15)).astype(np.float32)

    def rows(boxes: np.ndarray, table: np.ndarray) -> np.ndarray:  # (N * cells, 4 + 15), in one order
        flat = np.concatenate([boxes, table[..., 4:]], axis=-1).reshape(-1, 4 + 11)
        return flat[np.lexsort(flat.T[::-1])]

    seen_mirrored = decode_boxes(predictions, config, 128).numpy()
    ymin, xmin, ymax, xmax = np.moveaxis(seen_mirrored, -1, 0)
    expected = np.stack([ymin, 128 - xmax, ymax, 128 - xmin], axis=-1)
    back = mirrored_predictions(tf.constant(predictions), config, 128).numpy()
    np.testing.assert_allclose(rows(decode_boxes(back, config, 128).numpy(), back), rows(expected, predictions), atol=1e-4)
    np.testing.assert_array_equal(mirrored_predictions(tf.constant(back), config, 128).numpy(), predictions)


def test_with_test_time_flip_the_mirrored_image_gets_the_mirrored_detections(tmp_path):
    """The two views' average is mirror-equivariant, though the detector's own weights are not."""
    config = ModelConfig(image_size=64, fine_image_size=128, test_time_flip=True, stem_width=8,
                         stage_widths=(8, 8, 16, 16), fpn_width=8)
    detector = build_detector(config)
    rng = np.random.default_rng(5)
    # Weights far from their initial priors, so that cells differ and many score above the signature's threshold.
    for weight in detector.weights:
        weight.assign(np.abs(rng.normal(1.0, 0.1, weight.shape)) if "variance" in weight.path
                      else rng.normal(0.0, 0.15, weight.shape))
    export_saved_model(detector, config, str(tmp_path / "saved_model"))
    serve = tf.saved_model.load(str(tmp_path / "saved_model")).signatures["serving_default"]
    pixels = np.random.default_rng(4).integers(0, 255, (96, 96), dtype=np.uint8)
    pixels[20:60, 30:40] = 255  # something for the detector to see, off the mirror axis
    detections = [serve(images=tf.constant([_png_of(image)])) for image in (pixels, pixels[:, ::-1])]
    count = int(detections[0]["num_detections"][0])
    assert count == int(detections[1]["num_detections"][0]) and count > 0
    ymin, xmin, ymax, xmax = np.moveaxis(detections[1]["detection_boxes"][0, :count].numpy(), -1, 0)
    mirrored_back = np.stack([ymin, 1 - xmax, ymax, 1 - xmin], -1)

    def rows(boxes: np.ndarray, found: dict) -> np.ndarray:  # (score, class, box) rows, in one order
        table = np.column_stack([found["detection_scores"][0, :count], found["detection_classes"][0, :count], boxes])
        return table[np.lexsort(np.round(table, 4).T[::-1])]

    np.testing.assert_allclose(rows(mirrored_back, detections[1]),
                               rows(detections[0]["detection_boxes"][0, :count].numpy(), detections[0]), atol=1e-4)


def _png_of(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(buffer, format="PNG")
    return buffer.getvalue()
