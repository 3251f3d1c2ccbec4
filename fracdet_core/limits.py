"""The size limits on every image fracdet reads. Ingest, predict and the serving signature all take
their defaults from here.

An image's encoded size says nothing about its decoded size: a 388 KB PNG of 20000x20000 pixels
decodes to 400 MB in 8-bit gray and 1.6 GB as float32. So every door where an image comes in
checks the pixel count in the image header before it decodes anything, and checks the byte
count before it reads the file whole.

Why these defaults:
- `MAX_PIXELS` = 25,000,000 (5000 x 5000). The largest flat-panel and CR detectors in clinical use
  are 43 x 43 cm at about 100 um pixels, which gives ~4300 x 4300 = 18.5 MP. The limit leaves room
  for that plus a margin, and it turns away anything far larger. At that size the serving
  signature needs about 150 MB to decode one image (16-bit source plus float32 copy), which
  fits a 2 GiB KServe container.
- `MAX_BYTES` = 64 MiB. A 5000 x 5000 16-bit image stored without compression (raw DICOM,
  incompressible PNG) is 50 MB, so every genuine radiograph within the pixel limit fits.

Both can be raised or lowered per run (`--max-pixels`, `--max-bytes`). Pillow's own guard
(`Image.MAX_IMAGE_PIXELS`, 89,478,485 pixels) is set to ours while we decode (see
`ingest.decode`), so our limit is the one that applies, whether it is above Pillow's or below.
"""

from __future__ import annotations

import dataclasses

from fracdet_core import defaults
from fracdet_core.errors import ConfigError

MAX_PIXELS = 25_000_000
MAX_BYTES = 64 * 1024 * 1024


def check_positive(name: str, value: int) -> None:
    """Raise the `ConfigError` every limit gives when it is not a positive whole number."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a whole number of at least 1, got {value!r}")


@dataclasses.dataclass(frozen=True)
class DecodeLimits:
    """Bounds every image must meet.

    Attributes:
        max_pixels: images with more pixels are rejected as decompression bombs, before they are decoded.
        min_side: images whose shorter side is smaller are rejected as too small.
        max_side: images whose longer side is larger are downscaled to it (0: never).
        max_bytes: larger files are rejected as `file_too_large` before they are read.
    """

    max_pixels: int = MAX_PIXELS
    min_side: int = 32
    max_side: int = defaults.MAX_SIDE
    max_bytes: int = MAX_BYTES

    def __post_init__(self) -> None:
        check_positive("max_pixels", self.max_pixels)
        check_positive("max_bytes", self.max_bytes)
