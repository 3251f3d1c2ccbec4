"""A shoulder, AP: proximal humerus, scapula (glenoid, acromion, coracoid, body, spine), clavicle, ribs.

The humeral head overlaps the glenoid, the acromion lies over the head's top, the lateral
clavicle meets and overlaps the acromion, the coracoid overlaps the glenoid's neck and the
clavicle, and the ribs and the scapula overlap in front of the lung. Humerus on the right before
the placement mirrors it.
"""

from __future__ import annotations

import numpy as np

from fracdet_core.synth.outlines.shapes import Cap, blob, catmull_rom, long_bone, towards
from fracdet_core.synth.outlines.skeleton import Bone, FractureSite, Joint, Skeleton, SoftTissue

SITES = (
    FractureSite("surgical neck of the humerus", "humerus", (0.13, 0.2), True,
                 ("hairline", "crack", "displaced", "impacted", "buckle")),
    FractureSite("greater tuberosity", "humerus", (0.0, 0.07), True, ("hairline", "avulsion")),
    FractureSite("anatomical neck of the humerus", "humerus", (0.06, 0.1), True, ("hairline", "crack")),
    FractureSite("glenoid rim", "glenoid", (0.15, 0.85), True, ("hairline", "avulsion")),
    FractureSite("lateral clavicle", "clavicle", (0.8, 0.93), True, ("hairline", "crack", "displaced")),
    FractureSite("acromion", "acromion", (0.3, 0.7), True, ("hairline", "crack")),
    FractureSite("mid-shaft of the clavicle", "clavicle", (0.4, 0.65), False, ("hairline", "crack", "displaced")),
    FractureSite("proximal shaft of the humerus", "humerus", (0.3, 0.45), False, ("hairline", "crack", "displaced")),
)


def shoulder(rng: np.random.Generator) -> Skeleton:
    """The bones placed from the humeral head's centre, and the joints where they meet."""
    scale = rng.uniform(0.88, 1.04)
    head_centre = np.array([0.62 + rng.uniform(-0.03, 0.03), 0.42 + rng.uniform(-0.03, 0.03)])
    head_radius = 0.105 * scale
    abduction = np.radians(rng.uniform(-4.0, 12.0))  # the arm's tilt away from the body
    down = np.pi / 2 - abduction
    humerus = _humerus(rng, head_centre, head_radius, down, scale)
    glenoid_centre = head_centre + np.array([-0.105, 0.01]) * scale
    glenoid = _glenoid(rng, glenoid_centre, scale)
    scapula, spine = _scapular_body(glenoid_centre), _scapular_spine(glenoid_centre)
    acromion = _acromion(glenoid_centre, head_centre, scale)
    coracoid = _coracoid(rng, glenoid_centre, scale)
    ac_joint = acromion.axis[0] * 0.45 + acromion.axis[1] * 0.55 + np.array([-0.02, -0.035]) * scale
    clavicle = _clavicle(ac_joint, scale)
    ribs = [_rib(rng, index, scale) for index in range(5)]
    bones = (scapula, spine, *ribs, clavicle, glenoid, coracoid, acromion, humerus)
    joints = (
        Joint("glenohumeral", (head_centre + glenoid_centre) / 2, ("humerus", "glenoid")),
        Joint("acromioclavicular", ac_joint, ("clavicle", "acromion")),
        Joint("subacromial", head_centre + np.array([0.02, -head_radius - 0.01]), ("humerus", "acromion")),
    )
    return Skeleton("AP", bones, joints, _soft_tissue(rng, head_centre, down, scale), SITES)


def _humerus(rng: np.random.Generator, head_centre: np.ndarray, head_radius: float, down: float, scale: float) -> Bone:
    """The shaft from the surgical neck down the arm, the round head and the greater tuberosity on its outer side."""
    shaft_w = 0.052 * scale
    neck = towards(head_centre, down - 0.35, 1.05 * head_radius)
    shaft_axis = np.array([neck, towards(neck, down, 1.1)])
    shaft = long_bone(shaft_axis, [(0, 1.35 * shaft_w), (0.07, 1.15 * shaft_w), (0.14, 1.0 * shaft_w), (1, 0.95 * shaft_w)],
                      Cap(0.3), Cap(0.0))
    head = blob(head_centre, (head_radius, head_radius * 1.04), 0.3, rng, irregularity=0.02)
    tuberosity_centre = head_centre + np.array([0.085, 0.01]) * scale
    tuberosity = blob(tuberosity_centre, (0.042 * scale, 0.055 * scale), 0.2, rng, irregularity=0.05)
    return Bone(
        "humerus", (shaft, head, tuberosity), np.array([head_centre, towards(head_centre, down, 1.2)]),
        cortex=0.3, examined_span=(0.0, 0.35),
    )


def _glenoid(rng: np.random.Generator, centre: np.ndarray, scale: float) -> Bone:
    """The glenoid seen edge on: a tall, dense oval that the humeral head overlaps."""
    return Bone(
        "glenoid", (blob(centre, (0.028 * scale, 0.085 * scale), 0.1, rng, irregularity=0.04),),
        centre + np.array([(0.0, -0.085), (0.0, 0.085)]) * scale, depth=1.4, cortex=0.35, long=False,
    )


