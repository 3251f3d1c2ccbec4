"""An elbow, lateral or AP.

Lateral (flexed): the humeral shaft ends in the condyles, the capitulum and trochlea projecting as
overlapping discs in front of the shaft's line; the olecranon and coronoid of the ulna cup the
trochlea, and the radial head, on the line through the capitulum, overlaps the coronoid. Radius
and ulna overlap along the forearm. Anterior and posterior fat pads lie against the humerus.

AP (extended): the distal humerus widens into the epicondyles above the capitulum and trochlea;
its thin olecranon fossa holds the olecranon's tip; the radial head overlaps the ulna.
"""

from __future__ import annotations

import numpy as np

from fracdet_core.synth.outlines.shapes import Cap, blob, catmull_rom, in_frame, long_bone, towards
from fracdet_core.synth.outlines.skeleton import Bone, FractureSite, Joint, Skeleton, SoftTissue

_SHAFT_KINDS = ("hairline", "crack", "displaced")

SITES = (
    FractureSite("supracondylar humerus", "humerus", (0.82, 0.9), True, ("hairline", "crack", "displaced", "impacted", "buckle")),
    FractureSite("lateral condyle", "humerus", (0.92, 0.98), True, ("hairline", "crack", "avulsion")),
    FractureSite("radial head", "radius", (0.01, 0.05), True, ("hairline", "crack", "displaced", "avulsion"), "start"),
    FractureSite("radial neck", "radius", (0.06, 0.12), True, ("hairline", "crack", "displaced", "impacted", "buckle"), "start"),
    FractureSite("olecranon", "ulna", (0.03, 0.1), True, ("hairline", "crack", "displaced", "avulsion"), "start"),
    FractureSite("shaft of the humerus", "humerus", (0.4, 0.65), False, _SHAFT_KINDS),
    FractureSite("proximal shaft of the ulna", "ulna", (0.3, 0.5), False, _SHAFT_KINDS),
    FractureSite("proximal shaft of the radius", "radius", (0.25, 0.45), False, _SHAFT_KINDS),
)

# The proximal ulna in profile, in units of the trochlea's radius: x along the forearm from the
# trochlea's centre, y away from the humerus. The trochlear notch runs from the coronoid's tip
# round the trochlea to the olecranon's tip.
_NOTCH = [(1.1 * np.cos(t), 1.1 * np.sin(t)) for t in np.radians([35, 65, 90, 120, 150, 180, 205])]
_PROXIMAL_ULNA = [
    (1.3, 0.55), *_NOTCH, (-0.75, -0.8), (-1.35, -0.95), (-1.9, -0.45), (-2.0, 0.5), (-1.7, 1.5), (-1.0, 2.15),
    (1.0, 2.35), (3.0, 2.4), (6.0, 2.3), (10.0, 2.1), (16.0, 2.0), (16.0, 1.35), (10.0, 1.4), (6.0, 1.45), (3.0, 1.45),
    (2.0, 1.3), (1.6, 1.0),
]


# The distal humerus in profile, in the same units: x up the shaft from the trochlea's centre, y
# towards the front (where the forearm folds); the capitulum bulges in front of the shaft's line.
_DISTAL_HUMERUS = [
    (17.0, -1.3), (3.0, -1.35), (2.0, -1.5), (1.0, -1.35), (0.1, -1.1), (-0.6, -0.85), (-1.05, -0.1), (-0.95, 0.6),
    (-0.5, 1.2), (0.2, 1.4), (0.8, 1.25), (1.4, 0.95), (2.2, 0.85), (3.0, 0.95), (17.0, 0.9),
]


def elbow(rng: np.random.Generator) -> Skeleton:
    return _lateral(rng) if rng.random() < 0.55 else _anteroposterior(rng)


