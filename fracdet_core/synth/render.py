"""Render a `Scene` the way a radiograph is formed.

Tissue path lengths become attenuation (Beer-Lambert), attenuation becomes a photon count with
quantum noise, the log of the count is the detector signal, and a window, gamma and film grain
turn the signal into display grey levels. Bone is therefore white with brighter cortical rims,
soft tissue grey, air black; the lead side marker and collimated borders receive almost no
photons and show white.

Noise fields are drawn from `Acquisition.noise_seed` as Gaussian approximations of Poisson noise,
one value per pixel, so that two renders of scenes differing only in a fracture match pixel for
pixel away from the break.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

from fracdet_core.synth.primitives import Blob, Shaft, Tissue
from fracdet_core.synth.radiograph import SIGNAL_MAX
from fracdet_core.synth.scene import Box, Fracture, Scene

# Linear attenuation per pixel of a 512-pixel image; scaled with the image so contrast is
# independent of resolution.
_REFERENCE_SIDE = 512.0
_MU_SOFT_TISSUE = 0.006
_MU_CORTEX = 0.05
_MU_MARROW = 0.007
_TRABECULAR_CONTRAST = 0.35
_MARKER_ATTENUATION = 5.0
_COLLIMATED_TRANSMISSION = 0.03
_GAP_DEPTH = 0.92  # share of bone missing in a fracture gap


def render_signal(scene: Scene) -> np.ndarray:
    """The detector signal, float32 of shape (height, width), in [0, SIGNAL_MAX]."""
    height, width = scene.height, scene.width
    acquisition = scene.acquisition
    noise = np.random.default_rng(acquisition.noise_seed)
    texture = _bandpass_noise(noise, (height, width))
    quantum = noise.standard_normal((height, width), dtype=np.float32)

    soft = np.zeros((height, width), np.float32)
    for tissue in scene.anatomy.tissues:
        _max_into(soft, tissue)
    soft = ndimage.gaussian_filter(soft, 2.0)

    cortical = np.zeros((height, width), np.float32)
    marrow = np.zeros((height, width), np.float32)
    fractures = {fracture.bone_index: fracture for fracture in scene.fractures}
    for index, bone in enumerate(scene.anatomy.bones):
        _add_bone(cortical, marrow, bone, fractures.get(index))

    mu_scale = _REFERENCE_SIDE / min(height, width)
    marrow *= np.clip(1.0 + _TRABECULAR_CONTRAST * texture, 0.0, None)
    attenuation = mu_scale * (_MU_SOFT_TISSUE * soft + _MU_CORTEX * cortical + _MU_MARROW * marrow)
    attenuation = ndimage.gaussian_filter(attenuation, acquisition.blur)
    attenuation += _MARKER_ATTENUATION * _marker_mask(scene.width, scene.height, acquisition.marker_text, acquisition.marker_box)

    expected = acquisition.photons * np.exp(-attenuation) * _collimation_mask(width, height, acquisition.collimation)
    counts = np.maximum(expected + np.sqrt(expected) * quantum, 0.0)
    signal = -np.log((counts + 0.5) / acquisition.photons)
    return np.clip(signal, 0.0, SIGNAL_MAX).astype(np.float32)


def to_display(signal: np.ndarray, scene: Scene) -> np.ndarray:
    """Windowed, gamma-corrected, grainy 8-bit image of shape (height, width)."""
    acquisition = scene.acquisition
    low, high = acquisition.window
    display = np.clip((signal - low) / (high - low), 0.0, 1.0) ** acquisition.gamma
    grain_rng = np.random.default_rng(acquisition.noise_seed + 1)
    grain = ndimage.gaussian_filter(grain_rng.standard_normal(signal.shape, dtype=np.float32), 0.6)
    display = display + acquisition.grain * 2.0 * grain
    return np.clip(np.round(display * 255.0), 0, 255).astype(np.uint8)


def render(scene: Scene) -> np.ndarray:
    """The 8-bit grayscale radiograph of `scene`, shape (height, width)."""
    return to_display(render_signal(scene), scene)


# --- anatomy -------------------------------------------------------------------------------


def _window(bounds: tuple[float, float, float, float], shape: tuple[int, int]) -> tuple[slice, slice] | None:
    """The pixel rows and columns a primitive's bounds cover, or None if outside the image."""
    height, width = shape
    x0, y0 = max(int(np.floor(bounds[0])) - 1, 0), max(int(np.floor(bounds[1])) - 1, 0)
    x1, y1 = min(int(np.ceil(bounds[2])) + 2, width), min(int(np.ceil(bounds[3])) + 2, height)
    if x0 >= x1 or y0 >= y1:
        return None
    return slice(y0, y1), slice(x0, x1)


def _pixel_centres(rows: slice, cols: slice) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[rows, cols].astype(np.float32)
    return xs + 0.5, ys + 0.5


