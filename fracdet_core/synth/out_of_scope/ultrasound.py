"""Ultrasound-like frames: a sector (or a linear probe's rectangle) of speckle on a black screen.

Inside the field, echogenicity comes in layers under the probe (skin, fat, muscle, an organ),
with anechoic cysts or vessels that brighten what lies behind them (posterior enhancement) and
a bright interface that shadows what lies behind it; the echoes carry Rayleigh speckle, fade
with depth, are log-compressed, and the screen carries a depth scale and the scanner's text.
A colour frame (where the format allows) adds a colour-Doppler box over a vessel.
"""

from __future__ import annotations

import numpy as np

from fracdet_core.synth.out_of_scope.frame import ellipse, frame_size, grid, smooth_noise, text_mask, words


def ultrasound_frame(rng: np.random.Generator, size: int, colour: bool) -> np.ndarray:
    """Grey levels float32 (height, width), or RGB (height, width, 3) when `colour`, in [0, 1]."""
    width, height = frame_size(rng, size)
    shape = (height, width)
    apex = (width / 2 + rng.uniform(-0.05, 0.05) * width, height * rng.uniform(0.04, 0.1))
    depth_px = height * rng.uniform(0.75, 0.88)
    depth, lateral, field = _geometry(rng, shape, apex, depth_px)
    echo = _echogenicity(rng, shape, depth, lateral)
    for _ in range(int(rng.integers(0, 4))):  # cysts and vessels: no echoes inside, more behind
        echo = _cyst(rng, shape, echo, depth, lateral, apex, depth_px)
    speckle = np.hypot(smooth_noise(rng, shape, (0.7, 1.8)), smooth_noise(rng, shape, (0.7, 1.8))) / np.sqrt(2.0)
    envelope = echo * speckle * np.exp(-rng.uniform(0.6, 1.6) * depth)
    grey = np.log1p(40.0 * envelope) / np.log1p(40.0) * field * rng.uniform(0.8, 1.1)
    grey = np.clip(grey + text_mask(shape, _annotations(rng, width, height)) * 0.9, 0.0, 1.0)
    return _doppler(rng, grey, apex, depth_px) if colour else grey.astype(np.float32)


def _geometry(rng: np.random.Generator, shape: tuple[int, int], apex: tuple[float, float],
              depth_px: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Depth (0 at the probe, 1 at the bottom), lateral position in [-1, 1], and the field's mask."""
    x, y = grid(*shape)
    if rng.random() < 0.25:  # linear probe: a rectangle
        half = shape[1] * rng.uniform(0.3, 0.42)
        depth, lateral = (y - apex[1]) / depth_px, (x - apex[0]) / half
        field = (depth >= 0) & (depth <= 1) & (np.abs(lateral) <= 1)
        return depth, lateral, field.astype(np.float32)
    half_angle = np.radians(rng.uniform(28.0, 42.0))
    near = depth_px * rng.uniform(0.05, 0.15)
    radius = np.hypot(x - apex[0], y - apex[1])
    angle = np.arctan2(x - apex[0], y - apex[1])
    depth, lateral = (radius - near) / (depth_px - near), angle / half_angle
    field = (depth >= 0) & (depth <= 1) & (np.abs(lateral) <= 1)
    return depth, lateral, field.astype(np.float32)


def _echogenicity(rng: np.random.Generator, shape: tuple[int, int], depth: np.ndarray, lateral: np.ndarray) -> np.ndarray:
    """Layers under the probe, wavy, each with its own brightness, and a bright interface deep down."""
    waves = 0.03 * smooth_noise(rng, shape, shape[1] / 8)
    bounds = np.cumsum(rng.uniform(0.05, 0.3, size=4))
    levels = rng.uniform(0.15, 0.9, size=5)
    echo = np.take(levels, np.searchsorted(bounds, depth + waves)).astype(np.float32)
    echo *= 1.0 + 0.3 * smooth_noise(rng, shape, 3.0)
    if rng.random() < 0.5:  # a bone or a stone: a bright line with a shadow behind it
        line = float(rng.uniform(0.5, 0.85))
        across = np.abs(lateral - rng.uniform(-0.4, 0.4)) < rng.uniform(0.2, 0.5)
        echo = np.where(across & (np.abs(depth - line) < 0.015), 3.0, echo)
        echo = np.where(across & (depth > line + 0.015), echo * 0.08, echo)
    return np.clip(echo, 0.0, None)


def _cyst(rng: np.random.Generator, shape: tuple[int, int], echo: np.ndarray, depth: np.ndarray, lateral: np.ndarray,
          apex: tuple[float, float], depth_px: float) -> np.ndarray:
    center = (apex[0] + rng.uniform(-0.3, 0.3) * depth_px * 0.6, apex[1] + rng.uniform(0.25, 0.75) * depth_px)
    radii = (depth_px * rng.uniform(0.04, 0.12), depth_px * rng.uniform(0.03, 0.09))
    inside = ellipse(shape, center, radii, rng.uniform(-0.5, 0.5), edge=2.0)
    behind = (np.abs(grid(*shape)[0] - center[0]) < radii[0]) & (grid(*shape)[1] > center[1])
    return echo * (1.0 - 0.95 * inside) * np.where(behind, 1.4, 1.0)


def _annotations(rng: np.random.Generator, width: int, height: int) -> list[tuple[tuple[float, float], str, float]]:
    size = max(7.0, min(width, height) * 0.028)
    lines = [((size * 0.5, size * (0.5 + 1.3 * k)), text, size)
             for k, text in enumerate((f"{rng.uniform(2, 15):.1f} MHz", f"Gn {rng.integers(20, 80)}", words(rng, 1)))]
    ticks = [((width - size * 1.4, height * (0.1 + 0.8 * k / 5)), "-", size) for k in range(6)]
    return lines + ticks


def _doppler(rng: np.random.Generator, grey: np.ndarray, apex: tuple[float, float], depth_px: float) -> np.ndarray:
    """RGB with a colour-Doppler vessel: red towards the probe, blue away."""
    rgb = np.repeat(grey[..., None], 3, axis=2)
    center = (apex[0] + rng.uniform(-0.2, 0.2) * depth_px, apex[1] + rng.uniform(0.3, 0.6) * depth_px)
    vessel = ellipse(grey.shape, center, (depth_px * rng.uniform(0.1, 0.25), depth_px * 0.03), rng.uniform(-0.4, 0.4))
    flow = np.clip(0.6 + 0.4 * smooth_noise(rng, grey.shape, 3.0), 0.0, 1.0) * vessel
    colour = np.array([0.95, 0.15, 0.1] if rng.random() < 0.5 else [0.1, 0.3, 0.95], np.float32)
    return (rgb * (1.0 - flow[..., None]) + flow[..., None] * colour).astype(np.float32)