def _lateral(rng: np.random.Generator) -> Skeleton:
    """The flexed elbow from the side: the bones placed from the trochlea's centre, the joints where they meet."""
    scale = rng.uniform(0.9, 1.06)
    r = 0.05 * scale  # the trochlea's radius
    trochlea = np.array([0.47 + rng.uniform(-0.03, 0.03), 0.5 + rng.uniform(-0.03, 0.03)])
    up = np.radians(-90.0 + rng.normal(0.0, 5.0))  # along the humerus, towards the shoulder
    forearm = up + np.pi - np.radians(rng.uniform(75.0, 115.0))  # flexion turns the forearm in front
    humerus = _lateral_humerus(rng, trochlea, up, r)
    ulna = _lateral_ulna(trochlea, forearm, r)
    # Radius: on the line through the capitulum's centre, crossing over the ulna towards the wrist.
    capitulum_centre = in_frame([(-0.15, 0.45)], trochlea, up, r)[0]
    radius_direction = forearm + np.radians(rng.uniform(0.0, 5.0))
    head_top = towards(capitulum_centre, radius_direction, 1.1 * r)
    radius = _lateral_radius(head_top, radius_direction, r)
    joints = (
        Joint("humeroulnar", trochlea + towards((0, 0), forearm + np.pi / 2, 1.05 * r), ("humerus", "ulna")),
        Joint("humeroradial", towards(capitulum_centre, radius_direction, 1.02 * r), ("humerus", "radius")),
        Joint("proximal radioulnar", towards(head_top, radius_direction, 0.03), ("radius", "ulna")),
    )
    limbs = _lateral_limbs(trochlea, up, forearm, scale)
    pads = _lateral_fat_pads(rng, trochlea, up, r)
    soft = SoftTissue(limbs, fat_share=rng.uniform(0.15, 0.3), fat_pads=pads[: 1 + int(rng.random() < 0.3)])
    return Skeleton("LAT", (humerus, ulna, radius), joints, soft, SITES)


def _lateral_humerus(rng: np.random.Generator, trochlea: np.ndarray, up: float, r: float) -> Bone:
    """The shaft flares a little and bends forwards into the capitulum; the trochlea projects through it."""
    outline = catmull_rom(in_frame(_DISTAL_HUMERUS, trochlea, up, r), samples=5, closed=True)
    fossa = blob(in_frame([(1.7, -0.2)], trochlea, up, r)[0], (0.8 * r, 0.55 * r), up, rng, irregularity=0.05)
    return Bone(
        "humerus", (outline,), in_frame([(17.0, -0.2), (-1.0, 0.0)], trochlea, up, r), cortex=0.3,
        overlays=(blob(trochlea, (1.0 * r, 0.97 * r), 0.0, rng, irregularity=0.03),),
        hollows=((fossa, 0.6),), examined_span=(0.75, 1.0),
    )


def _lateral_ulna(trochlea: np.ndarray, forearm: float, r: float) -> Bone:
    """The trochlear notch cups the trochlea, a thin joint space between them."""
    ulna_outline = in_frame(_PROXIMAL_ULNA, trochlea, forearm, r * 1.06)
    return Bone("ulna", (catmull_rom(ulna_outline, samples=4, closed=True),),
                np.array([in_frame([(-2.0, 1.2)], trochlea, forearm, r)[0], in_frame([(16.0, 1.7)], trochlea, forearm, r)[0]]),
                cortex=0.3, examined_span=(0.0, 0.35))


def _lateral_radius(head_top: np.ndarray, direction: float, r: float) -> Bone:
    """The radial head, its narrower neck and the radial tuberosity below it, from the head's top along `direction`."""
    radius_axis = np.array([head_top, towards(head_top, direction, 0.9)])
    radius_outline = long_bone(
        radius_axis, [(0, 0.62 * r), (0.04, 0.6 * r), (0.075, 0.4 * r), (0.13, 0.5 * r), (0.3, 0.45 * r), (1, 0.5 * r)],
        Cap(-0.25), Cap(0.0), asymmetry=((0, 0), (0.1, 0.0), (0.13, 0.2), (0.2, 0.0)),
    )
    return Bone("radius", (radius_outline,), radius_axis, cortex=0.3, examined_span=(0.0, 0.3))


