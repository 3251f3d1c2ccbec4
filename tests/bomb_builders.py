"""Images that are small in bytes and huge in pixels, built without ever holding their pixels.

A 20000x20000 gray PNG of zeros is about 400 KB on disk; made with Pillow it would first cost
400 MB of memory in the test itself, which would hide what the code under test costs.
"""

from __future__ import annotations

import struct
import zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data, CRC-32 of type and data (PNG specification, section 5.3)."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header(width: int, height: int) -> bytes:
    """The signature and the IHDR chunk of an 8-bit grayscale PNG: its first 33 bytes."""
    return PNG_SIGNATURE + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))


def blank_png_streamed(width: int, height: int) -> bytes:
    """A valid 8-bit grayscale PNG of width x height zeros, compressed a few MB of rows at a time."""
    compressor = zlib.compressobj(9)
    row = b"\0" * (width + 1)  # filter type 0, then the row's pixels
    rows_per_block = max(1, 4_000_000 // len(row))
    blocks = [compressor.compress(row * min(rows_per_block, height - start)) for start in range(0, height, rows_per_block)]
    pixels = b"".join(blocks) + compressor.flush()
    return png_header(width, height) + png_chunk(b"IDAT", pixels) + png_chunk(b"IEND", b"")


def jpeg_claiming(jpeg: bytes, width: int, height: int) -> bytes:
    """`jpeg` (a baseline JPEG) with its start-of-frame segment claiming width x height (each below 65536)."""
    frame = jpeg.index(b"\xff\xc0")  # SOF0: marker (2), length (2), precision (1), height (2), width (2)
    return jpeg[:frame + 5] + struct.pack(">HH", height, width) + jpeg[frame + 9:]
