"""A finger, PA: the examined digit's metacarpal head and three phalanges, its neighbours at the edges."""

from __future__ import annotations

import dataclasses

import numpy as np

from fracdet_core.synth.outlines.anatomy.bones import not_examined, ray
from fracdet_core.synth.outlines.shapes import catmull_rom
from fracdet_core.synth.outlines.skeleton import FractureSite, Skeleton, SoftTissue

_KINDS = ["metacarpal", "proximal", "middle", "distal"]
_ALL = ("hairline", "crack", "displaced", "impacted", "avulsion")

SITES = (
    FractureSite("base of the proximal phalanx", "proximal finger", (0.03, 0.14), True, _ALL, "start"),
    FractureSite("head of the proximal phalanx", "proximal finger", (0.84, 0.93), True, ("hairline", "crack", "displaced")),
    FractureSite("base of the middle phalanx", "middle finger", (0.03, 0.14), True,
                 ("hairline", "crack", "displaced", "avulsion"), "start"),
    FractureSite("base of the distal phalanx", "distal finger", (0.04, 0.16), True, ("hairline", "crack", "avulsion"), "start"),
    FractureSite("neck of the metacarpal", "metacarpal finger", (0.86, 0.93), True,
                 ("hairline", "crack", "displaced", "impacted")),
    FractureSite("shaft of the proximal phalanx", "proximal finger", (0.3, 0.7), False, ("hairline", "crack", "displaced")),
    FractureSite("shaft of the middle phalanx", "middle finger", (0.3, 0.7), False, ("hairline", "crack", "displaced")),
    FractureSite("tuft of the distal phalanx", "distal finger", (0.72, 0.88), False, ("hairline", "crack")),
)


def finger(rng: np.random.Generator) -> Skeleton:
    scale = rng.uniform(0.85, 1.05)
    angle = np.radians(-90.0 + rng.normal(0.0, 4.0))
    x = 0.5 + rng.uniform(-0.04, 0.04)
    lengths = [v * scale for v in (0.5, 0.36, 0.23, 0.16)]
    half_widths = [v * scale for v in (0.068, 0.075, 0.064, 0.056)]
    flesh = 0.05 * scale
    examined = ray(rng, "finger", np.array([x, 1.45]), angle, _KINDS, lengths, half_widths, flesh=flesh)
    bones = list(examined.bones)
    bones[0] = dataclasses.replace(bones[0], examined_span=(0.7, 1.0))  # only the metacarpal head is in view
    joints, outlines = list(examined.joints), list(examined.flesh)
    webs = []
    for side in (-1, 1):  # the neighbouring fingers, cut by the collimator or the image's edge
        offset = side * rng.uniform(0.4, 0.48) * scale
        neighbour = ray(
            rng, "left" if side < 0 else "right", np.array([x + offset, 1.5]), angle + side * rng.uniform(0.03, 0.1),
            _KINDS, [v * rng.uniform(0.85, 1.0) for v in lengths], [v * 0.95 for v in half_widths], flesh=flesh,
        )
        bones += not_examined(neighbour.bones)
        joints += neighbour.joints
        outlines += neighbour.flesh
        webs.append((x + offset / 2, examined.joints[0].centre[1] + 0.03))
    palm = catmull_rom(np.array([(-0.5, 1.1), webs[0], webs[1], (1.5, 1.1), (1.5, 1.8), (-0.5, 1.8)]), closed=True)
    soft = SoftTissue((*outlines, palm), fat_share=rng.uniform(0.25, 0.4))
    return Skeleton("PA", tuple(bones), tuple(joints), soft, SITES)
