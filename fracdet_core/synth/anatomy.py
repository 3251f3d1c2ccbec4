"""Bone layouts of the five body parts, in a canonical frame, varied per image.

The canonical frame is the unit square (`x` right, `y` down), one unit being the image's shorter
side; `scene.py` maps it to pixels with a random similarity transform. Each layout draws the
bones a radiologist expects on that view, with sizes and angles varied within anatomical range:

- finger (PA): metacarpal head, proximal, middle and distal phalanx in a row, neighbours at the edge;
- hand (PA): distal radius and ulna, two rows of carpals, five metacarpals with their phalanges;
- forearm (AP): radius and ulna side by side from the elbow to the wrist;
- elbow (lateral): distal humerus with its condyles, meeting radial head and ulna (olecranon)
  at a flexed joint;
- shoulder (AP): humeral head against the glenoid, acromion, lateral clavicle, scapula and ribs.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable

import numpy as np

from fracdet_core.synth.primitives import Blob, Bone, Point, Shaft, Similarity, Tissue


@dataclasses.dataclass(frozen=True)
class Anatomy:
    """The bones and soft tissue of one study."""

    bones: tuple[Bone, ...]
    tissues: tuple[Tissue, ...]

    def transformed(self, transform: Similarity) -> Anatomy:
        return Anatomy(
            tuple(bone.transformed(transform) for bone in self.bones),
            tuple(tissue.transformed(transform) for tissue in self.tissues),
        )


def _towards(origin: Point, angle: float, length: float) -> Point:
    """The point `length` away from `origin` in direction `angle` (radians, 0 = +x, y down)."""
    return (origin[0] + length * np.cos(angle), origin[1] + length * np.sin(angle))


def _digit(
    rng: np.random.Generator, base: Point, angle: float, lengths: list[float], radii: list[float]
) -> tuple[list[Shaft], Point]:
    """A chain of bones (a ray of the hand), each a little off its neighbour's axis."""
    bones, start = [], base
    for length, radius in zip(lengths, radii, strict=True):
        angle += rng.normal(0.0, np.radians(3.0))
        end = _towards(start, angle, length)
        bones.append(Shaft(start, end, radius, flare=rng.uniform(1.3, 1.55), cortex=rng.uniform(0.28, 0.4)))
        start = _towards(end, angle, radius * 1.15)  # both articular caps and the joint space
    return bones, start


def finger(rng: np.random.Generator) -> Anatomy:
    scale = rng.uniform(0.9, 1.1)
    angle = np.radians(-90.0 + rng.normal(0.0, 4.0))
    base = (0.5 + rng.uniform(-0.04, 0.04), 1.12)
    lengths = [0.34, 0.28, 0.17, 0.11]
    radii = [0.052, 0.045, 0.038, 0.032]
    bones, tip = _digit(rng, base, angle, [v * scale for v in lengths], [v * scale for v in radii])
    bones[0] = dataclasses.replace(bones[0], examined=False, fracture_span=(0.55, 0.85))  # metacarpal
    bones[-1] = dataclasses.replace(bones[-1], flare=1.45, fracture_span=(0.3, 0.7))  # distal tuft
    tissues = [Tissue(base, tip, 0.095 * scale)]
    for side in (-1, 1):  # neighbouring fingers cut by the collimator
        offset = side * rng.uniform(0.31, 0.38)
        neighbour, neighbour_tip = _digit(
            rng, (base[0] + offset, base[1] + 0.05), angle + side * 0.05, [v * scale * 0.95 for v in lengths[:3]],
            [v * scale for v in radii[:3]],
        )
        bones.extend(dataclasses.replace(bone, examined=False, fracture_span=None) for bone in neighbour)
        tissues.append(Tissue((base[0] + offset, base[1] + 0.05), neighbour_tip, 0.085 * scale))
    return Anatomy(tuple(bones), tuple(tissues))


