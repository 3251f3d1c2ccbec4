"""A forearm, AP: radius and ulna from the elbow to the wrist, the joints' bones cut at the edges.

The radial head overlaps the ulna's coronoid edge and the distal humerus the olecranon at the top;
the carpals show at the bottom.
"""

from __future__ import annotations

import numpy as np

from fracdet_core.synth.outlines.anatomy.bones import carpal, not_examined
from fracdet_core.synth.outlines.shapes import Cap, catmull_rom, long_bone
from fracdet_core.synth.outlines.skeleton import Bone, FractureSite, Joint, Skeleton, SoftTissue

SITES = (
    FractureSite("radial head", "radius", (0.01, 0.05), True, ("hairline", "crack", "displaced", "avulsion"), "start"),
    FractureSite("radial neck", "radius", (0.06, 0.11), True, ("hairline", "crack", "displaced", "impacted"), "start"),
    FractureSite("distal radius", "radius", (0.86, 0.94), True, ("hairline", "crack", "displaced", "impacted", "buckle")),
    FractureSite("ulnar styloid", "ulna", (0.97, 1.0), True, ("hairline", "avulsion")),
    FractureSite("olecranon", "ulna", (0.02, 0.08), True, ("hairline", "crack", "displaced"), "start"),
    FractureSite("shaft of the radius", "radius", (0.25, 0.8), False, ("hairline", "crack", "displaced")),
    FractureSite("shaft of the ulna", "ulna", (0.25, 0.8), False, ("hairline", "crack", "displaced")),
)


def forearm(rng: np.random.Generator) -> Skeleton:
    """Radius and ulna placed side by side, the joints' bones at both ends, the joints where they meet."""
    scale = rng.uniform(0.9, 1.06)
    bow = rng.uniform(0.01, 0.03)
    cross = rng.uniform(-0.02, 0.02)
    radius = _radius(scale, bow, cross)
    ulna = _ulna(scale, cross)
    bones = (radius, ulna, *not_examined(_cut_neighbours(rng, scale)))
    joints = (
        Joint("humeroradial", np.array((0.46, -0.075)), ("humerus", "radius")),
        Joint("humeroulnar", np.array((0.55, -0.09)), ("humerus", "ulna")),
        Joint("radiocarpal", np.array((0.45, 1.06)), ("radius", "scaphoid", "lunate")),
        Joint("distal radioulnar", radius.axis[-1] + (ulna.axis[-1] - radius.axis[-1]) * 0.6, ("radius", "ulna")),
    )
    return Skeleton("AP", bones, joints, _soft_tissue(rng, scale), SITES)


def _radius(scale: float, bow: float, cross: float) -> Bone:
    """Head, neck and tuberosity at the elbow, bowed by `bow`, widening into the distal radius at the wrist."""
    w_radius = 0.04 * scale
    radius_axis = np.array([(0.455, -0.04), (0.415 - bow, 0.5), (0.42 + cross, 1.03)])
    radius_outline = long_bone(
        radius_axis,
        [(0, 1.2 * w_radius), (0.035, 1.15 * w_radius), (0.075, 0.68 * w_radius), (0.14, 0.82 * w_radius), (0.3, 0.75 * w_radius),
         (0.7, 0.8 * w_radius), (0.88, 1.15 * w_radius), (0.97, 1.75 * w_radius), (1, 1.8 * w_radius)],
        Cap(-0.12), Cap(-0.05, tilt=-0.5),
        asymmetry=((0, 0.0), (0.1, 0.0), (0.14, 0.22), (0.2, 0.0), (0.9, 0.0), (1.0, 0.1)),
    )
    return Bone("radius", (radius_outline,), radius_axis[[0, -1]], cortex=0.32)


def _ulna(scale: float, cross: float) -> Bone:
    """Wide at the olecranon and coronoid, tapering to its head and styloid at the wrist."""
    w_ulna = 0.037 * scale
    ulna_axis = np.array([(0.565, -0.1), (0.585, 0.45), (0.58 - cross, 1.01)])
    ulna_outline = long_bone(
        ulna_axis,
        [(0, 1.2 * w_ulna), (0.05, 1.6 * w_ulna), (0.1, 1.2 * w_ulna), (0.22, 0.9 * w_ulna), (0.55, 0.75 * w_ulna),
         (0.88, 0.6 * w_ulna), (0.96, 0.8 * w_ulna), (1, 0.8 * w_ulna)],
        Cap(0.7), Cap(0.4, tilt=0.8),
    )
    return Bone("ulna", (ulna_outline,), ulna_axis[[0, -1]], cortex=0.32)


def _cut_neighbours(rng: np.random.Generator, scale: float) -> list[Bone]:
    """The distal humerus above the elbow and the proximal carpal row below the wrist, which the film cuts."""
    humerus_axis = np.array([(0.52, -0.6), (0.53, -0.14)])
    humerus = long_bone(
        humerus_axis,
        [(0, 0.055 * scale), (0.6, 0.06 * scale), (0.85, 0.12 * scale), (1, 0.095 * scale)], Cap(0.0), Cap(0.3, notch=0.6),
    )
    return [
        Bone("humerus", (humerus,), humerus_axis, cortex=0.25),
        *(carpal(rng, name, np.array(centre), (0.03 * scale, 0.024 * scale), angle)
          for name, centre, angle in (("scaphoid", (0.43, 1.1), -60.0), ("lunate", (0.5, 1.11), 0.0),
                                      ("triquetrum", (0.565, 1.1), -30.0))),
    ]


def _soft_tissue(rng: np.random.Generator, scale: float) -> SoftTissue:
    """The forearm's flesh, narrowing towards the wrist, with one to three fat planes along it."""
    limb = long_bone(
        np.array([(0.5, -0.5), (0.5, 1.5)]),
        [(0, 0.24 * scale), (0.3, 0.22 * scale), (0.75, 0.17 * scale), (1, 0.16 * scale)], Cap(0.0), Cap(0.0),
    )
    starts = [0.5 + rng.uniform(-0.02, 0.02)] + [0.5 + side * rng.uniform(0.1, 0.13) for side in (-1, 1)]
    planes = tuple(
        catmull_rom(np.array([(x, -0.2), (x + rng.uniform(-0.03, 0.03), 0.4), (x + rng.uniform(-0.02, 0.02), 0.9)]))
        for x in starts
    )
    return SoftTissue((limb,), fat_share=rng.uniform(0.15, 0.3), fat_planes=planes[: int(rng.integers(1, 4))])
