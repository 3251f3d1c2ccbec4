"""What every out-of-scope image shares: its size drawn as the in-scope films' are, masks, noise, text.

Sizes follow the tubes renderer's rule exactly (the longer side is the configured size, the
shorter 78-100 % of it, landscape a third of the time), so an image's size says nothing about
whether it is in scope.
"""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

_SYLLABLES = ("ra", "to", "me", "di", "an", "ok", "sel", "ti", "ver", "lo", "ne", "ba", "cor", "ut", "is", "ex", "pa")


def frame_size(rng: np.random.Generator, size: int) -> tuple[int, int]:
    """(width, height) in pixels: the in-scope films' aspect and orientation rule."""
    aspect = rng.uniform(0.78, 1.0)
    return (size, round(size * aspect)) if rng.random() < 0.35 else (round(size * aspect), size)


def grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates (x, y), float32 of shape (height, width) each."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return xs + 0.5, ys + 0.5


def ellipse(shape: tuple[int, int], center: tuple[float, float], radii: tuple[float, float], angle: float = 0.0,
            edge: float = 1.0) -> np.ndarray:
    """A filled ellipse, float32 in [0, 1] of `shape`, its edge soft over about `edge` pixels."""
    x, y = grid(*shape)
    cos, sin = np.cos(angle), np.sin(angle)
    dx, dy = x - center[0], y - center[1]
    u = (cos * dx + sin * dy) / max(radii[0], 1e-3)
    v = (-sin * dx + cos * dy) / max(radii[1], 1e-3)
    distance = (np.sqrt(u * u + v * v) - 1.0) * min(radii)  # roughly pixels outside the edge
    return np.clip(0.5 - distance / max(edge, 1e-3), 0.0, 1.0).astype(np.float32)


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float | tuple[float, float]) -> np.ndarray:
    """Gaussian noise blurred by `sigma` pixels, rescaled to unit standard deviation."""
    noise = ndimage.gaussian_filter(rng.standard_normal(shape, dtype=np.float32), sigma)
    return noise / max(float(noise.std()), 1e-6)


def paint(image: np.ndarray, mask: np.ndarray, value: float | np.ndarray) -> np.ndarray:
    """`image` with `value` laid over it where `mask` (in [0, 1]) says, in place; returned for chaining."""
    image *= 1.0 - mask
    image += mask * value
    return image


def words(rng: np.random.Generator, count: int) -> str:
    """Pronounceable nonsense: text-like strokes in no language."""
    return " ".join("".join(rng.choice(_SYLLABLES, size=rng.integers(1, 4))) for _ in range(count))


def text_mask(shape: tuple[int, int], lines: list[tuple[tuple[float, float], str, float]]) -> np.ndarray:
    """Text as a float32 mask in [0, 1]: each line is ((x, y) of its top left, text, height in pixels)."""
    canvas = Image.new("L", (shape[1], shape[0]), 0)
    draw = ImageDraw.Draw(canvas)
    for position, text, height in lines:
        draw.text(position, text, fill=255, font=font(max(6, int(height))))
    return np.asarray(canvas, np.float32) / 255.0


@functools.lru_cache(maxsize=32)
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)
