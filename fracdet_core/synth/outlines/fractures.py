"""Fractures as a radiologist describes them: where (a named site, near a joint or not) and of which kind.

Kinds, and what each looks like on the film:

- ``hairline``: a lucent line one pixel wide (at 512 px), crossing the whole bone or only the
  near cortex and part of the medulla (an incomplete fracture); the bone is otherwise intact.
- ``crack``: an undisplaced complete fracture, a jagged lucent line two or three pixels wide.
- ``displaced``: the fragment on the joint's side steps off across the bone, angulates, and
  distracts (a gap) or overrides (the fragments overlap, a dense band).
- ``impacted``: the fragments are driven into each other: a dense band where they overlap.
- ``buckle``: a torus fracture: the cortex bulges out on one or both sides, with a faint dense band
  across the bone and no lucent line.
- ``avulsion``: a small fragment pulled off the bone's edge at a tuberosity or a joint's margin,
  separated by a thin gap.

Sites come from the layout (`FractureSite`); a share `JOINT_NEAR_SHARE` of fractures lie at sites
next to a joint, where bones overlap in projection. Positions are pixels (x, y).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from types import MappingProxyType

import numpy as np

from fracdet_core.synth.outlines.shapes import inside, pixel_scale
from fracdet_core.synth.outlines.skeleton import Bone, FractureSite, Skeleton
from fracdet_core.synth.radiograph import Box

# Relative odds of the kinds a site allows; most sites allow only the first three, so the rarer
# kinds are rarer still (the shares measured are in docs/data-and-ingest.md).
KIND_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {"hairline": 0.3, "crack": 0.18, "displaced": 0.22, "impacted": 0.12, "buckle": 0.1, "avulsion": 0.08}
)
KINDS = tuple(KIND_WEIGHTS)
JOINT_NEAR_SHARE = 0.6  # of fractures, at sites next to a joint, in every body part that has such sites
_COUNT_ODDS = (0.75, 0.2, 0.05)  # one, two or three fractures on a positive study


@dataclasses.dataclass(frozen=True)
class Bulge:
    """A torus fracture's bulge of one cortex: where, which way, how long and high (pixels)."""

    centre: np.ndarray  # (2,), on the bone's edge
    along: np.ndarray  # (2,), unit, along the bone
    outward: np.ndarray  # (2,), unit, away from the bone
    length: float
    height: float


@dataclasses.dataclass(frozen=True)
class Fracture:
    """One fracture of one bone.

    Attributes:
        site: the site's name; `joint_near` whether it lies next to a joint.
        kind: one of `KINDS`.
        bone_index: index into the skeleton's bones.
        line: (K, 2) the break line as drawn; for an avulsion, the fragment's inner edge.
        gap: width of the lucent line, pixels (1 for a hairline); 0 draws none.
        depth: share of the bone's attenuation the line removes; negative adds (a sclerotic band).
        fragment: closed outline (N, 2) of the region whose bone moves, or None if none does.
        pivot: (2,) the point the fragment turns about.
        shift: (2,) the fragment's displacement, pixels.
        rotation: the fragment's turn about `pivot`, radians.
        bulges: torus bulges of the cortex.
        half_width: the bone's half-width across the break, pixels (sets the box's margin).
    """

    site: str
    joint_near: bool
    kind: str
    bone_index: int
    line: np.ndarray
    gap: int
    depth: float
    fragment: np.ndarray | None
    pivot: np.ndarray
    shift: np.ndarray
    rotation: float
    bulges: tuple[Bulge, ...]
    half_width: float

    def move(self, points: np.ndarray) -> np.ndarray:
        """Where (N, 2) points of the fragment end up."""
        cos, sin = np.cos(self.rotation), np.sin(self.rotation)
        local = points - self.pivot
        return local @ np.array([[cos, sin], [-sin, cos]]) + self.pivot + self.shift

    def box(self, bone: Bone, width: int, height: int) -> Box:
        """Tight around the visible break, the fragment's moved edge and any bulge, with a small margin."""
        if self.kind == "avulsion":
            assert self.fragment is not None
            piece = self.fragment[_inside_bone(self.fragment, bone)]
            points = np.concatenate([piece, self.move(piece), self.line])
        else:
            points = np.concatenate([self.line, self.move(self.line)]) if self.fragment is not None else self.line
        for bulge in self.bulges:
            ends = [bulge.centre + sign * bulge.along * bulge.length for sign in (-1, 1)]
            points = np.concatenate([points, ends, [bulge.centre + bulge.outward * bulge.height]])
        margin = max(3.0, 0.2 * self.half_width)
        xmin, ymin = points.min(axis=0) - margin
        xmax, ymax = points.max(axis=0) + margin
        return (max(float(xmin), 0.0), max(float(ymin), 0.0), min(float(xmax), float(width)), min(float(ymax), float(height)))