def _max_into(target: np.ndarray, tissue: Tissue) -> None:
    window = _window(tissue.bounds(), target.shape)
    if window is not None:
        x, y = _pixel_centres(*window)
        np.maximum(target[window], tissue.path_length(x, y), out=target[window])


def _add_bone(cortical: np.ndarray, marrow: np.ndarray, bone: Shaft | Blob, fracture: Fracture | None) -> None:
    if fracture is None:
        window = _window(bone.bounds(), cortical.shape)
        if window is None:
            return
        x, y = _pixel_centres(*window)
        bone_cortical, bone_marrow = bone.path_lengths(x, y)
    else:
        assert isinstance(bone, Shaft)
        window, bone_cortical, bone_marrow = _fractured_shaft(bone, fracture, cortical.shape)
        if window is None:
            return
    cortical[window] += bone_cortical
    marrow[window] += bone_marrow


def _fractured_shaft(
    bone: Shaft, fracture: Fracture, shape: tuple[int, int]
) -> tuple[tuple[slice, slice] | None, np.ndarray, np.ndarray]:
    """Path lengths of a broken bone: the proximal piece, the moved distal piece, the gap."""
    moved_end = fracture.move_distal(bone.end, bone)
    reach = bone.radius * bone.flare + abs(fracture.shift[0]) + abs(fracture.shift[1])
    xs = (bone.start[0], bone.end[0], moved_end[0])
    ys = (bone.start[1], bone.end[1], moved_end[1])
    window = _window((min(xs) - reach, min(ys) - reach, max(xs) + reach, max(ys) + reach), shape)
    if window is None:
        return None, np.empty(0), np.empty(0)
    x, y = _pixel_centres(*window)
    proximal_cortical, proximal_marrow = bone.path_lengths(x, y, t_window=(0.0, fracture.t))
    # Evaluate the distal piece where its pixels came from before it moved.
    pivot = fracture.break_point(bone)
    cos, sin = np.cos(-fracture.angulation), np.sin(-fracture.angulation)
    dx, dy = x - fracture.shift[0] - pivot[0], y - fracture.shift[1] - pivot[1]
    source_x, source_y = pivot[0] + cos * dx - sin * dy, pivot[1] + sin * dx + cos * dy
    distal_cortical, distal_marrow = bone.path_lengths(source_x, source_y, t_window=(fracture.t, 1.0))
    intact = 1.0 - _GAP_DEPTH * _line_mask(x, y, fracture.line, fracture.width)
    return window, (proximal_cortical + distal_cortical) * intact, (proximal_marrow + distal_marrow) * intact


def _line_mask(x: np.ndarray, y: np.ndarray, line: tuple[tuple[float, float], ...], width: float) -> np.ndarray:
    """1 on a polyline of the given width, fading to 0 over one pixel at its edges."""
    distance = np.full(x.shape, np.inf, np.float32)
    for (ax, ay), (bx, by) in itertools.pairwise(line):
        vx, vy = bx - ax, by - ay
        t = np.clip(((x - ax) * vx + (y - ay) * vy) / max(vx * vx + vy * vy, 1e-9), 0.0, 1.0)
        np.minimum(distance, np.hypot(x - (ax + t * vx), y - (ay + t * vy)), out=distance)
    return np.clip(1.0 - (distance - width / 2.0), 0.0, 1.0)


# --- acquisition ---------------------------------------------------------------------------


def _bandpass_noise(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Zero-mean, unit-variance noise with the few-pixel grain of trabecular bone."""
    white = rng.standard_normal(shape, dtype=np.float32)
    band = ndimage.gaussian_filter(white, 1.0) - ndimage.gaussian_filter(white, 3.0)
    return band / max(float(band.std()), 1e-6)


def _collimation_mask(width: int, height: int, field: Box) -> np.ndarray:
    """Transmission of the collimator: 1 inside the exposed field, a little scatter outside."""
    mask = np.full((height, width), _COLLIMATED_TRANSMISSION, np.float32)
    x0, y0, x1, y1 = (round(v) for v in field)
    mask[max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)] = 1.0
    return mask


def _marker_mask(width: int, height: int, text: str, box: Box) -> np.ndarray:
    """A lead side marker: a framed letter, 1 where lead stops the beam."""
    canvas = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    x0, y0, x1, y1 = box
    size = x1 - x0
    draw.rectangle((x0, y0, x1, y1), outline=255, width=max(1, int(size / 12)))
    font = _marker_font(max(8, int(size * 0.75)))
    draw.text(((x0 + x1) / 2, (y0 + y1) / 2), text, fill=255, font=font, anchor="mm")
    return np.asarray(canvas, np.float32) / 255.0


@functools.lru_cache(maxsize=32)
def _marker_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)
