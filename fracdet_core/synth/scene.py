"""One synthetic study: anatomy placed in the image, its fractures, and how it was exposed.

`sample_scene` draws everything random about an image up front, so that rendering is a pure
function of the scene: the same scene without its fractures renders to the same pixels except
at the breaks, which is how the tests check that each fracture box covers what changed.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from fracdet_core.synth.anatomy import LAYOUTS, Anatomy
from fracdet_core.synth.primitives import Point, Shaft, Similarity, rotate_point

Box = tuple[float, float, float, float]  # (xmin, ymin, xmax, ymax), pixels

_MAX_FRACTURES = 3
_FRACTURE_COUNT_ODDS = (0.72, 0.22, 0.06)  # one, two, three fractures on a positive study


@dataclasses.dataclass(frozen=True)
class Fracture:
    """A break through a tubular bone.

    Attributes:
        bone_index: index into the scene's `anatomy.bones` (always a `Shaft`).
        t: position of the break along the bone's axis (0 = start, 1 = end).
        line: the jagged break line, pixels (x, y), crossing the whole bone.
        width: width of the dark gap, pixels.
        shift: displacement of the distal piece, pixels (x, y).
        angulation: rotation of the distal piece about the break point, radians.
    """

    bone_index: int
    t: float
    line: tuple[Point, ...]
    width: float
    shift: Point
    angulation: float

    def break_point(self, bone: Shaft) -> Point:
        return bone.axis_point(self.t)

    def move_distal(self, point: Point, bone: Shaft) -> Point:
        """Where a point of the distal piece ends up after angulation and displacement."""
        rotated = rotate_point(point, self.angulation, self.break_point(bone))
        return (rotated[0] + self.shift[0], rotated[1] + self.shift[1])

    def box(self, bone: Shaft, width: int, height: int) -> Box:
        """The labelled box: tight around the break and its displaced edge, with a small margin."""
        points = np.array(list(self.line) + [self.move_distal(p, bone) for p in self.line])
        margin = max(3.0, 0.3 * float(bone.radius_at(self.t)))
        xmin, ymin = points.min(axis=0) - margin
        xmax, ymax = points.max(axis=0) + margin
        return (max(xmin, 0.0), max(ymin, 0.0), min(xmax, float(width)), min(ymax, float(height)))


@dataclasses.dataclass(frozen=True)
class Acquisition:
    """Exposure, detector and display settings of one radiograph.

    Attributes:
        photons: mean photon count per pixel with nothing in the beam (sets quantum noise).
        blur: detector and focal-spot blur, Gaussian sigma in pixels.
        window: (low, high) signal mapped to black and white on display.
        gamma: display gamma applied after windowing.
        grain: standard deviation of film grain on the [0, 1] display scale.
        collimation: (xmin, ymin, xmax, ymax) of the exposed field, pixels.
        marker_text: the lead side marker, "L" or "R".
        marker_box: (xmin, ymin, xmax, ymax) of the marker, pixels.
        noise_seed: seed of every noise field, so renders of the same scene match.
    """

    photons: float
    blur: float
    window: tuple[float, float]
    gamma: float
    grain: float
    collimation: Box
    marker_text: str
    marker_box: Box
    noise_seed: int


@dataclasses.dataclass(frozen=True)
class Scene:
    """Everything needed to render one image and label it."""

    body_part: str
    width: int
    height: int
    anatomy: Anatomy
    fractures: tuple[Fracture, ...]
    acquisition: Acquisition

    def fracture_boxes(self) -> list[Box]:
        return [f.box(self.anatomy.bones[f.bone_index], self.width, self.height) for f in self.fractures]  # type: ignore[arg-type]

    def examined_box(self) -> Box:
        """The region of the bones a study of this body part examines, clipped to the image."""
        bounds = np.array([bone.examined_bounds() for bone in self.anatomy.bones if bone.examined])
        xmin, ymin = bounds[:, 0].min(), bounds[:, 1].min()
        xmax, ymax = bounds[:, 2].max(), bounds[:, 3].max()
        return (max(xmin, 0.0), max(ymin, 0.0), min(xmax, float(self.width)), min(ymax, float(self.height)))

    def without_fractures(self) -> Scene:
        return dataclasses.replace(self, fractures=())


def sample_scene(rng: np.random.Generator, body_part: str, fractured: bool, size: int) -> Scene:
    """Draw a study of `body_part` whose longer image side is `size` pixels.

    A fractured study has one to three fractures on distinct bones, each inside the image.
    """
    aspect = rng.uniform(0.78, 1.0)
    width, height = (size, round(size * aspect)) if rng.random() < 0.35 else (round(size * aspect), size)
    short_side = min(width, height)
    mirror = bool(rng.random() < 0.5)
    while True:
        transform = Similarity(
            scale=short_side * rng.uniform(0.85, 1.12),
            angle=np.radians(rng.normal(0.0, 6.0)),
            center_from=(0.5, 0.5),
            center_to=(width / 2 + rng.uniform(-0.05, 0.05) * width, height / 2 + rng.uniform(-0.05, 0.05) * height),
            mirror=mirror,
        )
        anatomy = LAYOUTS[body_part](rng).transformed(transform)
        fractures = _sample_fractures(rng, anatomy, width, height) if fractured else ()
        if fractures is not None:
            break
    acquisition = sample_acquisition(rng, width, height, "R" if mirror else "L")
    return Scene(body_part, width, height, anatomy, fractures, acquisition)


def _sample_fractures(
    rng: np.random.Generator, anatomy: Anatomy, width: int, height: int
) -> tuple[Fracture, ...] | None:
    """One to three fractures on distinct visible bones, or None if this layout has no room."""
    wanted = int(rng.choice(np.arange(1, _MAX_FRACTURES + 1), p=_FRACTURE_COUNT_ODDS))
    inset = 0.06 * min(width, height)
    candidates = [i for i, bone in enumerate(anatomy.bones) if isinstance(bone, Shaft) and bone.fracture_span]
    fractures: list[Fracture] = []
    for bone_index in rng.permutation(candidates):
        bone = anatomy.bones[int(bone_index)]
        assert isinstance(bone, Shaft) and bone.fracture_span is not None
        t = float(rng.uniform(*bone.fracture_span))
        x, y = bone.axis_point(t)
        if inset <= x <= width - inset and inset <= y <= height - inset:
            fractures.append(_sample_fracture(rng, int(bone_index), bone, t))
        if len(fractures) == wanted:
            break
    return tuple(fractures) or None


def _sample_fracture(rng: np.random.Generator, bone_index: int, bone: Shaft, t: float) -> Fracture:
    radius = float(bone.radius_at(t))
    axis = bone.axis_angle()
    obliquity = rng.uniform(-0.6, 0.6) if rng.random() < 0.6 else rng.normal(0.0, 0.1)
    across = axis + np.pi / 2 + obliquity
    half_span = 1.1 * radius / max(np.cos(obliquity), 0.5)
    center = bone.axis_point(t)
    offsets = np.linspace(-half_span, half_span, int(rng.integers(6, 11)))
    jitter = rng.normal(0.0, 0.1 * radius, size=offsets.shape)
    line = tuple(
        (
            center[0] + o * np.cos(across) + j * np.cos(axis),
            center[1] + o * np.sin(across) + j * np.sin(axis),
        )
        for o, j in zip(offsets, jitter, strict=True)
    )
    displaced = rng.random() < 0.4
    shift_size = rng.uniform(0.15, 0.6) * radius if displaced else 0.0
    shift_angle = axis + np.pi / 2 * rng.choice([-1.0, 1.0])
    angulation = float(rng.normal(0.0, np.radians(6.0))) if displaced and rng.random() < 0.5 else 0.0
    return Fracture(
        bone_index=bone_index,
        t=t,
        line=line,
        width=float(rng.uniform(0.8, 2.2)) * max(1.0, min(bone.radius / 12.0, 2.0)),
        shift=(shift_size * np.cos(shift_angle), shift_size * np.sin(shift_angle)),
        angulation=angulation,
    )


def sample_acquisition(rng: np.random.Generator, width: int, height: int, marker_text: str) -> Acquisition:
    """Draw the exposure, the collimation and the side marker of a `width` x `height` film (the out-of-scope films share it)."""
    short_side = min(width, height)
    collimation = [0.0, 0.0, float(width), float(height)]
    if rng.random() < 0.65:
        for side in range(4):
            if rng.random() < 0.6:
                inset = rng.uniform(0.02, 0.09) * (width if side % 2 == 0 else height)
                collimation[side] = collimation[side] + inset if side < 2 else collimation[side] - inset
    marker_size = rng.uniform(0.045, 0.07) * short_side
    left = rng.random() < 0.5
    top = rng.random() < 0.5
    pad = 0.02 * short_side
    x0 = collimation[0] + pad if left else collimation[2] - pad - marker_size
    y0 = collimation[1] + pad if top else collimation[3] - pad - marker_size
    low = rng.uniform(-0.05, 0.1)
    return Acquisition(
        photons=float(rng.uniform(250.0, 3000.0)),
        blur=float(rng.uniform(0.5, 1.1)),
        window=(low, low + rng.uniform(1.6, 2.6)),
        gamma=float(rng.uniform(0.7, 1.3)),
        grain=float(rng.uniform(0.006, 0.02)),
        collimation=tuple(collimation),  # type: ignore[arg-type]
        marker_text=marker_text,
        marker_box=(x0, y0, x0 + marker_size, y0 + marker_size),
        noise_seed=int(rng.integers(0, 2**31 - 1)),
    )