def sample_fractures(rng: np.random.Generator, skeleton: Skeleton, width: int, height: int,
                     shows: Callable[[np.ndarray], np.ndarray] | None = None) -> tuple[Fracture, ...]:
    """One to three fractures on distinct bones, each inside the image; empty if the view leaves no room.

    `shows` tells whether (N, 2) points (x, y, pixels) show on the film (`Exposure.clear`): a break
    whose ends it rejects is not drawn there, since nothing under the collimator or the marker shows.
    """
    wanted = int(rng.choice(np.arange(1, len(_COUNT_ODDS) + 1), p=_COUNT_ODDS))
    scale = pixel_scale(width, height)
    inset = 0.05 * min(width, height)
    fractures: list[Fracture] = []
    used: set[str] = set()
    for _ in range(wanted):
        near = bool(rng.random() < JOINT_NEAR_SHARE)
        groups = [[site for site in skeleton.sites if site.joint_near == wanted_near] for wanted_near in (near, not near)]
        fracture = None
        for group in groups:
            for index in rng.permutation(len(group)):
                site = group[int(index)]
                if site.bone in used:
                    continue
                fracture = _sample_fracture(rng, skeleton, site, scale, (inset, width - inset, inset, height - inset), shows)
                if fracture is not None:
                    break
            if fracture is not None:
                break
        if fracture is None:
            break
        fractures.append(fracture)
        used.add(skeleton.bones[fracture.bone_index].name)
    return tuple(fractures)


@dataclasses.dataclass(frozen=True)
class _Crossing:
    """Where a break crosses its bone: from `near` to `far` (the bone's edges; an incomplete break starts at `near`)."""

    near: np.ndarray
    far: np.ndarray
    along: np.ndarray  # unit, along the bone
    across: np.ndarray  # unit, along the break before obliquity's jitter
    toward_fragment: np.ndarray  # unit, from the break into the piece that moves
    bone_length: float
    scale: float  # `shapes.pixel_scale`

    @property
    def half_width(self) -> float:
        return float(np.linalg.norm(self.far - self.near)) / 2


def _sample_fracture(
    rng: np.random.Generator, skeleton: Skeleton, site: FractureSite, scale: float, limits: tuple[float, float, float, float],
    shows: Callable[[np.ndarray], np.ndarray] | None = None,
) -> Fracture | None:
    """A fracture at `site`, or None if the break would lie outside `limits` (x0, x1, y0, y1), off the film, or miss the bone."""
    bone_index = skeleton.bone_index(site.bone)
    bone = skeleton.bones[bone_index]
    weights = np.array([KIND_WEIGHTS[kind] for kind in site.kinds])
    kind = str(rng.choice(site.kinds, p=weights / weights.sum()))
    along = bone.direction()
    transverse = kind in ("impacted", "buckle") or rng.random() < 0.4
    across = _turn(along, np.pi / 2 + (rng.normal(0.0, 0.1) if transverse else rng.uniform(-0.55, 0.55)))
    chord = _chord(bone, bone.axis_point(rng.uniform(*site.span)), across)
    if chord is None:
        return None
    near, far = chord if rng.random() < 0.5 else chord[::-1]
    centre = (near + far) / 2
    x0, x1, y0, y1 = limits
    if not (x0 <= centre[0] <= x1 and y0 <= centre[1] <= y1) or np.linalg.norm(far - near) < 3.0:
        return None
    if shows is not None and not shows(np.stack([near, far])).all():
        return None
    crossing = _Crossing(near, far, along, across, along if site.fragment_end == "end" else -along,
                         float(np.linalg.norm(bone.axis[1] - bone.axis[0])), scale)
    drawn = {"pivot": centre, "shift": np.zeros(2), "rotation": 0.0, "bulges": (), "fragment": None}
    drawn |= _KIND_DRAWINGS[kind](rng, crossing)
    return Fracture(site=site.name, joint_near=site.joint_near, kind=kind, bone_index=bone_index, half_width=crossing.half_width,
                    **drawn)


