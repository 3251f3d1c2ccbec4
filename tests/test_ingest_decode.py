"""Image decoding: formats, bit depths, DICOM on real radiographs, and what is stored."""

from __future__ import annotations

import io

import numpy as np
import pydicom
import pytest
from bomb_builders import blank_png_streamed
from PIL import Image
from yolo_builders import REAL_EXTREMITY_CR, REAL_EXTREMITY_CR_J2K, jpeg_bytes, png_bytes

from fracdet_core.errors import ConfigError
from fracdet_core.ingest.decode import DecodeLimits, ImageRejectionError, decode_image

LIMITS = DecodeLimits()


def _pixels(encoded: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(encoded)) as image:
        return np.asarray(image)


def test_grayscale_png_and_jpeg_are_stored_as_their_original_bytes():
    for data, suffix, image_format in ((png_bytes(1), ".png", "png"), (jpeg_bytes(2), ".jpg", "jpeg")):
        decoded = decode_image(data, suffix, LIMITS)
        assert decoded.encoded == data and decoded.image_format == image_format and decoded.bit_depth == 8


def test_sixteen_bit_png_keeps_its_range():
    data = png_bytes(3, mode="I;16")
    decoded = decode_image(data, ".png", LIMITS)
    assert decoded.bit_depth == 16 and decoded.encoded == data
    assert _pixels(decoded.encoded).max() > 255


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "LA"])
def test_colour_png_becomes_8_bit_gray(mode):
    decoded = decode_image(png_bytes(4, mode=mode), ".png", LIMITS)
    pixels = _pixels(decoded.encoded)
    assert decoded.image_format == "png" and pixels.ndim == 2 and pixels.dtype == np.uint8


def test_cmyk_jpeg_becomes_gray():
    decoded = decode_image(jpeg_bytes(5, mode="CMYK"), ".jpg", LIMITS)
    assert _pixels(decoded.encoded).ndim == 2


def test_exif_orientation_is_applied():
    decoded = decode_image(jpeg_bytes(6, (64, 48), orientation=6), ".jpg", LIMITS)
    assert (decoded.width, decoded.height) == (48, 64) and decoded.image_format == "png"


@pytest.mark.parametrize(
    ("image_format", "suffix", "mode"), [("BMP", ".bmp", "L"), ("TIFF", ".tif", "I;16"), ("TIFF", ".tiff", "L")]
)
def test_bmp_and_tiff(image_format, suffix, mode):
    rng = np.random.default_rng(7)
    array = rng.integers(0, 65535 if mode == "I;16" else 255, (40, 50), dtype=np.uint16 if mode == "I;16" else np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=image_format)
    decoded = decode_image(buffer.getvalue(), suffix, LIMITS)
    assert decoded.bit_depth == (16 if mode == "I;16" else 8)
    np.testing.assert_array_equal(_pixels(decoded.encoded), array)


def test_real_cr_radiograph_monochrome1_is_inverted_and_windowed():
    data = REAL_EXTREMITY_CR.read_bytes()
    decoded = decode_image(data, ".dcm", LIMITS)
    stored = _pixels(decoded.encoded).astype(float)
    raw = pydicom.dcmread(io.BytesIO(data)).pixel_array.astype(float)
    assert decoded.bit_depth == 16 and stored.shape == raw.shape == (1760, 1760)
    assert stored.min() == 0 and stored.max() == 65535  # the window stretched over 16 bits
    # MONOCHROME1 stores bone dark; inverted, high raw values become low stored values.
    assert np.corrcoef(stored.ravel()[::97], raw.ravel()[::97])[0, 1] < -0.9


def test_lossless_jpeg2000_dicom_decodes_to_the_same_pixels():
    uncompressed = decode_image(REAL_EXTREMITY_CR.read_bytes(), ".dcm", LIMITS)
    jpeg2000 = decode_image(REAL_EXTREMITY_CR_J2K.read_bytes(), ".dcm", LIMITS)
    np.testing.assert_array_equal(_pixels(jpeg2000.encoded), _pixels(uncompressed.encoded))


