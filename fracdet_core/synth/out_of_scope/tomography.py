"""CT- and MR-like frames: a body cross-section (`section`) shown with each modality's contrast and noise.

CT: each tissue's Hounsfield units, noise correlated over a pixel or two, a circular field of
view, the patient table under the body, and a display window chosen as a reader would (soft
tissue, lung, brain or bone). MR: T1- or T2-weighted intensities, a smooth coil sensitivity
(bias field), and Rician noise, whose floor greys the background. Either may carry a viewer's
corner text.
"""

from __future__ import annotations

import numpy as np

from fracdet_core.synth.out_of_scope.frame import ellipse, frame_size, grid, paint, smooth_noise, text_mask, words
from fracdet_core.synth.out_of_scope.section import Layer, sample_section

HOUNSFIELD = {"fat": -100.0, "muscle": 45.0, "lung": -850.0, "blood": 40.0, "heart": 40.0, "bone_cortex": 900.0,
              "bone_trabecular": 250.0, "liver": 60.0, "spleen": 50.0, "kidney": 35.0, "bowel": 25.0,
              "bowel_gas": -950.0, "csf": 5.0, "grey_matter": 40.0, "white_matter": 28.0}
# (T1, T2) weighted intensities in [0, 1].
MR_INTENSITY = {"fat": (0.9, 0.75), "muscle": (0.35, 0.2), "lung": (0.03, 0.03), "blood": (0.1, 0.05),
                "heart": (0.4, 0.3), "bone_cortex": (0.04, 0.03), "bone_trabecular": (0.6, 0.5), "liver": (0.5, 0.2),
                "spleen": (0.4, 0.45), "kidney": (0.38, 0.55), "bowel": (0.35, 0.5), "bowel_gas": (0.02, 0.02),
                "csf": (0.12, 0.95), "grey_matter": (0.45, 0.6), "white_matter": (0.62, 0.42)}
# (level, width) in HU of the windows a reader picks, per region.
_CT_WINDOWS = {"thorax": ((40, 400), (-600, 1500)), "abdomen": ((50, 400), (40, 350)), "head": ((40, 80), (500, 2000))}


def ct_frame(rng: np.random.Generator, size: int) -> np.ndarray:
    """A CT slice as display grey levels, float32 (height, width) in [0, 1]."""
    width, height = frame_size(rng, size)
    region, layers = sample_section(rng, width, height)
    hounsfield = _composite(layers, (height, width), HOUNSFIELD, -1000.0)
    hounsfield += _table(rng, (height, width))
    hounsfield += rng.uniform(6.0, 25.0) * smooth_noise(rng, (height, width), rng.uniform(0.6, 1.4))
    level, window = _CT_WINDOWS[region][int(rng.random() < 0.3)]
    grey = np.clip((hounsfield - (level - window / 2)) / window, 0.0, 1.0)
    grey *= ellipse((height, width), (width / 2, height / 2), (min(width, height) * 0.5,) * 2, edge=0.5)  # field of view
    return _corner_text(rng, grey, ("CT", f"W {window} L {level}", f"{rng.uniform(0.6, 5):.1f} mm"))


def mr_frame(rng: np.random.Generator, size: int) -> np.ndarray:
    """An MR slice as display grey levels, float32 (height, width) in [0, 1]."""
    width, height = frame_size(rng, size)
    _, layers = sample_section(rng, width, height)
    weighting = int(rng.random() < 0.5)  # 0: T1, 1: T2
    intensity = _composite(layers, (height, width), {name: pair[weighting] for name, pair in MR_INTENSITY.items()}, 0.0)
    x, y = grid(height, width)
    tilt = rng.uniform(-0.35, 0.35, size=2)
    bias = 1.0 + tilt[0] * (x / width - 0.5) + tilt[1] * (y / height - 0.5) + 0.1 * smooth_noise(rng, (height, width), width / 6)
    sigma = rng.uniform(0.015, 0.05)
    real = intensity * bias + sigma * rng.standard_normal((height, width), dtype=np.float32)
    magnitude = np.sqrt(real**2 + (sigma * rng.standard_normal((height, width), dtype=np.float32)) ** 2)
    grey = np.clip(magnitude / max(float(np.percentile(magnitude, 99.5)), 1e-3), 0.0, 1.0)
    return _corner_text(rng, grey, ("MR", "T2 TSE" if weighting else "T1 SE", f"TR {rng.integers(400, 5000)}"))


def _composite(layers: list[Layer], shape: tuple[int, int], values: dict[str, float], background: float) -> np.ndarray:
    image = np.full(shape, background, np.float32)
    for mask, tissue in layers:
        paint(image, mask, values[tissue])
    return image


def _table(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """The patient table: a shallow bright arc under the body, in HU above air."""
    height, width = shape
    top = height * rng.uniform(0.84, 0.92)
    outer = ellipse(shape, (width / 2, top + width), (width * 1.1, width), edge=1.0)
    inner = ellipse(shape, (width / 2, top + width + height * 0.012), (width * 1.1, width), edge=1.0)
    return (outer - inner) * 1200.0


def _corner_text(rng: np.random.Generator, grey: np.ndarray, facts: tuple[str, ...]) -> np.ndarray:
    """A viewer's annotations in the corners, white, on three frames in five."""
    if rng.random() >= 0.6:
        return grey.astype(np.float32)
    height, width = grey.shape
    size = max(7.0, min(width, height) * 0.03)
    lines = [((size * 0.5, size * (0.5 + 1.3 * k)), text, size) for k, text in enumerate(facts)]
    lines.append(((width * 0.62, height - size * 2.0), words(rng, 2), size))
    return np.maximum(grey, text_mask(grey.shape, lines) * rng.uniform(0.7, 1.0)).astype(np.float32)
