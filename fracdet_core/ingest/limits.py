"""Size bounds every ingested image must meet; light, so the CLI can show the defaults."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class DecodeLimits:
    """Bounds every image must meet.

    Attributes:
        max_pixels: images with more pixels are rejected as decompression bombs.
        min_side: images whose shorter side is smaller are rejected as too small.
        max_side: images whose longer side is larger are downscaled to it (0: never).
    """

    max_pixels: int = 100_000_000
    min_side: int = 32
    max_side: int = 0
