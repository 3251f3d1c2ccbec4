"""Bone layouts of the out-of-scope radiographs, built from the tubes renderer's primitives.

Same canonical frame as `synth.anatomy` (the unit square, one unit being the image's shorter
side, `x` right, `y` down), same primitives, same attenuation range (soft tissue about as thick
as a limb's, bones as dense as the hand's), so an out-of-scope film differs from an in-scope one
by what it shows and nothing else. Each layout varies its sizes and angles per image:

- chest (PA): lungs as low-density tissue, mediastinum and heart, ribs as arcs from the spine,
  clavicles, vertebral bodies behind the mediastinum, diaphragm domes, humeral heads at the corners;
- knee (AP or lateral): distal femur with condyles, patella, tibial plateau, fibular head;
- ankle and foot (lateral or AP): distal tibia and fibula, talus, calcaneus, tarsals, metatarsals,
  toes;
- pelvis (AP): iliac wings, sacrum, pelvic inlet, pubic rami, femoral heads, necks and trochanters;
- skull (lateral or PA): the vault as a shell, orbits, maxilla, mandible, teeth, cervical spine;
- spine (lateral or AP, lumbar): vertebral bodies and discs on a curve, posterior elements or
  pedicle rings, sacrum or iliac crests;
- tibia and fibula (AP): a thick tibia and a thin fibula between the knee and the ankle.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from fracdet_core.synth.anatomy import Anatomy
from fracdet_core.synth.out_of_scope.shell import Shell
from fracdet_core.synth.primitives import Blob, Point, Shaft, Tissue

_PLAIN = {"examined": False, "fracture_span": None}


def _shaft(start: Point, end: Point, radius: float, **kwargs: object) -> Shaft:
    return Shaft(start, end, radius, **{**_PLAIN, **kwargs})  # type: ignore[arg-type]


def _blob(center: Point, radii: tuple[float, float], angle: float = 0.0, **kwargs: object) -> Blob:
    return Blob(center, radii, angle, **{"examined": False, **kwargs})  # type: ignore[arg-type]


def _arc(center: Point, radii: tuple[float, float], angles: tuple[float, float], radius: float,
         density: float = 0.55, segments: int = 7) -> list[Shaft]:
    """A curved thin bone (a rib, the pelvic brim) as a chain of short shafts along an elliptic arc."""
    steps = np.linspace(angles[0], angles[1], segments + 1)
    points = [(center[0] + radii[0] * np.cos(a), center[1] + radii[1] * np.sin(a)) for a in steps]
    return [_shaft(a, b, radius, flare=1.0, cortex=0.5, density=density) for a, b in itertools.pairwise(points)]


def _chain(base: Point, angle: float, lengths: list[float], radii: list[float], rng: np.random.Generator) -> list[Shaft]:
    """Bones in a row (a metatarsal and its toe), each a little off its neighbour's axis."""
    bones, start = [], base
    for length, radius in zip(lengths, radii, strict=True):
        angle += rng.normal(0.0, np.radians(3.0))
        end = (start[0] + length * np.cos(angle), start[1] + length * np.sin(angle))
        bones.append(_shaft(start, end, radius, flare=rng.uniform(1.3, 1.5), cortex=rng.uniform(0.28, 0.4)))
        start = (end[0] + 1.15 * radius * np.cos(angle), end[1] + 1.15 * radius * np.sin(angle))
    return bones


def chest(rng: np.random.Generator) -> Anatomy:
    s = rng.uniform(0.92, 1.05)
    dome = rng.uniform(0.72, 0.8)
    tissues = [
        Tissue((0.5, 0.0), (0.5, 0.95), 0.47 * s, density=0.2),  # thorax around the lungs
        Tissue((0.5, -0.1), (0.5, 0.7), 0.075 * s, density=2.2),  # mediastinum
        Tissue((0.47, 0.55), (0.6, 0.66), 0.14 * s, density=1.5),  # heart
        Tissue((0.1, dome + 0.22), (0.9, dome + 0.22), 0.24, density=0.9),  # diaphragm and abdomen
        Tissue((-0.1, 0.08), (0.12, 0.02), 0.12, density=1.1),
        Tissue((0.88, 0.02), (1.1, 0.08), 0.12, density=1.1),  # shoulders
    ]
    bones: list = [_blob((0.5, 0.08 + 0.075 * k), (0.042 * s, 0.03 * s), cortex=0.2, density=0.5) for k in range(10)]
    for side in (-1.0, 1.0):
        for level in range(10):
            top = 0.1 + 0.068 * level * s
            width = (0.22 + 0.16 * np.sin(np.pi * min(level / 11.0 + 0.2, 1.0))) * s
            angles = (-np.pi / 2, -np.pi / 2 + side * rng.uniform(1.7, 1.9))
            bones.extend(_arc((0.5 + side * 0.03, top + 0.09), (width, 0.1 * s), angles, 0.012 * s))
        bones.append(_shaft((0.5 + side * 0.05, 0.17), (0.5 + side * 0.3 * s, 0.1 + rng.uniform(-0.02, 0.02)), 0.018 * s,
                            flare=1.3))  # clavicle
        bones.append(_blob((0.5 + side * 0.5, 0.12), (0.07 * s, 0.07 * s), cortex=0.12))  # humeral head
    return Anatomy(tuple(bones), tuple(tissues))


