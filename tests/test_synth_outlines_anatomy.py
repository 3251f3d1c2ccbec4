"""The outlines layouts: named bones that meet at their joints, sites on bones that exist, views per body part."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.path import Path

from fracdet_core.classes import BODY_PARTS
from fracdet_core.synth.outlines.anatomy import LAYOUTS
from fracdet_core.synth.outlines.fractures import KINDS

VIEWS = {"ELBOW": {"AP", "LAT"}, "FINGER": {"PA"}, "FOREARM": {"AP"}, "HAND": {"PA"}, "SHOULDER": {"AP"}}


def _distance(bone, centre: np.ndarray) -> float:
    """How far `centre` lies from the bone: 0 inside it, else to its nearest outline point."""
    if any(Path(outline).contains_point(centre) for outline in bone.parts + bone.overlays):
        return 0.0
    return float(np.min(np.linalg.norm(bone.outline_points() - centre, axis=1)))


@pytest.mark.parametrize("part", BODY_PARTS)
def test_layouts_name_their_bones_once_and_place_every_site_and_joint_on_them(part):
    views = set()
    for seed in range(12):
        skeleton = LAYOUTS[part](np.random.default_rng(seed))
        views.add(skeleton.view)
        names = [bone.name for bone in skeleton.bones]
        assert len(set(names)) == len(names)
        assert any(bone.examined_span is not None for bone in skeleton.bones)
        for site in skeleton.sites:
            assert site.bone in names and set(site.kinds) <= set(KINDS) and 0.0 <= site.span[0] < site.span[1] <= 1.0
        for joint in skeleton.joints:
            for name in joint.bones:  # each bone of a joint reaches it: within 6% of the image's shorter side
                assert _distance(skeleton.bones[names.index(name)], joint.centre) < 0.06, (joint.name, name)
    assert views == VIEWS[part]


@pytest.mark.parametrize("part", BODY_PARTS)
def test_every_body_part_has_sites_at_joints_and_along_shafts(part):
    skeleton = LAYOUTS[part](np.random.default_rng(0))
    assert {site.joint_near for site in skeleton.sites} == {True, False}


def test_a_layout_is_a_function_of_its_generator():
    first, second = (LAYOUTS["HAND"](np.random.default_rng(5)) for _ in range(2))
    for a, b in zip(first.bones, second.bones, strict=True):
        assert a.name == b.name
        np.testing.assert_array_equal(np.concatenate(a.parts), np.concatenate(b.parts))