def _hairline(rng: np.random.Generator, crossing: _Crossing) -> dict:
    """One pixel wide, across the whole bone or (half the time) the near cortex and part of the medulla."""
    reach = 1.0 if rng.random() < 0.5 else rng.uniform(0.3, 0.6)
    end = crossing.near + (crossing.far - crossing.near) * reach
    line = _break_line(rng, crossing.near, end, jitter=0.35, overshoot=(1.0, 1.0 if reach == 1.0 else 0.0))
    return {"line": line, "gap": 1, "depth": rng.uniform(0.55, 0.9)}


def _crack(rng: np.random.Generator, crossing: _Crossing) -> dict:
    line = _break_line(rng, crossing.near, crossing.far, jitter=0.8)
    return {"line": line, "gap": _pixels(rng.choice([2, 3]), crossing.scale), "depth": rng.uniform(0.7, 0.95)}


def _displaced(rng: np.random.Generator, crossing: _Crossing) -> dict:
    """Step-off across the bone, angulation, and a gap or (more often) overriding fragments."""
    step = rng.choice([-1.0, 1.0]) * rng.uniform(0.15, 0.7) * crossing.half_width
    travel = rng.uniform(-0.35, 0.15) * crossing.half_width  # negative: the fragments override
    turn = float(np.clip(rng.normal(0.0, np.radians(7.0)), -0.26, 0.26)) if rng.random() < 0.6 else 0.0
    return _moved(rng, crossing, step, travel, turn) | {
        "gap": _pixels(rng.choice([1, 2]), crossing.scale), "depth": rng.uniform(0.5, 0.9),
    }


def _impacted(rng: np.random.Generator, crossing: _Crossing) -> dict:
    """The fragment driven a few pixels into the other: a dense band where they overlap."""
    step = rng.normal(0.0, 0.05) * crossing.half_width
    travel = -rng.uniform(1.5, 4.0) * crossing.scale
    turn = float(rng.normal(0.0, np.radians(2.0)))
    return _moved(rng, crossing, step, travel, turn) | {"gap": 1, "depth": rng.uniform(0.2, 0.5)}


def _moved(rng: np.random.Generator, crossing: _Crossing, step: float, travel: float, turn: float) -> dict:
    line = _break_line(rng, crossing.near, crossing.far, jitter=0.8)
    region = _side_region(line, crossing.toward_fragment, crossing.half_width, reach=4.0 * crossing.bone_length)
    return {"line": line, "fragment": region, "rotation": turn,
            "shift": crossing.across * step + crossing.toward_fragment * travel}


def _buckle(rng: np.random.Generator, crossing: _Crossing) -> dict:
    """A faint dense band across the bone and the cortex bulging out on one side or both."""
    outward = (crossing.near - crossing.far) / np.linalg.norm(crossing.near - crossing.far)
    sides = [(crossing.near, outward), (crossing.far, -outward)]
    bulges = tuple(
        Bulge(point, crossing.along, direction, length=rng.uniform(0.4, 0.9) * crossing.half_width,
              height=rng.uniform(1.0, 2.5) * crossing.scale)
        for point, direction in (sides if rng.random() < 0.6 else sides[:1])
    )
    line = _break_line(rng, crossing.near, crossing.far, jitter=0.5)
    return {"line": line, "gap": _pixels(2, crossing.scale), "depth": -rng.uniform(0.15, 0.3), "bulges": bulges}