def knee(rng: np.random.Generator) -> Anatomy:
    s = rng.uniform(0.9, 1.08)
    if rng.random() < 0.5:  # lateral: the tibia leaves the joint at the flexion angle, the patella in front
        flexion = np.radians(rng.uniform(0.0, 40.0))
        down = (np.sin(flexion), np.cos(flexion))
        joint = (0.5, 0.5)
        bones: list = [
            _shaft((0.5, -0.3), (0.5, 0.44), 0.06 * s, flare=1.9),
            _blob((0.49, 0.45), (0.11 * s, 0.085 * s), cortex=0.1),
            _blob((0.63, 0.36), (0.035 * s, 0.065 * s), cortex=0.15),
            _shaft((0.5, 0.55), (0.5 + 0.75 * down[0], 0.55 + 0.75 * down[1]), 0.055 * s, flare=1.9),
            _shaft((0.43, 0.62), (0.43 + 0.7 * down[0], 0.62 + 0.7 * down[1]), 0.02 * s, flare=1.5),
        ]
        tissues = [Tissue((0.5, -0.3), joint, 0.24 * s), Tissue(joint, (0.5 + 0.8 * down[0], 0.5 + 0.8 * down[1]), 0.2 * s)]
        return Anatomy(tuple(bones), tuple(tissues))
    bones = [
        _shaft((0.5, -0.3), (0.5, 0.42), 0.07 * s, flare=1.95),
        _blob((0.43, 0.45), (0.06 * s, 0.05 * s), cortex=0.12),
        _blob((0.57, 0.45), (0.06 * s, 0.05 * s), cortex=0.12),
        _blob((0.5, 0.36), (0.05 * s, 0.06 * s), cortex=0.15, density=0.6),  # patella through the femur
        _shaft((0.5, 0.54), (0.5, 1.3), 0.06 * s, flare=2.0),
        _shaft((0.5 + 0.14 * s, 0.6), (0.5 + 0.15 * s, 1.3), 0.022 * s, flare=1.6),
    ]
    return Anatomy(tuple(bones), (Tissue((0.5, -0.3), (0.5, 1.3), 0.28 * s, end_radius=0.22 * s),))


def ankle_foot(rng: np.random.Generator) -> Anatomy:
    s = rng.uniform(0.9, 1.05)
    if rng.random() < 0.6:
        return _lateral_ankle(rng, s)
    bones: list = [_blob((0.5, 1.02), (0.09 * s, 0.1 * s), cortex=0.15)]  # calcaneus, end on
    bones += [_blob((0.47 + 0.05 * k, 0.8 + rng.uniform(-0.01, 0.01)), (0.035 * s, 0.04 * s), rng.uniform(0, np.pi),
                    cortex=0.3) for k in range(3)]  # navicular and cuneiforms
    bones.append(_blob((0.62, 0.82), (0.045 * s, 0.05 * s), cortex=0.3))  # cuboid
    bones.append(_blob((0.45, 0.9), (0.08 * s, 0.06 * s), cortex=0.2))  # talus head
    tissues = [Tissue((0.52, 1.2), (0.52, 0.75), 0.2 * s)]
    rays = [(0.44, 1.9, [0.27, 0.1, 0.08], [0.03, 0.026, 0.022]), (0.49, 1.2, [0.26, 0.07, 0.05, 0.04], [0.02] * 4),
            (0.54, 0.4, [0.24, 0.065, 0.045, 0.035], [0.019] * 4), (0.59, -0.3, [0.22, 0.06, 0.04, 0.03], [0.018] * 4),
            (0.64, -1.0, [0.2, 0.05, 0.035, 0.03], [0.018] * 4)]
    for x, degrees, lengths, radii in rays:  # metatarsals and toes: shorter toes than fingers
        angle = np.radians(-90.0 - degrees * 2.5)
        bones.extend(_chain((x, 0.74), angle, [v * s for v in lengths], [v * s for v in radii], rng))
        tissues.append(Tissue((x, 0.6), (x + 0.32 * np.cos(angle), 0.74 + 0.38 * np.sin(angle)), 0.05 * s))
    return Anatomy(tuple(bones), tuple(tissues))