def hand(rng: np.random.Generator) -> Anatomy:
    scale = rng.uniform(0.9, 1.05)
    s = scale
    bones: list[Bone] = [
        Shaft((0.42, 1.25), (0.43 + rng.uniform(-0.01, 0.01), 0.90), 0.046 * s, flare=1.45, fracture_span=(0.7, 0.9)),
        Shaft((0.60, 1.25), (0.585, 0.915), 0.032 * s, flare=1.4, fracture_span=(0.7, 0.9)),
    ]
    carpal_rows = [
        ((0.41, 0.84), (0.49, 0.845), (0.555, 0.85), (0.60, 0.86)),
        ((0.40, 0.77), (0.46, 0.765), (0.52, 0.77), (0.575, 0.78)),
    ]
    for row in carpal_rows:
        for cx, cy in row:
            radii = (rng.uniform(0.026, 0.034) * s, rng.uniform(0.022, 0.03) * s)
            bones.append(Blob((cx, cy), radii, rng.uniform(0, np.pi), cortex=0.3, fracture_span=None))
    tissues = [Tissue((0.5, 1.25), (0.5, 0.84), 0.16 * s), Tissue((0.44, 0.72), (0.56, 0.72), 0.15 * s)]
    spread = rng.uniform(0.7, 1.2)
    rays = [  # base, angle from +x (degrees), bone lengths, radii
        ((0.38, 0.75), -135.0, [0.15, 0.12, 0.085], [0.026, 0.022, 0.018]),
        ((0.43, 0.70), -90.0 - 13.0 * spread, [0.23, 0.15, 0.09, 0.065], [0.022, 0.019, 0.016, 0.013]),
        ((0.48, 0.69), -90.0 - 3.0 * spread, [0.24, 0.165, 0.105, 0.07], [0.023, 0.02, 0.017, 0.014]),
        ((0.53, 0.70), -90.0 + 7.0 * spread, [0.22, 0.155, 0.1, 0.065], [0.021, 0.019, 0.016, 0.013]),
        ((0.57, 0.72), -90.0 + 17.0 * spread, [0.19, 0.12, 0.075, 0.06], [0.019, 0.017, 0.014, 0.012]),
    ]
    for base, degrees, lengths, radii in rays:
        angle = np.radians(degrees + rng.normal(0.0, 3.0))
        chain, tip = _digit(rng, (base[0] * 1.0, base[1]), angle, [v * s for v in lengths], [v * s for v in radii])
        bones.extend(chain)
        tissues.append(Tissue(_towards(base, angle, 0.12 * s), tip, 0.047 * s))
    return Anatomy(tuple(bones), tuple(tissues))


def forearm(rng: np.random.Generator) -> Anatomy:
    s = rng.uniform(0.9, 1.08)
    cross = rng.uniform(-0.03, 0.03)
    radius_bone = Shaft((0.40, 0.02), (0.43 + cross, 0.98), 0.042 * s, flare=1.65, fracture_span=(0.2, 0.85))
    ulna = Shaft((0.585, -0.01), (0.575 - cross, 0.99), 0.036 * s, flare=1.45, fracture_span=(0.2, 0.85))
    bones: list[Bone] = [radius_bone, ulna]
    bones.append(Blob((0.52, -0.08), (0.13 * s, 0.06 * s), 0.0, cortex=0.22, examined=False))  # distal humerus
    for cx in (0.42, 0.49, 0.56):  # proximal carpal row at the wrist
        bones.append(Blob((cx, 1.06), (0.03 * s, 0.025 * s), rng.uniform(0, np.pi), cortex=0.3, examined=False))
    tissues = [Tissue((0.5, -0.15), (0.5, 1.15), 0.21 * s, end_radius=0.15 * s)]
    return Anatomy(tuple(bones), tuple(tissues))


