"""A hand, PA: distal radius and ulna, eight carpals, five metacarpals and the phalanges.

The metacarpal bases overlap the distal carpal row and one another at the carpometacarpal joints,
the pisiform overlaps the triquetrum, and two sesamoids overlap the thumb's metacarpal head, as in
a PA film. Thumb on the left before the placement mirrors it.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from fracdet_core.synth.outlines.anatomy.bones import Ray, carpal, ray
from fracdet_core.synth.outlines.shapes import Cap, Placement, long_bone, towards
from fracdet_core.synth.outlines.skeleton import Bone, FractureSite, Joint, Skeleton, SoftTissue

# label, metacarpal base, its angle (degrees), lengths MC/PP/MP/DP, width factor, splay (radians)
_FingerRow = tuple[str, tuple[float, float], float, tuple[float, float, float, float], float, float]
_FINGERS: tuple[_FingerRow, ...] = (
    ("index", (0.447, 0.785), -97.0, (0.27, 0.16, 0.095, 0.07), 1.0, -0.1),
    ("middle", (0.5, 0.78), -90.5, (0.26, 0.175, 0.11, 0.075), 1.03, -0.02),
    ("ring", (0.553, 0.79), -84.0, (0.235, 0.165, 0.105, 0.072), 0.97, 0.06),
    ("little", (0.6, 0.805), -77.0, (0.21, 0.13, 0.078, 0.065), 0.88, 0.16),
)
_CARPALS = (  # name, centre, radii, angle (degrees)
    ("scaphoid", (0.43, 0.905), (0.042, 0.024), -62.0),
    ("lunate", (0.497, 0.915), (0.027, 0.025), 10.0),
    ("triquetrum", (0.558, 0.9), (0.025, 0.021), -30.0),
    ("pisiform", (0.575, 0.893), (0.017, 0.015), 0.0),
    ("trapezium", (0.4, 0.84), (0.029, 0.024), -40.0),
    ("trapezoid", (0.452, 0.826), (0.022, 0.019), -80.0),
    ("capitate", (0.5, 0.84), (0.037, 0.025), -88.0),
    ("hamate", (0.556, 0.846), (0.033, 0.026), -70.0),
)
_RAY = ["metacarpal", "proximal", "middle", "distal"]
_BASE = ("hairline", "crack", "displaced", "impacted", "avulsion")

SITES = (
    FractureSite("distal radius", "radius", (0.83, 0.93), True, ("hairline", "crack", "displaced", "impacted", "buckle")),
    FractureSite("ulnar styloid", "ulna", (0.97, 1.0), True, ("hairline", "avulsion")),
    FractureSite("scaphoid waist", "scaphoid", (0.42, 0.58), True, ("hairline", "crack")),
    *(FractureSite(f"base of the {label} metacarpal", f"metacarpal {label}", (0.04, 0.16), True, _BASE, "start")
      for label in ("index", "middle", "ring", "little")),
    FractureSite("neck of the little metacarpal", "metacarpal little", (0.84, 0.92), True, ("crack", "displaced", "impacted")),
    FractureSite("base of the thumb metacarpal", "metacarpal thumb", (0.04, 0.18), True, _BASE, "start"),
    *(FractureSite(f"base of the {label} proximal phalanx", f"proximal {label}", (0.03, 0.15), True, _BASE, "start")
      for label in ("index", "middle", "ring", "little")),
    *(FractureSite(f"shaft of the {label} metacarpal", f"metacarpal {label}", (0.35, 0.65), False,
                   ("hairline", "crack", "displaced")) for label in ("index", "middle", "ring", "little")),
    *(FractureSite(f"shaft of the {label} proximal phalanx", f"proximal {label}", (0.3, 0.7), False,
                   ("hairline", "crack", "displaced")) for label in ("middle", "ring")),
)


def _forearm_ends(rng: np.random.Generator, scale: float) -> tuple[list[Bone], list[np.ndarray]]:
    """The distal radius (its styloid towards the thumb) and ulna (its styloid on the other side)."""
    radius_outline = long_bone(
        np.array([(0.405, 1.75), (0.415, 0.985)]),
        [(0, 0.04 * scale), (0.6, 0.04 * scale), (0.82, 0.05 * scale), (0.95, 0.074 * scale), (1, 0.077 * scale)],
        Cap(0.0), Cap(-0.06, tilt=0.8 * rng.uniform(0.8, 1.2)),
    )
    ulna_outline = long_bone(
        np.array([(0.595, 1.75), (0.575, 1.005)]),
        [(0, 0.031 * scale), (0.85, 0.029 * scale), (0.96, 0.039 * scale), (1, 0.038 * scale)],
        Cap(0.0), Cap(0.45, tilt=-0.7),
    )
    bones = [
        Bone("radius", (radius_outline,), np.array([(0.405, 1.75), (0.415, 0.985)]), cortex=0.3, examined_span=(0.85, 1.0)),
        Bone("ulna", (ulna_outline,), np.array([(0.595, 1.75), (0.575, 1.005)]), cortex=0.3, examined_span=(0.9, 1.0)),
    ]
    flesh = [
        long_bone(np.array([(0.46, 1.8), (0.47, 0.9)]), [(0, 0.16 * scale), (1, 0.15 * scale)], Cap(0.3), Cap(0.5)),
    ]
    return bones, flesh


def hand(rng: np.random.Generator) -> Skeleton:
    """The ends of radius and ulna, the carpus, the thumb and the four fingers, each with its joints and flesh."""
    scale = rng.uniform(0.9, 1.05)
    bones, flesh = _forearm_ends(rng, scale)
    carpals, joints, carpus_flesh = _carpus(rng, scale)
    thumb = _thumb(rng, scale)
    splay = rng.uniform(0.6, 1.3)
    digits = [thumb, *(_finger(rng, row, splay, scale) for row in _FINGERS)]
    bones += [*carpals, *(bone for digit in digits for bone in digit.bones)]
    joints += [joint for digit in digits for joint in digit.joints]
    flesh += [*carpus_flesh, *(outline for digit in digits for outline in digit.flesh), _thenar_eminence(thumb, scale)]
    soft = SoftTissue(tuple(flesh), fat_share=rng.uniform(0.2, 0.3))
    # Drawn at the proportions of the tables above, then enlarged to fill the film as a hand does.
    return Skeleton("PA", tuple(bones), tuple(joints), soft, SITES).placed(Placement(1.22, 0.0, (0.5, 0.43), False))


def _carpus(rng: np.random.Generator, scale: float) -> tuple[list[Bone], list[Joint], list[np.ndarray]]:
    """The eight carpals, the radiocarpal and midcarpal joints, and the flesh across the wrist."""
    carpals = [carpal(rng, name, np.array(centre), (radii[0] * 1.2 * scale, radii[1] * 1.2 * scale), angle)
               for name, centre, radii, angle in _CARPALS]
    joints = [
        Joint("radiocarpal", np.array((0.465, 0.96)), ("radius", "scaphoid", "lunate")),
        Joint("midcarpal", np.array((0.495, 0.872)), ("scaphoid", "lunate", "capitate", "hamate")),
    ]
    flesh = [long_bone(np.array([(0.41, 0.88), (0.59, 0.86)]), [(0, 0.09 * scale), (1, 0.08 * scale)], Cap(0.8), Cap(0.8))]
    return carpals, joints, flesh


def _thumb(rng: np.random.Generator, scale: float) -> Ray:
    """The thumb's ray from the trapezium, its carpometacarpal joint, and the two sesamoids over its metacarpal head."""
    thumb = ray(
        rng, "thumb", np.array((0.385, 0.83)), np.radians(-128.0 + rng.normal(0.0, 5.0)), ["metacarpal", "proximal", "distal"],
        [0.17 * scale, 0.12 * scale, 0.085 * scale], [0.034 * scale, 0.03 * scale, 0.027 * scale],
        spread=rng.uniform(-0.1, 0.15), flesh=0.032 * scale,
    )
    head = thumb.joints[0].centre
    direction = thumb.bones[0].direction()
    across = np.array([-direction[1], direction[0]])
    sesamoids = [
        carpal(rng, f"sesamoid {'radial' if side < 0 else 'ulnar'}",
               head - direction * 0.012 * scale + side * across * 0.014 * scale, (0.008 * scale, 0.007 * scale), 0.0)
        for side in (-1, 1)
    ]
    carpometacarpal = Joint("carpometacarpal thumb", np.array((0.39, 0.835)), ("trapezium", "metacarpal thumb"))
    return dataclasses.replace(thumb, bones=[*thumb.bones, *sesamoids], joints=[*thumb.joints, carpometacarpal])