def _lateral_ankle(rng: np.random.Generator, s: float) -> Anatomy:
    pitch = np.radians(rng.uniform(10.0, 25.0))  # the metatarsals' slope from the ground
    bones: list = [
        _shaft((0.4, -0.3), (0.4, 0.33), 0.06 * s, flare=1.5),  # tibia
        _shaft((0.45, -0.3), (0.46, 0.4), 0.022 * s, flare=1.6, density=0.8),  # fibula behind it
        _blob((0.41, 0.43), (0.09 * s, 0.065 * s), 0.1, cortex=0.12),  # talus
        _blob((0.3, 0.56), (0.14 * s, 0.075 * s), 0.25, cortex=0.12),  # calcaneus
        _blob((0.54, 0.47), (0.035 * s, 0.055 * s), 0.3, cortex=0.2),  # navicular
        _blob((0.48, 0.58), (0.05 * s, 0.04 * s), cortex=0.2),  # cuboid
        _blob((0.62, 0.5), (0.045 * s, 0.05 * s), cortex=0.2),  # cuneiforms
    ]
    for k in range(4):  # metatarsals, overlapping, towards the toes
        start = (0.65 + 0.01 * k, 0.52 + 0.02 * k)
        bones.append(_shaft(start, (start[0] + 0.36 * np.cos(pitch), start[1] + 0.36 * np.sin(pitch) - 0.02 * k),
                            0.022 * s, flare=1.4, density=0.8))
    tissues = [Tissue((0.42, -0.3), (0.42, 0.45), 0.13 * s), Tissue((0.22, 0.58), (1.15, 0.72), 0.12 * s)]
    return Anatomy(tuple(bones), tuple(tissues))


def pelvis(rng: np.random.Generator) -> Anatomy:
    s = rng.uniform(0.9, 1.05)
    bones: list = [
        _blob((0.5, 0.06), (0.075 * s, 0.045 * s), cortex=0.2),  # fifth lumbar vertebra
        _blob((0.5, 0.33), (0.1 * s, 0.15 * s), depth=0.08, cortex=0.3),  # sacrum
        *_arc((0.5, 0.52), (0.19 * s, 0.14 * s), (-2.6, -0.54 + 2 * np.pi), 0.012, density=0.7, segments=12),  # inlet
    ]
    for side in (-1.0, 1.0):
        head = (0.5 + side * 0.22 * s, 0.6)
        trochanter = (head[0] + side * 0.13 * s, head[1] + 0.06)
        bones += [
            _blob((0.5 + side * 0.25 * s, 0.28), (0.21 * s, 0.15 * s), side * -0.4, depth=0.035, cortex=0.4),  # iliac wing
            _blob(head, (0.065 * s, 0.065 * s), cortex=0.1),  # femoral head
            _shaft(head, trochanter, 0.04 * s, flare=1.2),  # neck
            _blob(trochanter, (0.045 * s, 0.055 * s), cortex=0.15),  # greater trochanter
            _shaft((trochanter[0] - side * 0.02, trochanter[1]), (trochanter[0] - side * 0.04, 1.3), 0.055 * s, flare=1.2),
            _shaft((0.5 + side * 0.15 * s, 0.64), (0.5 + side * 0.025, 0.7), 0.022 * s, flare=1.3),  # superior ramus
            _shaft((0.5 + side * 0.16 * s, 0.79), (0.5 + side * 0.025, 0.76), 0.02 * s, flare=1.3),  # inferior ramus
            _blob((0.5 + side * 0.17 * s, 0.76), (0.045 * s, 0.055 * s), cortex=0.2),  # ischial tuberosity
        ]
    return Anatomy(tuple(bones), (Tissue((0.0, 0.5), (1.0, 0.5), 0.6 * s, density=0.33),))