def elbow(rng: np.random.Generator) -> Anatomy:
    s = rng.uniform(0.9, 1.08)
    joint = (0.5, 0.5)
    flexion = np.radians(rng.uniform(25.0, 80.0))  # forearm direction, from straight down
    forearm_angle = np.pi / 2 - flexion
    humerus = Shaft((0.46, -0.15), (0.5, 0.43), 0.058 * s, flare=1.5, examined_span=(0.55, 1.0), fracture_span=(0.6, 0.85))
    condyles = Blob((0.505, 0.47), (0.075 * s, 0.06 * s), rng.uniform(-0.2, 0.2), depth=0.085 * s, cortex=0.1)
    radial_head = _towards((joint[0] + 0.035 * s, joint[1] + 0.04 * s), forearm_angle, 0.0)
    radius_bone = Shaft(
        radial_head, _towards(radial_head, forearm_angle, 0.65), 0.036 * s, flare=1.55,
        examined_span=(0.0, 0.35), fracture_span=(0.08, 0.4),
    )
    ulna_start = (joint[0] - 0.045 * s, joint[1] - 0.01 * s)
    ulna = Shaft(
        ulna_start, _towards(ulna_start, forearm_angle, 0.68), 0.038 * s, flare=1.35,
        examined_span=(0.0, 0.35), fracture_span=(0.1, 0.45),
    )
    olecranon = Blob(_towards(ulna_start, forearm_angle + np.pi, 0.03 * s), (0.045 * s, 0.032 * s), forearm_angle, cortex=0.15)
    bones: list[Bone] = [humerus, condyles, radius_bone, ulna, olecranon]
    tissues = [
        Tissue((0.47, -0.2), joint, 0.17 * s, end_radius=0.15 * s),
        Tissue(joint, _towards(joint, forearm_angle, 0.75), 0.15 * s, end_radius=0.12 * s),
    ]
    return Anatomy(tuple(bones), tuple(tissues))


def shoulder(rng: np.random.Generator) -> Anatomy:
    s = rng.uniform(0.9, 1.05)
    head_center = (0.58 + rng.uniform(-0.02, 0.02), 0.42)
    head_radius = 0.105 * s
    neck = (head_center[0] + 0.04, head_center[1] + 0.08)
    humerus = Shaft(neck, (neck[0] + 0.05, 1.25), 0.062 * s, flare=1.25, examined_span=(0.0, 0.3), fracture_span=(0.02, 0.25))
    bones: list[Bone] = [
        Blob((0.22, 0.6), (0.24, 0.34), 0.15, depth=0.025, cortex=0.5, examined=False),  # scapular body
        Blob(head_center, (head_radius, head_radius), 0.0, depth=0.13 * s, cortex=0.1),
        humerus,
        Blob((head_center[0] + 0.07 * s, head_center[1] - 0.04), (0.04 * s, 0.035 * s), 0.4, cortex=0.1),  # tuberosity
        Blob((head_center[0] - head_radius - 0.015, 0.44), (0.028 * s, 0.085 * s), 0.1, depth=0.035, cortex=0.3),  # glenoid
        Blob((0.58, 0.24), (0.11 * s, 0.032 * s), -0.15, depth=0.04, cortex=0.2),  # acromion
        Shaft(
            (-0.05, 0.14 + rng.uniform(-0.02, 0.02)), (0.52, 0.2), 0.034 * s, flare=1.35,
            examined_span=(0.6, 1.0), fracture_span=(0.35, 0.8),
        ),  # clavicle
    ]
    for index in range(4):  # ribs behind the scapula: faint, curved, leaving the image
        bones.extend(_rib(0.58 + 0.13 * index, s))
    tissues = [
        Tissue((0.0, 0.8), (0.45, 0.62), 0.42 * s, density=0.45),  # chest wall
        Tissue((0.2, 0.35), (0.62, 0.38), 0.22 * s, density=0.9),  # shoulder girdle
        Tissue(head_center, (neck[0] + 0.05, 1.3), 0.18 * s, end_radius=0.15 * s),  # upper arm
    ]
    return Anatomy(tuple(bones), tuple(tissues))


def _rib(height: float, scale: float) -> list[Shaft]:
    """A posterior rib as a chain of short segments along an arc from the spine."""
    angles = np.linspace(np.radians(200.0), np.radians(290.0), 6)
    center = (0.45, height + 0.32)
    points = [(center[0] + 0.45 * np.cos(a), center[1] + 0.35 * np.sin(a)) for a in angles]
    return [
        Shaft(a, b, 0.014 * scale, flare=1.0, cortex=0.5, density=0.55, examined=False, fracture_span=None)
        for a, b in itertools.pairwise(points)
    ]


LAYOUTS: dict[str, Callable[[np.random.Generator], Anatomy]] = {
    "ELBOW": elbow,
    "FINGER": finger,
    "FOREARM": forearm,
    "HAND": hand,
    "SHOULDER": shoulder,
}