def _scapular_body(glenoid_centre: np.ndarray) -> Bone:
    """A thin plate from the glenoid's neck to its medial border and inferior angle."""
    body_control = np.array([
        glenoid_centre + np.array([-0.02, -0.07]), (0.32, 0.3), (0.1, 0.33), (0.05, 0.55), (0.25, 1.2), (0.34, 1.18),
        glenoid_centre + np.array([-0.04, 0.12]), glenoid_centre + np.array([-0.03, 0.06]),
    ])
    return Bone("scapula", (catmull_rom(body_control, samples=6, closed=True),),
                np.array([glenoid_centre, (0.25, 1.2)]), depth=0.09, cortex=0.4, long=False, examined_span=None)


def _scapular_spine(glenoid_centre: np.ndarray) -> Bone:
    """A ridge across the scapula from its medial border up towards the acromion."""
    spine_end = glenoid_centre + np.array([0.06, -0.15])
    spine_axis = catmull_rom(np.array([(0.08, 0.4), (0.3, 0.3), (0.5, 0.27), spine_end]), samples=6)
    return Bone("scapular spine", (long_bone(spine_axis, [(0, 0.018), (0.8, 0.022), (1, 0.03)], Cap(0.2), Cap(0.2)),),
                spine_axis[[0, -1]], depth=0.5, cortex=0.4, density=0.8, examined_span=None)


def _acromion(glenoid_centre: np.ndarray, head_centre: np.ndarray, scale: float) -> Bone:
    """From above the glenoid out over the humeral head's top."""
    acromion_axis = np.array([glenoid_centre + np.array([0.0, -0.14]), head_centre + np.array([0.12, -0.13]) * scale])
    return Bone(
        "acromion",
        (long_bone(acromion_axis, [(0, 0.03 * scale), (0.5, 0.033 * scale), (1, 0.026 * scale)], Cap(0.3), Cap(0.4)),),
        acromion_axis, depth=0.55, cortex=0.25,
    )


def _coracoid(rng: np.random.Generator, glenoid_centre: np.ndarray, scale: float) -> Bone:
    """The coracoid, which an AP view sees end on: a small dense oval over the glenoid's neck."""
    coracoid_centre = glenoid_centre + np.array([0.05, -0.09]) * scale
    return Bone("coracoid", (blob(coracoid_centre, (0.03 * scale, 0.022 * scale), -0.5, rng, irregularity=0.08),),
                coracoid_centre + np.array([(-0.03, 0.0), (0.03, 0.0)]), depth=1.2, cortex=0.2, long=False)


def _clavicle(ac_joint: np.ndarray, scale: float) -> Bone:
    """From beyond the image's edge on the body's side, curving out to the acromioclavicular joint."""
    clavicle_axis = catmull_rom(np.array([(-0.35, 0.05), (-0.05, 0.17), (0.25, 0.16), ac_joint]), samples=8)
    return Bone(
        "clavicle",
        (long_bone(clavicle_axis, [(0, 0.032 * scale), (0.5, 0.027 * scale), (0.85, 0.03 * scale), (1, 0.036 * scale)],
                   Cap(0.3), Cap(0.15)),),
        clavicle_axis[[0, -1]], depth=0.9, cortex=0.32, examined_span=(0.6, 1.0),
    )


def _soft_tissue(rng: np.random.Generator, head_centre: np.ndarray, down: float, scale: float) -> SoftTissue:
    """The torso, the deltoid over the head and the arm below it, with the lung's air inside the chest."""
    torso = catmull_rom(np.array([(-0.5, -0.3), (0.2, -0.2), (0.5, 0.1), (0.62, 0.5), (0.5, 1.5), (-0.5, 1.5)]), closed=True)
    deltoid = blob(head_centre + np.array([0.02, 0.08]), (0.2 * scale, 0.24 * scale), 0.2, rng, irregularity=0.03)
    arm = long_bone(np.array([head_centre, towards(head_centre, down, 1.3)]), [(0, 0.17 * scale), (1, 0.15 * scale)],
                    Cap(0.5), Cap(0.0))
    lung = catmull_rom(np.array([(-0.4, 0.22), (0.25, 0.2), (0.42, 0.4), (0.44, 0.85), (0.36, 1.4), (-0.4, 1.4)]), closed=True)
    # Seen front to back, the chest and the arm are thinner than they are wide.
    return SoftTissue((torso, deltoid, arm), depth=0.65, fat_share=rng.uniform(0.1, 0.25), air=(lung,))


def _rib(rng: np.random.Generator, index: int, scale: float) -> Bone:
    """A posterior rib: a flat band sweeping down and out from the spine, behind the scapula."""
    top = 0.28 + 0.2 * index + rng.uniform(-0.02, 0.02)
    control = np.array([(-0.3, top - 0.12), (0.05, top - 0.06), (0.3, top + 0.05), (0.5, top + 0.25)])
    axis = catmull_rom(control, samples=6)
    outline = long_bone(axis, [(0, 0.018 * scale), (1, 0.022 * scale)], Cap(0.0), Cap(0.5))
    return Bone(f"rib {index + 2}", (outline,), axis[[0, -1]], depth=0.45, cortex=0.45, density=0.75, examined_span=None)
