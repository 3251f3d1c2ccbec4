"""The serving signature's checks: sizes read from PNG and JPEG headers, and refusals before anything is decoded."""

from __future__ import annotations

import io
import struct

import pytest
import tensorflow as tf
from bomb_builders import PNG_SIGNATURE, jpeg_claiming, png_chunk, png_header
from PIL import Image
from yolo_builders import jpeg_bytes, png_bytes

from fracdet_core.serving.guard import checked_encoded_image, refusal_reason

PNG_300x200 = png_bytes(1, (300, 200))
JPEG_300x200 = jpeg_bytes(2, (300, 200))
LARGE = 10**9


def _check(encoded: bytes, *, max_pixels: int = LARGE, max_bytes: int = LARGE) -> bytes:
    """Run the checks as the signature does (in a graph), for the image at position 3 of a request."""
    checked = tf.function(lambda data: checked_encoded_image(data, tf.constant(3), max_pixels, max_bytes))
    return checked(tf.constant(encoded)).numpy()


def _gif() -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (40, 40)).save(buffer, format="GIF")
    return buffer.getvalue()


@pytest.mark.parametrize("encoded", [PNG_300x200, JPEG_300x200], ids=["png", "jpeg"])
def test_an_image_at_the_limits_passes_unchanged(encoded):
    assert _check(encoded, max_pixels=300 * 200, max_bytes=len(encoded)) == encoded


@pytest.mark.parametrize(
    ("encoded", "max_pixels", "message"),
    [
        (PNG_300x200, 59_999, "images[3] is 300x200 = 60000 pixels, above the serving limit of 59999"),
        (JPEG_300x200, 59_999, "images[3] is 300x200 = 60000 pixels, above the serving limit of 59999"),
        (png_header(20000, 20000), 25_000_000,
         "images[3] is 20000x20000 = 400000000 pixels, above the serving limit of 25000000"),
        (png_header(2**31 - 1, 3), LARGE, f"images[3] is {2**31 - 1}x3 = {3 * (2**31 - 1)} pixels"),
        (jpeg_claiming(JPEG_300x200, 20000, 20000), 25_000_000, "images[3] is 20000x20000 = 400000000 pixels"),
        (jpeg_claiming(JPEG_300x200, 7, 5000), 34_999, "images[3] is 7x5000 = 35000 pixels"),
    ],
    ids=["png", "jpeg", "png-header-only", "png-widest", "jpeg-claiming-20000", "jpeg-width-height-order"],
)
def test_too_many_pixels_are_refused_from_the_header(encoded, max_pixels, message):
    with pytest.raises(tf.errors.InvalidArgumentError, match=message.replace("[", r"\[").replace("]", r"\]")):
        _check(encoded, max_pixels=max_pixels)


def test_too_many_bytes_are_refused():
    limit = len(PNG_300x200) - 1
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=rf"images\[3\] is {len(PNG_300x200)} bytes, above the serving limit of {limit} bytes"):
        _check(PNG_300x200, max_bytes=limit)


@pytest.mark.parametrize(
    ("encoded", "message"),
    [
        (_gif(), "neither PNG nor JPEG"),
        (b"BM" + bytes(60), "neither PNG nor JPEG"),
        (b"", "neither PNG nor JPEG"),
        (b"this is not a picture", "neither PNG nor JPEG"),
        (PNG_300x200[:20], r"a PNG whose header is cut short or damaged \(20 bytes\)"),
        (PNG_SIGNATURE, r"cut short or damaged \(8 bytes\)"),
        (PNG_SIGNATURE + png_chunk(b"tEXt", b"comment=first") + PNG_300x200[8:], "cut short or damaged"),
        (png_header(0, 200), "cut short or damaged"),
        (png_header(300, 0), "cut short or damaged"),
        (PNG_SIGNATURE + struct.pack(">I", 13) + b"IHDR" + b"\xff" * 8, "cut short or damaged"),  # a negative width
    ],
    ids=["gif", "bmp", "empty", "text", "png-truncated", "png-signature-only", "png-ihdr-not-first", "png-width-0",
         "png-height-0", "png-width-above-2**31"],
)
def test_other_formats_and_damaged_png_headers_are_refused(encoded, message):
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        _check(encoded)


def test_a_damaged_jpeg_header_is_refused_by_the_jpeg_parser():
    with pytest.raises(tf.errors.InvalidArgumentError, match="Invalid JPEG data"):
        _check(b"\xff\xd8\xff" + bytes(40))



@pytest.mark.parametrize(
    ("encoded", "reason"),
    [
        (PNG_SIGNATURE,
         "images[3] is a PNG whose header is cut short or damaged (8 bytes): no IHDR chunk with a width and height"),
        (b"\xff\xd8\xff" + bytes(40), "Invalid JPEG data, size 43"),
    ],
    ids=["check", "tensorflow"],
)
def test_a_refusal_reads_as_what_is_wrong(encoded, reason):
    with pytest.raises(tf.errors.InvalidArgumentError) as raised:
        _check(encoded)
    assert refusal_reason(raised.value) == reason
