"""Radiograph-like content: a radiograph is a continuous-tone image, so an image of a few gray levels is not one.

Measured on the decoder's gray pixels (`gray_histogram`: 256 bins on the 8-bit scale, whatever
the bit depth), decided here (`content_detail`). The image has no radiograph-like content when
fewer than `MIN_LEVELS` of the 256 levels hold 99% of its pixels: a blank or flat image, a
binary mask, a line drawing, a chessboard, a logo. A radiograph, real or synthetic, 8 or 16
bits, spreads over a hundred levels and more; so does a photograph, which this check therefore
leaves to the model's in-scope score, as it does a CT or MR slice without its tags.

The rule is deliberately narrow: collimation borders, black backgrounds and burnt-in text are
normal in radiographs, so neither a large share of one level nor a bright background is a reason.
"""

from __future__ import annotations

from typing import Final

import numpy as np

MIN_LEVELS: Final[int] = 16
_HELD_SHARE: Final[float] = 0.99


def gray_histogram(pixels: np.ndarray) -> np.ndarray:
    """int64 (256,) pixel counts per 8-bit level of the gray `pixels` (uint8, or uint16 read by its top byte)."""
    levels = pixels >> 8 if pixels.dtype == np.uint16 else pixels
    return np.bincount(np.asarray(levels, dtype=np.uint8).ravel(), minlength=256).astype(np.int64)


def levels_holding(histogram: np.ndarray, share: float = _HELD_SHARE) -> int:
    """The fewest levels that together hold `share` of the pixels (the most populated first)."""
    counts = np.sort(histogram)[::-1]
    total = counts.sum()
    if total == 0:
        return 0
    return int(np.searchsorted(np.cumsum(counts), share * total) + 1)


def content_detail(histogram: np.ndarray) -> str | None:
    """Why the image has no radiograph-like content, or None when it has (see the module docstring)."""
    levels = levels_holding(histogram)
    if levels >= MIN_LEVELS:
        return None
    return (f"{levels} gray level(s) of 256 hold {_HELD_SHARE:.0%} of the pixels; a radiograph spreads over many "
            f"(at least {MIN_LEVELS})")
