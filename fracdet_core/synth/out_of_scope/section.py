"""A body cross-section as tissues painted in order: what the CT- and MR-like frames both show.

A section is a list of (mask, tissue) layers over a frame, each mask float32 in [0, 1]; a later
layer covers the earlier ones. CT (`tomography.ct_frame`) maps each tissue to Hounsfield units,
MR (`tomography.mr_frame`) to a T1- or T2-weighted intensity, so the two modalities show the same
anatomy with their own contrast. Regions: the thorax (lungs, heart, aorta, vertebra, ribs), the
abdomen (liver, spleen, kidneys, aorta, bowel with gas, vertebra) and the head (scalp, skull,
grey and white matter, ventricles).
"""

from __future__ import annotations

import numpy as np

from fracdet_core.synth.out_of_scope.frame import ellipse, smooth_noise

Layer = tuple[np.ndarray, str]
REGIONS = ("thorax", "abdomen", "head")


def sample_section(rng: np.random.Generator, width: int, height: int) -> tuple[str, list[Layer]]:
    """A region and its layers for a `width` x `height` frame, the body filling most of the field of view."""
    region = str(rng.choice(REGIONS))
    shape = (height, width)
    short = min(width, height)
    center = (width / 2 + rng.uniform(-0.04, 0.04) * short, height / 2 + rng.uniform(-0.03, 0.06) * short)
    if region == "head":
        return region, _head(rng, shape, center, short * rng.uniform(0.33, 0.42))
    radii = (short * rng.uniform(0.38, 0.46), short * rng.uniform(0.26, 0.33))
    body = [(ellipse(shape, center, radii, edge=1.5), "fat"),
            (ellipse(shape, center, (radii[0] * 0.9, radii[1] * 0.86)), "muscle")]
    inner = _thorax if region == "thorax" else _abdomen
    return region, body + inner(rng, shape, center, radii) + _vertebra(shape, (center[0], center[1] + radii[1] * 0.45), radii)


def _thorax(rng: np.random.Generator, shape: tuple[int, int], center: tuple[float, float],
            radii: tuple[float, float]) -> list[Layer]:
    rx, ry = radii
    layers = [(ellipse(shape, (center[0] + side * rx * 0.42, center[1] - ry * 0.05), (rx * 0.36, ry * 0.62), side * 0.2), "lung")
              for side in (-1.0, 1.0)]
    vessels = np.zeros(shape, np.float32)
    for _ in range(int(rng.integers(20, 40))):
        side = rng.choice([-1.0, 1.0])
        spot = (center[0] + side * rx * rng.uniform(0.15, 0.65), center[1] + ry * rng.uniform(-0.5, 0.4))
        vessels = np.maximum(vessels, ellipse(shape, spot, (rx * rng.uniform(0.01, 0.03),) * 2) * (1.0 - vessels))
    layers.append((vessels * (layers[0][0] + layers[1][0]), "blood"))
    layers.append((ellipse(shape, (center[0] + rx * 0.08, center[1] - ry * 0.05), (rx * 0.28, ry * 0.42), 0.5), "heart"))
    layers.append((ellipse(shape, (center[0] - rx * 0.06, center[1] + ry * 0.35), (rx * 0.07, rx * 0.07)), "blood"))
    for angle in np.linspace(0.0, 2 * np.pi, 18, endpoint=False):  # ribs cut across, around the chest wall
        if min(abs(angle - np.pi / 2), abs(angle - 3 * np.pi / 2)) > 0.45:  # none at the spine or the sternum
            spot = (center[0] + rx * 0.88 * np.cos(angle), center[1] + ry * 0.86 * np.sin(angle))
            layers.append((ellipse(shape, spot, (rx * 0.035, ry * 0.03), angle), "bone_cortex"))
    layers.append((ellipse(shape, (center[0], center[1] - ry * 0.85), (rx * 0.07, ry * 0.05)), "bone_cortex"))  # sternum
    return layers