def skull(rng: np.random.Generator) -> Anatomy:
    s = rng.uniform(0.9, 1.05)
    lateral = rng.random() < 0.6
    radii = (0.4 * s, 0.34 * s) if lateral else (0.36 * s, 0.38 * s)
    vault = Shell((0.5, 0.42), radii, thickness=rng.uniform(0.035, 0.06), density=0.45)
    bones: list = [vault, _blob((0.5, 0.42), radii, depth=0.02, cortex=0.5, density=0.3)]  # vault and skull base
    tissues = [Tissue((0.5, 0.35), (0.5, 0.6), 0.4 * s, density=0.18)]
    if lateral:
        bones += [Shell((0.77, 0.55), (0.06 * s, 0.055 * s), thickness=0.2), _blob((0.74, 0.72), (0.08 * s, 0.05 * s))]
        bones += _arc((0.62, 0.72), (0.16 * s, 0.13 * s), (0.2, 1.7), 0.022 * s, density=1.0, segments=6)  # mandible
        bones += [_shaft((0.46, 0.62), (0.48, 0.88), 0.025 * s, flare=1.2)]  # ramus
        bones += [_blob((0.35 - 0.01 * k, 0.8 + 0.075 * k), (0.04 * s, 0.03 * s), cortex=0.25) for k in range(3)]
        teeth = [(0.64 + 0.025 * k, 0.8 + 0.004 * k) for k in range(7)]
    else:
        bones += [Shell((0.5 + side * 0.12 * s, 0.52), (0.06 * s, 0.055 * s), thickness=0.2) for side in (-1.0, 1.0)]
        bones += _arc((0.5, 0.7), (0.2 * s, 0.16 * s), (0.15, np.pi - 0.15), 0.022 * s, density=1.0, segments=8)
        bones += [_shaft((0.5 + side * 0.08, 0.58), (0.5 + side * 0.3 * s, 0.5), 0.02 * s, density=1.2) for side in (-1.0, 1.0)]
        teeth = [(0.5 + 0.16 * s * np.cos(a), 0.7 + 0.1 * s * np.sin(a)) for a in np.linspace(0.5, np.pi - 0.5, 9)]
    bones += [_blob(tooth, (0.012 * s, 0.022 * s), cortex=0.4, density=1.6) for tooth in teeth]
    return Anatomy(tuple(bones), tuple(tissues))


def spine(rng: np.random.Generator) -> Anatomy:
    s = rng.uniform(0.9, 1.05)
    lateral = rng.random() < 0.5
    curve = rng.uniform(0.03, 0.08) if lateral else rng.normal(0.0, 0.015)
    bones: list = []
    for level in range(6):
        y = 0.02 + 0.17 * level * s
        x = 0.5 + curve * np.sin(np.pi * level / 5.0)
        bones.append(_blob((x, y), (0.085 * s, 0.06 * s), cortex=0.18, density=0.9))  # body
        if lateral:
            bones.append(_shaft((x + 0.08 * s, y - 0.01), (x + 0.22 * s, y + 0.02), 0.022 * s, flare=1.5, density=0.7))
        else:
            bones += [Shell((x + side * 0.055 * s, y - 0.02), (0.02 * s, 0.025 * s), thickness=0.35) for side in (-1, 1)]
            bones += [_shaft((x + side * 0.07 * s, y), (x + side * 0.16 * s, y + 0.01), 0.013 * s, density=0.7)
                      for side in (-1, 1)]
    if lateral:
        bones.append(_blob((0.52 + curve, 1.08), (0.1 * s, 0.12 * s), 0.5, cortex=0.25))  # sacrum
    else:
        bones += [_blob((0.5 + side * 0.36, 1.05), (0.2 * s, 0.13 * s), side * -0.4, depth=0.035, cortex=0.4)
                  for side in (-1, 1)]  # iliac crests
    return Anatomy(tuple(bones), (Tissue((0.5, -0.2), (0.5, 1.2), 0.5 * s, density=0.3),))


def tibia_fibula(rng: np.random.Generator) -> Anatomy:
    s = rng.uniform(0.9, 1.05)
    offset = rng.uniform(0.085, 0.12) * s  # the fibula's distance from the tibia: less on an oblique view
    bones: list = [
        _blob((0.47, -0.06), (0.13 * s, 0.06 * s), cortex=0.15),  # femoral condyles
        _shaft((0.47, 0.0), (0.47, 1.04), 0.045 * s, flare=2.0, cortex=rng.uniform(0.3, 0.4)),  # tibia
        _shaft((0.47 + offset, 0.04), (0.47 + offset * 0.85, 1.08), 0.021 * s, flare=1.7),  # fibula
        _blob((0.48, 1.1), (0.08 * s, 0.04 * s), cortex=0.15),  # talus
    ]
    return Anatomy(tuple(bones), (Tissue((0.49, -0.1), (0.48, 1.1), 0.2 * s, end_radius=0.1 * s),))


LAYOUTS: dict[str, Callable[[np.random.Generator], Anatomy]] = {
    "CHEST": chest,
    "KNEE": knee,
    "ANKLE_FOOT": ankle_foot,
    "PELVIS": pelvis,
    "SKULL": skull,
    "SPINE": spine,
    "TIBIA_FIBULA": tibia_fibula,
}
