"""From attenuation to a CR image: exposure, plate, reader processing and the display curve.

The transmitted share exp(-attenuation) is exposed through the collimated field and the anode
heel's gradient, spread by the phosphor's point spread (a sharp core with a long tail), joined by
scatter, and counted with signal-dependent quantum noise that the plate correlates over a pixel
or so; the scanner adds row banding and the plate a low-frequency mottle. The detector signal is
-log of the detected share, as in `radiograph.SIGNAL_MAX`'s units. The reader then compresses
the dynamic range and sharpens edges (unsharp mask), and shows the result through a sigmoid
curve placed from the image's own histogram.

Every noise field is drawn from `Exposure.noise_seed` before anything depends on the body, so two
renders of scenes that differ only in a fracture match pixel for pixel away from the break.
"""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

from fracdet_core.synth.outlines.attenuation import attenuation_scale, bone_attenuation, soft_tissue_attenuation
from fracdet_core.synth.outlines.exposure import Exposure, Field, Marker
from fracdet_core.synth.outlines.scene import OutlineScene
from fracdet_core.synth.outlines.shapes import pixel_scale, upsample
from fracdet_core.synth.radiograph import SIGNAL_MAX

_LEAD = 6.0  # attenuation of the lead marker
_BURNT_IN = 0.97 * SIGNAL_MAX  # the reader's text, white