def _lateral_limbs(trochlea: np.ndarray, up: float, forearm: float, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """The arm's and the forearm's flesh, each rounded where they fold at the elbow."""
    arm = long_bone(np.array([towards(trochlea, up, 1.2), trochlea]), [(0, 0.2 * scale), (1, 0.15 * scale)], Cap(0.0), Cap(0.9))
    lower = long_bone(np.array([trochlea, towards(trochlea, forearm, 1.2)]), [(0, 0.15 * scale), (1, 0.12 * scale)],
                      Cap(0.9), Cap(0.0))
    return arm, lower


def _lateral_fat_pads(rng: np.random.Generator, trochlea: np.ndarray, up: float, r: float) -> tuple[np.ndarray, np.ndarray]:
    """The anterior fat pad, then the posterior one (which the view shows less often), against the distal humerus."""
    return (
        blob(in_frame([(2.4, 1.25)], trochlea, up, r)[0], (1.1 * r, 0.22 * r), up, rng),
        blob(in_frame([(2.2, -1.7)], trochlea, up, r)[0], (0.8 * r, 0.15 * r), up, rng),
    )


def _anteroposterior(rng: np.random.Generator) -> Skeleton:
    """The extended elbow from the front: the bones placed from the distal humerus' centre, the joints where they meet."""
    scale = rng.uniform(0.9, 1.06)
    w = 0.052 * scale  # the humeral shaft's half-width
    centre = np.array([0.5 + rng.uniform(-0.03, 0.03), 0.42 + rng.uniform(-0.03, 0.03)])
    up = np.radians(-90.0 + rng.normal(0.0, 4.0))
    down = up + np.pi
    lateral = up - np.pi / 2  # the capitulum's and radius' side
    humerus = _anteroposterior_humerus(rng, centre, up, w)
    carrying = np.radians(rng.uniform(5.0, 15.0))
    forearm = down + carrying  # the forearm deviates laterally
    joint_line = towards(centre, down, 0.5 * w)
    head_top = joint_line + towards((0, 0), lateral, 1.05 * w) + towards((0, 0), down, 0.25 * w)
    radius = _anteroposterior_radius(head_top, forearm, w)
    ulna_top = centre - towards((0, 0), lateral, 0.6 * w) + towards((0, 0), up, 1.3 * w)  # the olecranon in the fossa
    ulna = _anteroposterior_ulna(ulna_top, forearm, w)
    joints = (
        Joint("humeroradial", joint_line + towards((0, 0), lateral, 0.95 * w), ("humerus", "radius")),
        Joint("humeroulnar", joint_line - towards((0, 0), lateral, 0.4 * w), ("humerus", "ulna")),
        Joint("proximal radioulnar", head_top + towards((0, 0), forearm, 0.05) - towards((0, 0), lateral, 0.5 * w),
              ("radius", "ulna")),
    )
    limb = long_bone(np.array([towards(centre, up, 1.2), centre, towards(centre, forearm, 1.2)]),
                     [(0, 0.22 * scale), (0.5, 0.19 * scale), (1, 0.14 * scale)], Cap(0.0), Cap(0.0))
    soft = SoftTissue((limb,), fat_share=rng.uniform(0.15, 0.3))
    return Skeleton("AP", (humerus, radius, ulna), joints, soft, SITES)


def _anteroposterior_humerus(rng: np.random.Generator, centre: np.ndarray, up: float, w: float) -> Bone:
    """The shaft widens into the epicondyles above the capitulum and trochlea; the olecranon fossa thins it."""
    humerus_axis = np.array([towards(centre, up, 0.9), centre])
    humerus_outline = long_bone(
        humerus_axis,
        [(0, 1.0 * w), (0.55, 1.02 * w), (0.75, 1.35 * w), (0.88, 2.45 * w), (0.93, 2.5 * w), (0.97, 2.05 * w), (1, 1.7 * w)],
        # The medial epicondyle (on the left, going down) juts out further, and the trochlea reaches lower.
        Cap(0.0), Cap(0.35, notch=0.55, tilt=0.2), asymmetry=((0, 0), (0.8, 0.0), (0.9, 0.15), (1, 0.05)),
    )
    fossa = blob(towards(centre, up, 1.25 * w), (0.55 * w, 0.8 * w), up, rng, irregularity=0.05)
    return Bone("humerus", (humerus_outline,), humerus_axis, cortex=0.3, hollows=((fossa, 0.55),), examined_span=(0.75, 1.0))


def _anteroposterior_radius(head_top: np.ndarray, forearm: float, w: float) -> Bone:
    """The radial head, its narrower neck and the radial tuberosity below it, from the head's top down the forearm."""
    radius_axis = np.array([head_top, towards(head_top, forearm, 0.85)])
    radius_outline = long_bone(
        radius_axis, [(0, 0.72 * w), (0.05, 0.7 * w), (0.1, 0.4 * w), (0.17, 0.5 * w), (0.3, 0.46 * w), (1, 0.52 * w)],
        Cap(-0.15), Cap(0.0), asymmetry=((0, 0), (0.12, 0.0), (0.16, -0.2), (0.22, 0.0)),
    )
    return Bone("radius", (radius_outline,), radius_axis, cortex=0.32, examined_span=(0.0, 0.3))


def _anteroposterior_ulna(top: np.ndarray, forearm: float, w: float) -> Bone:
    """From the olecranon's tip at `top`: the wide proximal end, bulging to one side, then the tapering shaft."""
    ulna_axis = np.array([top, towards(top, forearm - np.radians(2.0), 0.9)])
    ulna_outline = long_bone(
        ulna_axis, [(0, 0.6 * w), (0.06, 0.9 * w), (0.13, 0.95 * w), (0.2, 0.7 * w), (0.5, 0.55 * w), (1, 0.5 * w)],
        Cap(0.6), Cap(0.0), asymmetry=((0, 0.0), (0.1, 0.25), (0.2, 0.0)),
    )
    return Bone("ulna", (ulna_outline,), ulna_axis, cortex=0.3, examined_span=(0.0, 0.3))
