"""Colour: a radiograph is gray, so an image with real chroma over a share of its area is not one.

Measured on the decoder's RGB pixels before they become gray (`chroma_share`), decided here
(`colour_detail`). A pixel has chroma when its channels differ by more than `CHROMA_LEVEL` of
255: the spread of gray stored as RGB is 0, and JPEG's chroma noise on a gray image stays a few
levels. An image is colour when more than `COLOUR_SHARE` of its pixels have chroma: a
photograph, a colour Doppler or a screenshot, while a radiograph with a coloured ruler, arrow or
annotation over a corner stays gray.
"""

from __future__ import annotations

from typing import Final

import numpy as np

CHROMA_LEVEL: Final[int] = 24
COLOUR_SHARE: Final[float] = 0.02
# Pixels measured at most: a regular subsample of larger images (a share needs no more).
_MEASURED_PIXELS: Final[int] = 1 << 20


def chroma_share(rgb: np.ndarray) -> float:
    """The share of pixels whose channels differ by more than `CHROMA_LEVEL`.

    Args:
        rgb: (H, W, 3) pixels, uint8, or any integer or float type on the 0-255 scale.
    """
    step = max(1, int(np.ceil(np.sqrt(rgb.shape[0] * rgb.shape[1] / _MEASURED_PIXELS))))
    sample = np.asarray(rgb[::step, ::step, :3], dtype=np.int32)  # (h, w, 3)
    if sample.size == 0:
        return 0.0
    spread = sample.max(axis=2) - sample.min(axis=2)  # (h, w)
    return float(np.mean(spread > CHROMA_LEVEL))


def colour_detail(share: float) -> str | None:
    """Why the image is a colour image, or None when it is not (see the module docstring)."""
    if share <= COLOUR_SHARE:
        return None
    return f"{share:.0%} of the pixels are coloured (a radiograph has none; the limit is {COLOUR_SHARE:.0%})"