def _finger(rng: np.random.Generator, row: _FingerRow, splay: float, scale: float) -> Ray:
    """One row of `_FINGERS` as a ray from its metacarpal base, with its carpometacarpal joint and its share of the palm."""
    label, base, degrees, lengths, width, spread = row
    digit = ray(
        rng, label, np.array(base), np.radians(degrees + rng.normal(0.0, 2.0)), _RAY,
        [v * scale for v in lengths], [v * width * scale for v in (0.033, 0.028, 0.024, 0.021)],
        spread=spread * splay, flesh=0.019 * scale,
    )
    carpometacarpal = Joint(f"carpometacarpal {label}", np.array(base), (f"metacarpal {label}",))
    # The palm: each metacarpal's flesh reaches its neighbours'.
    palm = long_bone(digit.bones[0].axis, [(0, 0.05 * scale), (1, 0.045 * scale)], Cap(0.5), Cap(0.3))
    return dataclasses.replace(digit, joints=[*digit.joints, carpometacarpal], flesh=[*digit.flesh, palm])


def _thenar_eminence(thumb: Ray, scale: float) -> np.ndarray:
    """The ball of the thumb: flesh from the carpus to the thumb's metacarpal head."""
    head = thumb.joints[0].centre
    return long_bone(np.array([(0.42, 0.86), towards(head, np.radians(-110.0), 0.0)]),
                     [(0, 0.07 * scale), (1, 0.04 * scale)], Cap(0.5), Cap(0.5))
