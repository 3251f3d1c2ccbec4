"""Outlines fractures: sites near joints at their stated share, one-pixel hairlines, each kind as it should look."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage

from fracdet_core.classes import BODY_PARTS
from fracdet_core.synth.outlines.attenuation import bone_attenuation
from fracdet_core.synth.outlines.fractures import JOINT_NEAR_SHARE, KINDS, sample_fractures
from fracdet_core.synth.outlines.scene import sample_scene


def _within(observed: int, total: int, share: float) -> bool:
    """Whether a count is within 4.5 standard deviations of its binomial expectation."""
    return abs(observed - total * share) <= 4.5 * math.sqrt(total * share * (1 - share))


def _draws(part: str, count: int) -> tuple:
    scene = sample_scene(np.random.default_rng(3), part, False, 512)
    rng = np.random.default_rng(0)
    return scene, [f for _ in range(count) for f in sample_fractures(rng, scene.skeleton, scene.width, scene.height)]


@pytest.mark.parametrize("part", BODY_PARTS)
def test_the_stated_share_of_fractures_lies_at_a_joint_and_each_kind_is_one_its_site_allows(part):
    scene, fractures = _draws(part, 150)
    assert len(fractures) >= 150
    assert _within(sum(f.joint_near for f in fractures), len(fractures), JOINT_NEAR_SHARE)
    sites = {site.name: site for site in scene.skeleton.sites}
    assert all(f.kind in sites[f.site].kinds and f.joint_near == sites[f.site].joint_near for f in fractures)
    bones = [scene.skeleton.bones[f.bone_index].name for f in fractures]
    assert all(sites[f.site].bone == bone for f, bone in zip(fractures, bones, strict=True))


def test_every_kind_occurs():
    kinds = {f.kind for part in BODY_PARTS for f in _draws(part, 60)[1]}
    assert kinds == set(KINDS)


def _bone_cover(scene) -> np.ndarray:
    """How many bones cover each pixel: each bone's outlines filled on a canvas of its own, then counted."""
    count = np.zeros((scene.height, scene.width), int)
    for bone in scene.skeleton.bones:
        canvas = Image.new("1", (scene.width, scene.height), 0)
        for outline in bone.parts + bone.overlays:
            ImageDraw.Draw(canvas).polygon([tuple(point) for point in outline], fill=1)
        count += np.asarray(canvas, bool)
    return count


@pytest.mark.parametrize("part", ["ELBOW", "SHOULDER"])
def test_joint_fractures_lie_where_bones_overlap_or_beside_a_joint(part):
    """Judged from the scene's geometry (outlines, joint centres), not from the sites' labels.

    Beside a joint: the box comes within a quarter of the image's shorter side of a joint's centre
    (the metaphysis, two shaft widths from the joint: a supracondylar or surgical-neck fracture);
    in an overlap: the box holds pixels that two bones cover.
    """
    at_joint, in_overlap, labelled_near, total = 0, 0, 0, 0
    for seed in range(20):
        scene = sample_scene(np.random.default_rng(seed), part, True, 256)
        overlap = _bone_cover(scene) >= 2
        reach = 0.25 * min(scene.width, scene.height)
        for fracture, (x0, y0, x1, y1) in zip(scene.fractures, scene.fracture_boxes(), strict=True):
            overlapping = bool(overlap[int(y0) : math.ceil(y1), int(x0) : math.ceil(x1)].any())
            beside = any(math.hypot(max(x0 - x, 0.0, x - x1), max(y0 - y, 0.0, y - y1)) <= reach for x, y in
                         (joint.centre for joint in scene.skeleton.joints))
            assert overlapping or beside or not fracture.joint_near, (seed, fracture.site)
            at_joint += overlapping or beside
            in_overlap += overlapping and fracture.joint_near
            labelled_near += fracture.joint_near
            total += 1
    assert total >= 20 and at_joint / total >= 0.5
    assert in_overlap / labelled_near >= 0.2


def _hairlines(part: str, complete: bool):
    for seed in range(60):
        scene = sample_scene(np.random.default_rng(seed), part, True, 512)
        for fracture in scene.fractures:
            whole_bone = np.linalg.norm(fracture.line[-1] - fracture.line[0]) > 2 * fracture.half_width
            if fracture.kind == "hairline" and whole_bone == complete:
                yield scene, fracture