def _avulsion(rng: np.random.Generator, crossing: _Crossing) -> dict:
    """A cap of bone at one edge, pulled outward and turned; `line` marks where it left the bone."""
    edge, along = crossing.near, crossing.along
    outward = (crossing.near - crossing.far) / np.linalg.norm(crossing.near - crossing.far)
    length, depth = rng.uniform(0.25, 0.5) * crossing.half_width, rng.uniform(0.2, 0.4) * crossing.half_width
    theta = np.linspace(0.0, 2 * np.pi, 24, endpoint=False)[:, None]
    fragment = edge + along * length * np.cos(theta) + outward * depth * np.sin(theta)
    base = edge + np.array([-along * length - outward * depth * 0.2, -outward * depth, along * length - outward * depth * 0.2])
    shift = (outward * rng.uniform(1.5, 5.0) + along * rng.normal(0.0, 1.5)) * crossing.scale
    return {"line": base, "gap": 0, "depth": 0.0, "fragment": fragment, "pivot": edge, "shift": shift,
            "rotation": float(rng.normal(0.0, np.radians(15.0)))}


_KIND_DRAWINGS = {
    "hairline": _hairline,
    "crack": _crack,
    "displaced": _displaced,
    "impacted": _impacted,
    "buckle": _buckle,
    "avulsion": _avulsion,
}


def _pixels(width: float, scale: float) -> int:
    """A width stated for a 512-px image, in this image's pixels: at least one."""
    return max(round(width * scale), 1)


def _turn(vector: np.ndarray, angle: float) -> np.ndarray:
    cos, sin = np.cos(angle), np.sin(angle)
    return np.array([cos * vector[0] - sin * vector[1], sin * vector[0] + cos * vector[1]])


def _inside_bone(points: np.ndarray, bone: Bone) -> np.ndarray:
    return np.any([inside(points, part) for part in bone.parts], axis=0)


def _chord(bone: Bone, point: np.ndarray, across: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Where the line through `point` along `across` enters and leaves the bone: the run nearest `point`."""
    reach = float(np.ptp(bone.outline_points(), axis=0).max())
    t = np.arange(-reach, reach, 0.5)
    hits = _inside_bone(point + t[:, None] * across, bone)
    if not hits.any():
        return None
    edges = np.flatnonzero(np.diff(np.concatenate([[0], hits.astype(int), [0]])))
    runs = list(zip(edges[::2], edges[1::2] - 1, strict=True))  # (first, last) index of each inside run
    first, last = min(runs, key=lambda run: min(abs(t[run[0]]), abs(t[run[1]])) if t[run[0]] > 0 or t[run[1]] < 0 else 0.0)
    return point + t[first] * across, point + t[last] * across


def _break_line(rng: np.random.Generator, start: np.ndarray, end: np.ndarray, jitter: float,
                overshoot: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """A jagged line from `start` to `end` (pixels), reaching past them by `overshoot` pixels; a vertex every 5 pixels."""
    direction = (end - start) / max(float(np.linalg.norm(end - start)), 1e-6)
    normal = np.array([-direction[1], direction[0]])
    first = start - direction * overshoot[0]
    last = end + direction * overshoot[1]
    count = max(int(np.linalg.norm(last - first) / 5.0), 1) + 1
    t = np.linspace(0.0, 1.0, count)[:, None]
    offsets = np.clip(rng.normal(0.0, jitter, size=(count, 1)), -2 * jitter, 2 * jitter)
    offsets[[0, -1]] = 0.0
    return first + t * (last - first) + offsets * normal


def _side_region(line: np.ndarray, toward: np.ndarray, half_width: float, reach: float) -> np.ndarray:
    """The closed region on one side of a break line, reaching `reach` pixels along `toward`."""
    direction = (line[-1] - line[0]) / np.linalg.norm(line[-1] - line[0])
    first, last = line[0] - direction * 6 * half_width, line[-1] + direction * 6 * half_width
    return np.concatenate([[first], line, [last, last + toward * reach, first + toward * reach]])