def _abdomen(rng: np.random.Generator, shape: tuple[int, int], center: tuple[float, float],
             radii: tuple[float, float]) -> list[Layer]:
    rx, ry = radii
    layers = [
        (ellipse(shape, (center[0] - rx * 0.38, center[1] - ry * 0.05), (rx * 0.45, ry * 0.6), 0.3), "liver"),
        (ellipse(shape, (center[0] + rx * 0.55, center[1] + ry * 0.15), (rx * 0.18, ry * 0.35), -0.5), "spleen"),
    ]
    for side in (-1.0, 1.0):
        kidney = (center[0] + side * rx * 0.3, center[1] + ry * 0.35)
        layers.append((ellipse(shape, kidney, (rx * 0.12, ry * 0.2), side * 0.6), "kidney"))
    for _ in range(int(rng.integers(5, 12))):  # bowel loops, some holding gas
        spot = (center[0] + rx * rng.uniform(-0.2, 0.5), center[1] + ry * rng.uniform(-0.6, 0.1))
        loop = ellipse(shape, spot, (rx * rng.uniform(0.05, 0.11), ry * rng.uniform(0.05, 0.12)), rng.uniform(0, np.pi))
        layers.append((loop, "bowel_gas" if rng.random() < 0.4 else "bowel"))
    layers.append((ellipse(shape, (center[0] - rx * 0.05, center[1] + ry * 0.25), (rx * 0.05, rx * 0.05)), "blood"))
    return layers


def _vertebra(shape: tuple[int, int], center: tuple[float, float], radii: tuple[float, float]) -> list[Layer]:
    size = radii[0] * 0.11
    body = (center[0], center[1] - size * 0.4)
    canal = (center[0], center[1] + size * 1.0)
    return [
        (ellipse(shape, body, (size, size * 0.85)), "bone_cortex"),
        (ellipse(shape, body, (size * 0.82, size * 0.68)), "bone_trabecular"),
        (ellipse(shape, (center[0], center[1] + size * 1.2), (size * 0.9, size * 0.75)), "bone_cortex"),
        (ellipse(shape, canal, (size * 0.42, size * 0.38)), "csf"),
        (ellipse(shape, (center[0], center[1] + size * 2.1), (size * 0.2, size * 0.6)), "bone_cortex"),
    ]


def _head(rng: np.random.Generator, shape: tuple[int, int], center: tuple[float, float], radius: float) -> list[Layer]:
    radii = (radius * rng.uniform(0.78, 0.86), radius)
    inner = (radii[0] * 0.86, radii[1] * 0.88)
    cortex_distance = _distance_inside(shape, center, inner)
    folds = smooth_noise(rng, shape, radius * 0.04)
    white = ((cortex_distance > 0.12 + 0.05 * folds) & (cortex_distance < 0.85)).astype(np.float32)
    layers = [
        (ellipse(shape, center, radii, edge=1.5), "fat"),
        (ellipse(shape, center, (radii[0] * 0.95, radii[1] * 0.96)), "bone_cortex"),
        (ellipse(shape, center, inner), "grey_matter"),
        (white * ellipse(shape, center, inner), "white_matter"),
    ]
    for side in (-1.0, 1.0):  # lateral ventricles
        spot = (center[0] + side * radius * 0.1, center[1] + radius * rng.uniform(-0.1, 0.05))
        layers.append((ellipse(shape, spot, (radius * 0.06, radius * 0.3), side * 0.15), "csf"))
    return layers


def _distance_inside(shape: tuple[int, int], center: tuple[float, float], radii: tuple[float, float]) -> np.ndarray:
    """1 at the ellipse's centre falling to 0 at its edge (negative outside)."""
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    u, v = (xs + 0.5 - center[0]) / radii[0], (ys + 0.5 - center[1]) / radii[1]
    return 1.0 - np.sqrt(u * u + v * v)