@pytest.mark.parametrize(("part", "complete"), [("FOREARM", True), ("FOREARM", False), ("FINGER", True), ("ELBOW", False)])
def test_hairlines_are_one_pixel_wide_at_512_px_across_the_bone_or_one_cortex(part, complete):
    scene, fracture = next(_hairlines(part, complete))
    assert fracture.gap == 1
    changed = np.abs(bone_attenuation(scene, (fracture,))[0] - bone_attenuation(scene, ())[0]) > 1e-6
    blocks = changed[:-1, :-1] & changed[1:, :-1] & changed[:-1, 1:] & changed[1:, 1:]
    assert not blocks.any()  # a line two pixels wide has whole 2x2 blocks
    _, pieces = ndimage.label(changed, structure=np.ones((3, 3)))
    assert pieces == 1
    ys, xs = np.nonzero(changed)
    across = (np.stack([xs + 0.5, ys + 0.5], axis=1) - fracture.pivot) @ (fracture.line[-1] - fracture.line[0])
    extent = float(np.ptp(across)) / np.linalg.norm(fracture.line[-1] - fracture.line[0])
    width = 2 * fracture.half_width
    assert extent >= 0.9 * width - 2 if complete else extent <= 0.65 * width  # whole bone, or the near cortex and some medulla
    assert changed.sum() >= 0.6 * extent


def _first(part: str, kind: str, size: int = 256):
    for seed in range(200):
        scene = sample_scene(np.random.default_rng(seed), part, True, size)
        for fracture in scene.fractures:
            if fracture.kind == kind:
                return scene, fracture
    raise AssertionError(f"no {kind} fracture of the {part} in 200 studies")


def _box_mask(shape, box) -> np.ndarray:
    mask = np.zeros(shape, bool)
    x0, y0, x1, y1 = box
    mask[int(np.floor(y0)) : int(np.ceil(y1)), int(np.floor(x0)) : int(np.ceil(x1))] = True
    return mask


def _overrides(fracture, bone) -> bool:
    """Whether the fragment moved back into the other piece by more than a pixel."""
    along = bone.direction()
    toward_fragment = along * np.sign((fracture.fragment.mean(axis=0) - fracture.pivot) @ along)
    return float(fracture.shift @ toward_fragment) < -1.0


@pytest.mark.parametrize(("part", "kind"), [("FOREARM", "impacted"), ("HAND", "displaced"), ("SHOULDER", "displaced")])
def test_overriding_fragments_make_a_dense_band(part, kind):
    scenes = (sample_scene(np.random.default_rng(seed), part, True, 256) for seed in range(300))
    scene, fracture = next(
        (scene, f) for scene in scenes for f in scene.fractures
        if f.kind == kind and _overrides(f, scene.skeleton.bones[f.bone_index])
    )
    broken, intact = bone_attenuation(scene, (fracture,))
    box = _box_mask(broken.shape, fracture.box(scene.skeleton.bones[fracture.bone_index], scene.width, scene.height))
    assert (broken - intact)[box].max() > 0.25 * intact[box].max()  # bone on bone


def test_a_buckle_bulges_the_cortex_out_of_the_bone():
    scene, fracture = _first("FOREARM", "buckle", size=512)
    broken, intact = bone_attenuation(scene, (fracture,))
    outside_bone = intact < 1e-3
    box = _box_mask(broken.shape, scene.fracture_boxes()[scene.fractures.index(fracture)])
    assert broken[outside_bone & box].max() > 0.05
    assert np.abs(broken - intact)[~box].max() < 1e-3  # and nothing changes beyond its box


def test_an_avulsion_pulls_a_fragment_off_the_bone_leaving_a_gap():
    scene, fracture = _first("FINGER", "avulsion", size=512)
    broken, intact = bone_attenuation(scene, (fracture,))
    box = _box_mask(broken.shape, scene.fracture_boxes()[scene.fractures.index(fracture)])
    assert (broken - intact)[box].max() > 0.05  # bone where there was none
    assert (intact - broken)[box].max() > 0.05  # none where there was bone
    assert np.abs(broken - intact)[~box].max() < 1e-3


@pytest.mark.parametrize("part", BODY_PARTS)
def test_boxes_lie_inside_the_image_around_their_break(part):
    for seed in range(6):
        scene = sample_scene(np.random.default_rng(seed), part, True, 256)
        assert 1 <= len(scene.fractures) <= 3
        assert len({f.bone_index for f in scene.fractures}) == len(scene.fractures)
        for fracture, (x0, y0, x1, y1) in zip(scene.fractures, scene.fracture_boxes(), strict=True):
            assert 0.0 <= x0 < x1 <= scene.width and 0.0 <= y0 < y1 <= scene.height
            x, y = fracture.line.mean(axis=0)
            assert x0 <= x <= x1 and y0 <= y <= y1
        normal = sample_scene(np.random.default_rng(seed), part, False, 256)
        x0, y0, x1, y1 = normal.examined_box()
        assert 0.0 <= x0 < x1 <= normal.width and 0.0 <= y0 < y1 <= normal.height
