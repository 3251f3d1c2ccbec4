"""Bone shapes several layouts share: the rays of the hand, carpals, and the flesh around them.

Half-width profiles are knots (s, w): w times the bone's half-width at the share s of its length,
shaped after the bones' proportions in PA radiographs (a phalanx' base is wider than its head,
a metacarpal's head is round, a distal phalanx ends in a tuft).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from fracdet_core.synth.outlines.shapes import Cap, blob, long_bone, towards
from fracdet_core.synth.outlines.skeleton import Bone, Joint

_PROFILES = {  # kind -> (half-width knots, start cap, end cap, cortex)
    "metacarpal": (((0, 0.95), (0.1, 0.85), (0.3, 0.6), (0.7, 0.58), (0.88, 0.82), (1, 0.9)), Cap(0.1), Cap(0.95), 0.34),
    "proximal": (((0, 1.0), (0.12, 0.9), (0.32, 0.63), (0.68, 0.6), (0.88, 0.76), (1, 0.8)), Cap(-0.22),
                 Cap(0.42, notch=0.4), 0.3),
    "middle": (((0, 1.0), (0.14, 0.88), (0.35, 0.64), (0.68, 0.62), (0.88, 0.76), (1, 0.78)), Cap(-0.22),
               Cap(0.4, notch=0.4), 0.28),
    "distal": (((0, 1.0), (0.2, 0.78), (0.45, 0.52), (0.75, 0.5), (0.92, 0.7), (1, 0.62)), Cap(-0.2), Cap(0.6), 0.26),
}
_JOINT_SPACE = 0.16  # between a head and the next base, in the head bone's half-widths


@dataclasses.dataclass(frozen=True)
class Ray:
    """A digit (with or without its metacarpal): bones from base to tip, the joints between, the flesh."""

    bones: list[Bone]
    joints: list[Joint]
    flesh: list[np.ndarray]
    tip: np.ndarray


def ray(
    rng: np.random.Generator, label: str, base: np.ndarray, angle: float, kinds: list[str], lengths: list[float],
    half_widths: list[float], *, spread: float = 0.0, flesh: float = 0.0,
) -> Ray:
    """A chain of bones, each turning a little from the last (`spread` radians of splay in all).

    `flesh` is the soft tissue's reach beyond each bone's edge (0 for none); the tip's pulp reaches further.
    """
    bones: list[Bone] = []
    joints: list[Joint] = []
    outlines: list[np.ndarray] = []
    start = np.asarray(base, float)
    tip = start
    for index, (kind, length, half_width) in enumerate(zip(kinds, lengths, half_widths, strict=True)):
        angle += spread / len(kinds) + rng.normal(0.0, np.radians(2.0))
        knots, start_cap, end_cap, cortex = _PROFILES[kind]
        end = towards(start, angle, length)
        middle = (start + end) / 2 + rng.normal(0.0, 0.012) * length * np.array([-np.sin(angle), np.cos(angle)])
        axis = np.array([start, middle, end])
        skew = tuple((s, float(rng.normal(0.0, 0.04))) for s in (0.0, 0.5, 1.0))
        outline = long_bone(axis, [(s, w * half_width) for s, w in knots], start_cap, end_cap, asymmetry=skew)
        name = f"{kind} {label}"
        bones.append(Bone(name, (outline,), np.array([start, end]), cortex=cortex * rng.uniform(0.85, 1.15)))
        if flesh > 0:
            pulp = Cap(1.4 if index + 1 == len(kinds) else 0.6)
            outlines.append(long_bone(axis, [(s, w * half_width + flesh) for s, w in knots], Cap(0.6), pulp))
        head_reach = end_cap.bulge * knots[-1][1] * half_width
        tip = towards(start, angle, length + head_reach)
        if index + 1 < len(kinds):
            next_base = towards(start, angle, length + head_reach * 0.55 + _JOINT_SPACE * half_width)
            following = f"{kinds[index + 1]} {label}"
            joints.append(Joint(f"{kind}-{kinds[index + 1]} {label}", (tip + next_base) / 2, (name, following)))
            start = next_base
    return Ray(bones, joints, outlines, tip)


def carpal(rng: np.random.Generator, name: str, centre: np.ndarray, radii: tuple[float, float], angle: float) -> Bone:
    """A carpal or sesamoid: a rounded, slightly irregular compact bone with a thin cortex."""
    angle = np.radians(angle) + rng.normal(0.0, 0.08)
    radii = (radii[0] * rng.uniform(0.92, 1.08), radii[1] * rng.uniform(0.92, 1.08))
    outline = blob(centre, radii, angle, rng, irregularity=0.06)
    axis = np.array([towards(centre, angle + np.pi, radii[0]), towards(centre, angle, radii[0])])
    return Bone(name, (outline,), axis, depth=0.8, cortex=0.14, long=False)


def not_examined(bones: list[Bone]) -> list[Bone]:
    return [dataclasses.replace(bone, examined_span=None) for bone in bones]