def test_dicom_is_found_by_its_magic_without_the_suffix():
    assert decode_image(REAL_EXTREMITY_CR.read_bytes(), ".png", LIMITS).bit_depth == 16


def test_max_side_downscales_keeping_the_aspect():
    decoded = decode_image(png_bytes(8, (400, 300)), ".png", DecodeLimits(max_side=100))
    assert (decoded.width, decoded.height) == (100, 75)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty_file"),
        (b"GIF89a but not really", "corrupt_image"),
        (png_bytes(9, (300, 300))[:200], "corrupt_image"),
        (png_bytes(10, (20, 100)), "image_too_small"),
    ],
)
def test_rejected(data, reason):
    with pytest.raises(ImageRejectionError) as raised:
        decode_image(data, ".png", LIMITS)
    assert raised.value.reason == reason


def test_decompression_bomb_is_rejected_before_decoding():
    buffer = io.BytesIO()
    Image.new("L", (5000, 5000)).save(buffer, format="PNG")
    with pytest.raises(ImageRejectionError) as raised:
        decode_image(buffer.getvalue(), ".png", DecodeLimits(max_pixels=10_000_000))
    assert raised.value.reason == "decompression_bomb" and "25,000,000 pixels" in raised.value.detail


# Pillow's own guard, `Image.MAX_IMAGE_PIXELS`: 89,478,485 pixels. 9500 x 9500 lies just above it.
ABOVE_PILLOWS_GUARD = (9500, 9500)


@pytest.fixture(scope="module")
def above_pillows_guard() -> bytes:
    return blank_png_streamed(*ABOVE_PILLOWS_GUARD)


def test_a_limit_above_pillows_guard_accepts_a_larger_image(above_pillows_guard):
    assert 9500 * 9500 > Image.MAX_IMAGE_PIXELS == 89_478_485
    decoded = decode_image(above_pillows_guard, ".png", DecodeLimits(max_pixels=100_000_000))
    assert (decoded.width, decoded.height) == ABOVE_PILLOWS_GUARD and decoded.encoded == above_pillows_guard
    assert Image.MAX_IMAGE_PIXELS == 89_478_485  # Pillow's setting is back as it was


def test_the_default_limit_rejects_it_with_the_size_in_the_message(above_pillows_guard):
    with pytest.raises(ImageRejectionError) as raised:
        decode_image(above_pillows_guard, ".png", LIMITS)
    assert raised.value.reason == "decompression_bomb"
    assert raised.value.detail == "9500x9500 = 90,250,000 pixels, above the limit of 25,000,000"
    assert Image.MAX_IMAGE_PIXELS == 89_478_485


@pytest.mark.parametrize(("max_pixels", "accepted"), [(64 * 48, True), (64 * 48 - 1, False)])
def test_a_limit_below_the_default_rejects_smaller_images(max_pixels, accepted):
    for data, suffix in ((png_bytes(30, (64, 48)), ".png"), (jpeg_bytes(31, (64, 48)), ".jpg")):
        if accepted:
            assert decode_image(data, suffix, DecodeLimits(max_pixels=max_pixels)).width == 64
        else:
            with pytest.raises(ImageRejectionError, match="64x48 = 3,072 pixels, above the limit of 3,071"):
                decode_image(data, suffix, DecodeLimits(max_pixels=max_pixels))


def test_a_dicom_above_the_limit_is_rejected_from_its_header():
    dataset = pydicom.dcmread(REAL_EXTREMITY_CR)
    with pytest.raises(ImageRejectionError) as raised:
        decode_image(REAL_EXTREMITY_CR.read_bytes(), ".dcm", DecodeLimits(max_pixels=dataset.Rows * dataset.Columns - 1))
    assert raised.value.reason == "decompression_bomb"
    assert raised.value.detail.startswith(f"{dataset.Columns}x{dataset.Rows} = ")


@pytest.mark.parametrize("max_pixels", [0, -5])
def test_a_limit_below_one_is_refused(max_pixels):
    with pytest.raises(ConfigError, match="max_pixels must be a whole number of at least 1"):
        DecodeLimits(max_pixels=max_pixels)
