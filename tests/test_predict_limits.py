"""`fracdet predict`'s size limits: too many pixels or bytes are listed in errors.csv, checked before decoding or reading.

The issue's probes: predict accepted a 9000x9000 image (1.7 GB of memory), and `--max-pixels`
above Pillow's own 89,478,485-pixel guard had no effect.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from bomb_builders import blank_png_streamed
from model_builders import CONFIG, constant_model
from PIL import Image

from fracdet import main
from fracdet_core import storage
from fracdet_core.errors import ConfigError
from fracdet_core.ingest.decode import ImageRejectionError
from fracdet_core.limits import DecodeLimits
from fracdet_core.predict.inputs import InputFile, read_image
from fracdet_core.serving.signature import export_saved_model


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> str:
    """A train output folder whose SavedModel always finds one box."""
    base = tmp_path_factory.mktemp("predict_limits")
    export_saved_model(constant_model()[0], CONFIG, str(base / "model" / "saved_model"))
    return str(base / "model")


def _noise_png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(width).integers(0, 255, (height, width), dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _errors(out: Path) -> dict[str, tuple[str, str]]:
    with open(out / "errors.csv", newline="") as stream:
        return {Path(row["input"]).name: (row["reason"], row["detail"]) for row in csv.DictReader(stream)}


def _predict(model: str, out: Path, *args: str) -> int:
    return main(["predict", "--model", model, "--out", str(out), "--threshold", "0.5", "--quiet", *args])


@pytest.mark.slow
def test_too_many_pixels_or_bytes_are_listed_and_the_rest_predicted(model, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.png").write_bytes(_noise_png(200, 100))
    (folder / "bomb.png").write_bytes(blank_png_streamed(9000, 9000))  # the probe: 79 KB
    heavy = _noise_png(400, 400)
    (folder / "heavy.png").write_bytes(heavy)
    out = tmp_path / "out"
    assert _predict(model, out, "--max-bytes", "100000", str(folder)) == 0
    assert _errors(out) == {
        "bomb.png": ("decompression_bomb", "9000x9000 = 81,000,000 pixels, above the limit of 25,000,000"),
        "heavy.png": ("file_too_large", f"{len(heavy):,} bytes, above the limit of 100,000 (--max-bytes)"),
    }
    assert (out / "good.json").exists() and not (out / "bomb.json").exists()


def test_a_max_pixels_below_the_default_rejects_smaller_images(model, tmp_path):
    image = tmp_path / "small.png"
    image.write_bytes(_noise_png(200, 100))
    out = tmp_path / "out"
    assert _predict(model, out, "--max-pixels", "19999", str(image)) == 1  # nothing predicted
    assert _errors(out) == {"small.png": ("decompression_bomb", "200x100 = 20,000 pixels, above the limit of 19,999")}


@pytest.mark.slow
def test_a_max_pixels_above_pillows_guard_accepts_a_larger_image_which_the_models_own_limit_then_refuses(model, tmp_path):
    path = tmp_path / "large.png"
    path.write_bytes(blank_png_streamed(9500, 9500))  # 90,250,000 pixels: above Pillow's 89,478,485
    image = read_image(InputFile(str(path), "large"), DecodeLimits(max_pixels=100_000_000))
    assert (image.width, image.height) == (9500, 9500)
    out = tmp_path / "out"
    assert _predict(model, out, "--max-pixels", "100000000", str(path)) == 1
    assert _errors(out) == {"large.png": ("model_error", "the serving signature refused it: images[0] is 9500x9500 = "
                                                         "90250000 pixels, above the serving limit of 25000000")}


def test_a_file_over_the_byte_limit_is_not_read(tmp_path):
    """A sparse 64 GiB file: reading it whole would exhaust memory long before it is refused."""
    path = tmp_path / "huge.png"
    with open(path, "wb") as stream:
        stream.truncate(64 * 2**30)
    with pytest.raises(ImageRejectionError) as raised:
        read_image(InputFile(str(path), "huge"))
    assert (raised.value.reason, raised.value.detail) == (
        "file_too_large", f"{64 * 2**30:,} bytes, above the limit of {64 * 2**20:,} (--max-bytes)")


def test_limits_on_gcs(gcs_bucket):
    data = _noise_png(200, 100)
    uri = f"gs://{gcs_bucket}/in/good.png"
    storage.write_bytes(uri, data)
    assert read_image(InputFile(uri, "good"), DecodeLimits(max_bytes=len(data))).encoded == data
    with pytest.raises(ImageRejectionError) as raised:
        read_image(InputFile(uri, "good"), DecodeLimits(max_bytes=len(data) - 1))
    assert (raised.value.reason, raised.value.detail) == (
        "file_too_large", f"{len(data):,} bytes, above the limit of {len(data) - 1:,} (--max-bytes)")
    storage.write_bytes(f"gs://{gcs_bucket}/in/bomb.png", blank_png_streamed(9000, 9000))
    with pytest.raises(ImageRejectionError, match="9000x9000 = 81,000,000 pixels"):
        read_image(InputFile(f"gs://{gcs_bucket}/in/bomb.png", "bomb"))


@pytest.mark.parametrize("argument", ["--max-pixels", "--max-bytes"])
def test_limits_below_one_are_refused_by_the_command_line(model, tmp_path, argument, capsys):
    with pytest.raises(SystemExit) as raised:
        _predict(model, tmp_path / "out", argument, "0", str(tmp_path))
    assert raised.value.code == 2 and "must be at least 1, got 0" in capsys.readouterr().err


def test_limits_check_the_byte_limit():
    with pytest.raises(ConfigError, match="max_bytes must be a whole number of at least 1, got 0"):
        DecodeLimits(max_bytes=0)