def raw_signal(scene: OutlineScene) -> np.ndarray:
    """The plate's detector signal before the reader's processing, float32 (height, width) in [0, SIGNAL_MAX]."""
    exposure = scene.exposure
    shape = (scene.height, scene.width)
    noise = np.random.default_rng(exposure.noise_seed)
    quantum = ndimage.gaussian_filter(noise.standard_normal(shape, dtype=np.float32), 0.5)
    quantum /= quantum.std()
    rows = ndimage.gaussian_filter1d(noise.standard_normal(shape[0], dtype=np.float32), 0.6)
    mottle = upsample(noise.standard_normal((shape[0] // 32 + 2, shape[1] // 32 + 2), dtype=np.float32), shape, smooth=True)
    gain = 1.0 + exposure.banding * rows[:, None] + exposure.mottle * mottle

    soft = soft_tissue_attenuation(scene)
    bones, intact = bone_attenuation(scene)
    scale = attenuation_scale(scene)
    lead = _LEAD * _marker_mask(shape, exposure.marker)
    beam = _field_mask(shape, exposure.field) * _heel(shape, exposure)
    primary = np.exp(-(scale * (soft + bones) + lead)) * beam
    pixel = pixel_scale(scene.width, scene.height)  # the point spread is the plate's: fewer pixels across at lower resolution
    primary = (1.0 - exposure.psf_tail_share) * ndimage.gaussian_filter(primary, exposure.psf_core * pixel) + (
        exposure.psf_tail_share * ndimage.gaussian_filter(primary, exposure.psf_tail * pixel, truncate=3.0)
    )
    # Scatter comes from the quanta the body takes out of the beam, spread wide: worked out at a quarter of
    # the resolution, from the body without its fractures, whose own share of scatter is far below the noise.
    removed = (1.0 - np.exp(-scale * (soft + intact))) * beam
    scatter = exposure.scatter * _smooth(removed, 0.06 * min(shape))
    expected = exposure.photons * (primary + scatter)
    counts = np.maximum((expected + np.sqrt(expected) * quantum) * gain, 0.5)
    return np.clip(-np.log(counts / exposure.photons), 0.0, SIGNAL_MAX).astype(np.float32)


def present(raw: np.ndarray, scene: OutlineScene) -> np.ndarray:
    """The reader's processing for presentation: dynamic range compression, unsharp mask, burnt-in text."""
    exposure = scene.exposure
    signal = raw
    if exposure.compression > 0:
        low = _smooth(signal, 0.08 * min(signal.shape))
        signal = signal - exposure.compression * (low - float(low.mean()))
    if exposure.sharpening > 0:
        sigma = exposure.sharpening_sigma * pixel_scale(scene.width, scene.height)
        signal = signal + exposure.sharpening * (signal - ndimage.gaussian_filter(signal, sigma, truncate=3.0))
    if exposure.label:
        text = _text_mask(signal.shape, exposure.label, exposure.label_position, 0.035 * min(signal.shape))
        signal = np.where(text > 0.5, _BURNT_IN, signal)
    return np.clip(signal, 0.0, SIGNAL_MAX).astype(np.float32)


def display_window(signal: np.ndarray, scene: OutlineScene) -> tuple[float, float]:
    """(low, high) of the sigmoid display curve: centre and width from the exposed signal's histogram."""
    exposure = scene.exposure
    field = _field_mask(signal.shape, exposure.field)[::3, ::3] > 0.5
    values = signal[::3, ::3][field] if field.any() else signal[::3, ::3].ravel()
    low, high = np.percentile(values, [1.0, 99.8])
    spread = max(float(high - low), 0.2)
    centre = float(low) + exposure.lut_centre * spread
    width = exposure.lut_width * spread
    return centre - width / 2, centre + width / 2


def to_display(signal: np.ndarray, scene: OutlineScene, window: tuple[float, float]) -> np.ndarray:
    """8-bit grey levels through the sigmoid curve (DICOM's SIGMOID VOI LUT function), shutter blackened."""
    low, high = window
    centre, width = (low + high) / 2, high - low
    grey = 1.0 / (1.0 + np.exp(-4.0 * (signal - centre) / width))
    field = scene.exposure.field
    if field.shutter:
        grey = grey * (_field_mask(signal.shape, field) > 0.5)
    return np.clip(np.round(grey * 255.0), 0, 255).astype(np.uint8)


def _smooth(image: np.ndarray, sigma: float) -> np.ndarray:
    """A wide Gaussian blur, worked out at a quarter of the resolution."""
    small = image[::4, ::4]
    return upsample(ndimage.gaussian_filter(small, sigma / 4.0, mode="nearest"), image.shape)


def _heel(shape: tuple[int, int], exposure: Exposure) -> np.ndarray:
    """The anode heel effect: exposure falling off linearly across the image."""
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    ramp = (np.cos(exposure.heel_angle) * (xs / shape[1] - 0.5)) + (np.sin(exposure.heel_angle) * (ys / shape[0] - 0.5))
    return 1.0 + exposure.heel * ramp


@functools.lru_cache(maxsize=4)
def _field_mask(shape: tuple[int, int], field: Field) -> np.ndarray:
    """Transmission of the collimator: 1 inside the turned field, `field.leak` outside, soft edges (read-only)."""
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    dx, dy = xs + 0.5 - field.centre[0], ys + 0.5 - field.centre[1]
    cos, sin = np.cos(field.angle), np.sin(field.angle)
    u, v = cos * dx + sin * dy, -sin * dx + cos * dy
    outside = np.maximum(np.abs(u) - field.half_size[0], np.abs(v) - field.half_size[1])
    open_share = 0.5 * (1.0 - np.tanh(outside / field.penumbra))
    mask = (field.leak + (1.0 - field.leak) * open_share).astype(np.float32)
    mask.flags.writeable = False
    return mask


def _marker_mask(shape: tuple[int, int], marker: Marker) -> np.ndarray:
    """The lead marker: its letter in a ring, laid at an angle; 1 where lead stops the beam."""
    size = max(round(marker.size), 8)
    stamp = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(stamp)
    draw.ellipse((1, 1, size - 2, size - 2), outline=255, width=max(1, size // 10))
    draw.text((size / 2, size / 2), marker.letter, fill=255, font=_font(max(6, int(size * 0.55))), anchor="mm")
    stamp = stamp.rotate(marker.angle, resample=Image.BILINEAR)
    canvas = Image.new("L", (shape[1], shape[0]), 0)
    canvas.paste(stamp, (round(marker.centre[0] - size / 2), round(marker.centre[1] - size / 2)))
    return np.asarray(canvas, np.float32) / 255.0


def _text_mask(shape: tuple[int, int], text: str, position: tuple[float, float], height: float) -> np.ndarray:
    canvas = Image.new("L", (shape[1], shape[0]), 0)
    ImageDraw.Draw(canvas).text(position, text, fill=255, font=_font(max(6, int(height))), anchor="mm")
    return np.asarray(canvas, np.float32) / 255.0


@functools.lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)
