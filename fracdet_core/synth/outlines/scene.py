"""One outlines study: the skeleton placed on the film, its fractures, and its exposure.

`sample_scene` draws everything random about an image up front, so rendering is a pure function
of the scene, and the same scene without its fractures renders to the same pixels away from the
breaks: how the tests check that each fracture's box holds what changed.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import numpy as np

from fracdet_core.synth.outlines.anatomy import LAYOUTS
from fracdet_core.synth.outlines.exposure import Exposure, sample_exposure
from fracdet_core.synth.outlines.fractures import Fracture, sample_fractures
from fracdet_core.synth.outlines.shapes import Placement, pixel_scale
from fracdet_core.synth.outlines.skeleton import Skeleton
from fracdet_core.synth.radiograph import Box

# Film formats as height over width of a portrait cassette (8x10", 10x12", 14x17", 18x24 cm, 24x30 cm).
_CASSETTE_ASPECTS = (0.8, 0.833, 0.824, 0.75, 0.8)
_LANDSCAPE_SHARE = {"ELBOW": 0.45, "FINGER": 0.1, "FOREARM": 0.1, "HAND": 0.15, "SHOULDER": 0.65}
_FILM_MARGIN = 8.0  # pixels at 512 px a break keeps inside the field's edge (its penumbra, the plate's blur)
_ZOOM = {"ELBOW": (1.1, 1.4), "FINGER": (0.9, 1.1), "FOREARM": (0.88, 1.0), "HAND": (0.88, 1.04), "SHOULDER": (0.82, 1.02)}


@dataclasses.dataclass(frozen=True)
class OutlineScene:
    """Everything needed to render one image and label it; positions in pixels."""

    body_part: str
    width: int
    height: int
    skeleton: Skeleton
    fractures: tuple[Fracture, ...]
    exposure: Exposure

    def fracture_boxes(self) -> list[Box]:
        return [f.box(self.skeleton.bones[f.bone_index], self.width, self.height) for f in self.fractures]

    def examined_box(self) -> Box:
        """Around the examined part of each examined bone, clipped to the image."""
        points = []
        for bone in self.skeleton.bones:
            if bone.examined_span is None:
                continue
            outline = bone.outline_points()
            positions = bone.positions(outline)
            low, high = bone.examined_span
            points.append(outline[(positions >= low - 1e-9) & (positions <= high + 1e-9)])
        every = np.concatenate(points)
        (xmin, ymin), (xmax, ymax) = every.min(axis=0), every.max(axis=0)
        return (max(float(xmin), 0.0), max(float(ymin), 0.0), min(float(xmax), float(self.width)),
                min(float(ymax), float(self.height)))

    def without_fractures(self) -> OutlineScene:
        return dataclasses.replace(self, fractures=())


def sample_scene(rng: np.random.Generator, body_part: str, fractured: bool, size: int) -> OutlineScene:
    """Draw a study of `body_part` whose longer side is `size` pixels, with one to three fractures if `fractured`."""
    aspect = float(rng.choice(_CASSETTE_ASPECTS)) * rng.uniform(0.98, 1.02)
    landscape = rng.random() < _LANDSCAPE_SHARE[body_part]
    width, height = (size, round(size * aspect)) if landscape else (round(size * aspect), size)
    short = min(width, height)
    mirror = bool(rng.random() < 0.5)
    skeleton = LAYOUTS[body_part](rng)
    # The film first: a break under the collimator, the marker or the burnt-in text would not show.
    exposure = sample_exposure(rng, width, height, "R" if mirror else "L", skeleton.view)
    while True:
        tilt = rng.normal(0.0, 4.0) if rng.random() < 0.8 else rng.choice([-1.0, 1.0]) * rng.uniform(10.0, 22.0)
        turn = np.pi / 2 if landscape and body_part in ("FINGER", "FOREARM", "HAND") else 0.0
        placement = Placement(
            scale=short * rng.uniform(*_ZOOM[body_part]),
            angle=turn + float(np.radians(tilt)),
            centre=(width / 2 + rng.uniform(-0.04, 0.04) * width, height / 2 + rng.uniform(-0.04, 0.04) * height),
            mirror=mirror,
        )
        placed = skeleton.placed(placement)
        shows = _shows(exposure, width, height)
        fractures = sample_fractures(rng, placed, width, height, shows) if fractured else ()
        if fractures or not fractured:
            break
    return OutlineScene(body_part, width, height, placed, fractures, exposure)


def film_shows(scene: OutlineScene) -> Callable[[np.ndarray], np.ndarray]:
    """Whether (N, 2) points (x, y, pixels) show on this study's film: inside the field, off the marker and text."""
    return _shows(scene.exposure, scene.width, scene.height)


def _shows(exposure: Exposure, width: int, height: int) -> Callable[[np.ndarray], np.ndarray]:
    return functools.partial(exposure.clear, margin=_FILM_MARGIN * pixel_scale(width, height), short_side=min(width, height))
