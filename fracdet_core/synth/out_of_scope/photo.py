"""Photograph-like scenes: daylight outdoors (sky, clouds, hills, ground, trees, houses, a road) or a room.

Colours are drawn per element (a blue sky, green or brown ground, walls in any hue), lit by a
smooth gradient and textured with noise at several scales, then softened as a lens and a camera's
processing would; a grey frame is the colour frame's luma, as a grey photograph would be.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from fracdet_core.synth.out_of_scope.frame import ellipse, frame_size, grid, paint, smooth_noise

_SKY = np.array([0.45, 0.65, 0.95], np.float32)
_GROUNDS = np.array([[0.3, 0.55, 0.2], [0.55, 0.45, 0.3], [0.75, 0.7, 0.55], [0.35, 0.4, 0.35]], np.float32)


def photo_frame(rng: np.random.Generator, size: int, colour: bool) -> np.ndarray:
    """RGB float32 (height, width, 3) when `colour`, else its luma (height, width), in [0, 1]."""
    width, height = frame_size(rng, size)
    rgb = _outdoors(rng, height, width) if rng.random() < 0.6 else _room(rng, height, width)
    rgb *= (1.0 + 0.05 * smooth_noise(rng, (height, width), 1.0))[..., None]
    rgb = ndimage.gaussian_filter(rgb, (0.7, 0.7, 0.0))
    rgb = np.clip(rgb * rng.uniform(0.8, 1.15), 0.0, 1.0).astype(np.float32)
    return rgb if colour else (rgb @ np.array([0.299, 0.587, 0.114], np.float32)).astype(np.float32)


def _outdoors(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    _, y = grid(height, width)
    horizon = height * rng.uniform(0.35, 0.65) + height * 0.06 * np.convolve(
        rng.standard_normal(width), np.ones(max(width // 6, 1)) / max(width // 6, 1) ** 0.5, mode="same")
    sky = _SKY * rng.uniform(0.8, 1.1) + (1.0 - _SKY) * (y / height)[..., None] * 0.6
    clouds = np.clip(smooth_noise(rng, (height, width), (height / 30, width / 10)) - 0.6, 0.0, 1.0)[..., None]
    sky = sky * (1.0 - clouds) + clouds * 0.97
    ground = _GROUNDS[rng.integers(len(_GROUNDS))] * (1.0 + 0.25 * _texture(rng, (height, width)))[..., None]
    below = np.clip(y - horizon[None, :] + 0.5, 0.0, 1.0)[..., None]
    rgb = (sky * (1.0 - below) + ground * below * (0.7 + 0.5 * (y / height)[..., None])).astype(np.float32)
    for _ in range(int(rng.integers(1, 6))):
        _thing(rng, rgb, float(rng.uniform(0.05, 0.95) * width), horizon, height)
    return rgb


def _thing(rng: np.random.Generator, rgb: np.ndarray, x: float, horizon: np.ndarray, height: int) -> None:
    """A tree or a house standing on the horizon at `x`, in place."""
    base = float(horizon[int(np.clip(x, 0, len(horizon) - 1))]) + rng.uniform(0.0, 0.2) * height
    scale = height * rng.uniform(0.08, 0.3)
    shape = rgb.shape[:2]
    if rng.random() < 0.5:
        trunk = ellipse(shape, (x, base - scale * 0.25), (scale * 0.05, scale * 0.3), edge=1.0)
        paint(rgb, trunk[..., None], np.array([0.35, 0.25, 0.15]) * rng.uniform(0.7, 1.2))
        crown = ellipse(shape, (x, base - scale * 0.75), (scale * 0.35, scale * 0.45), edge=2.0)
        leaves = np.array([0.15, 0.45, 0.15]) * rng.uniform(0.6, 1.3)
        paint(rgb, crown[..., None], leaves * (1 + 0.2 * _texture(rng, shape))[..., None])
        return
    wall = _box(shape, (x - scale * 0.5, base - scale * 0.6, x + scale * 0.5, base))
    paint(rgb, wall[..., None], rng.uniform(0.3, 0.95, size=3))
    roof = _box(shape, (x - scale * 0.55, base - scale * 0.85, x + scale * 0.55, base - scale * 0.6))
    paint(rgb, roof[..., None], rng.uniform(0.1, 0.6, size=3))
    window = _box(shape, (x - scale * 0.3, base - scale * 0.45, x - scale * 0.1, base - scale * 0.25))
    paint(rgb, window[..., None], np.array([0.2, 0.25, 0.3]))


def _room(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    x, y = grid(height, width)
    floor_line = height * rng.uniform(0.55, 0.8)
    light = 1.0 - 0.4 * np.hypot(x / width - rng.uniform(0.2, 0.8), y / height - 0.3)
    wall = rng.uniform(0.4, 0.95, size=3).astype(np.float32)
    floor = rng.uniform(0.2, 0.7, size=3).astype(np.float32) * (1.0 + 0.3 * _texture(rng, (height, width)))[..., None]
    below = np.clip(y - floor_line + 0.5, 0.0, 1.0)[..., None]
    rgb = ((wall * (1.0 - below) + floor * below) * light[..., None]).astype(np.float32)
    window = _box((height, width), tuple(np.array([0.1, 0.1, 0.35, 0.45]) * [width, height, width, height] +
                                        rng.uniform(0, 0.4) * width * np.array([1, 0, 1, 0])))
    paint(rgb, window[..., None], np.array([0.92, 0.95, 1.0]))
    for _ in range(int(rng.integers(2, 7))):  # things on the floor and on a table
        center = (rng.uniform(0.1, 0.9) * width, floor_line + rng.uniform(-0.15, 0.2) * height)
        radii = (rng.uniform(0.03, 0.15) * width, rng.uniform(0.03, 0.15) * height)
        shade = 0.7 + 0.3 * np.clip((center[1] - y) / radii[1], -1.0, 1.0)
        paint(rgb, (ellipse((height, width), center, radii, edge=1.5) * 1.0)[..., None],
              rng.uniform(0.1, 0.95, size=3) * shade[..., None])
    return rgb


def _box(shape: tuple[int, int], corners: tuple[float, ...]) -> np.ndarray:
    x, y = grid(*shape)
    x0, y0, x1, y1 = corners
    return (np.clip(x - x0, 0, 1) * np.clip(x1 - x, 0, 1) * np.clip(y - y0, 0, 1) * np.clip(y1 - y, 0, 1)).astype(np.float32)


def _texture(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Noise at three scales, as grass, gravel or a carpet show."""
    return (0.5 * smooth_noise(rng, shape, 1.0) + 0.3 * smooth_noise(rng, shape, 4.0) + 0.2 * smooth_noise(rng, shape, 16.0))
