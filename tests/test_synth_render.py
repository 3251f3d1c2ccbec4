"""What the renderer draws: radiograph contrast order, cortical rims, and fractures where boxed."""

from __future__ import annotations

import numpy as np
import pytest

from fracdet_core.classes import BODY_PARTS
from fracdet_core.synth.dataset import SynthConfig, make_image, plan_image, yolo_line
from fracdet_core.synth.primitives import Shaft
from fracdet_core.synth.render import render, render_signal
from fracdet_core.synth.scene import sample_scene

SIZE = 256


def _box_mask(shape, boxes) -> np.ndarray:
    mask = np.zeros(shape, bool)
    for x0, y0, x1, y1 in boxes:
        mask[int(np.floor(y0)) : int(np.ceil(y1)), int(np.floor(x0)) : int(np.ceil(x1))] = True
    return mask


def _fracture_change(part: str, seed: int):
    scene = sample_scene(np.random.default_rng(seed), part, True, SIZE)
    change = np.abs(render_signal(scene) - render_signal(scene.without_fractures()))
    return scene, change


@pytest.mark.parametrize("part", BODY_PARTS)
def test_fractures_change_the_pixels_inside_their_boxes(part):
    undisplaced_checked = 0
    for seed in range(8):
        scene, change = _fracture_change(part, seed)
        boxes = scene.fracture_boxes()
        assert 1 <= len(boxes) <= 3
        for box in boxes:
            # Each break is visible: the gap removes bone inside the box.
            assert change[_box_mask(change.shape, [box])].max() > 0.15, (part, seed, box)
        displaced = any(f.shift != (0.0, 0.0) or f.angulation != 0.0 for f in scene.fractures)
        if not displaced:
            inside = _box_mask(change.shape, boxes)
            assert change[inside].sum() / change.sum() > 0.99, (part, seed)
            undisplaced_checked += 1
    assert undisplaced_checked >= 2


def test_a_displaced_fracture_moves_the_distal_piece():
    for seed in range(40):
        scene = sample_scene(np.random.default_rng(seed), "FOREARM", True, SIZE)
        if any(np.hypot(*f.shift) > 3.0 for f in scene.fractures):
            break
    else:
        pytest.fail("no displaced forearm fracture in 40 seeds")
    change = np.abs(render_signal(scene) - render_signal(scene.without_fractures()))
    outside = ~_box_mask(change.shape, scene.fracture_boxes())
    assert change[outside].max() > 0.15  # the fragment's edges moved beyond the break


def test_labels_of_a_fractured_study_are_its_fracture_boxes():
    config = SynthConfig(train=40, val=0, size=SIZE)
    plan = next(p for p in (plan_image(config, "train", i) for i in range(40)) if p.fractured)
    _, lines = make_image(config, plan)
    scene = sample_scene(np.random.default_rng(plan.seed), plan.body_part, True, SIZE)
    assert lines == [yolo_line(int(lines[0].split()[0]), box, scene.width, scene.height) for box in scene.fracture_boxes()]


def _anatomy_masks(scene):
    ys, xs = np.mgrid[0 : scene.height, 0 : scene.width].astype(np.float32) + 0.5
    bone = np.zeros(xs.shape, bool)
    for primitive in scene.anatomy.bones:
        cortical, marrow = primitive.path_lengths(xs, ys)
        bone |= (cortical + marrow) > 4.0
    tissue = np.zeros(xs.shape, bool)
    for primitive in scene.anatomy.tissues:
        tissue |= primitive.path_length(xs, ys) > 12.0
    x0, y0, x1, y1 = scene.acquisition.collimation
    exposed = (xs > x0 + 4) & (xs < x1 - 4) & (ys > y0 + 4) & (ys < y1 - 4)
    mx0, my0, mx1, my1 = scene.acquisition.marker_box
    marker = (xs > mx0 - 4) & (xs < mx1 + 4) & (ys > my0 - 4) & (ys < my1 + 4)
    air = exposed & ~marker & ~tissue & ~bone
    return bone & exposed & ~marker, tissue & ~bone & exposed & ~marker, air, marker


@pytest.mark.parametrize("part", BODY_PARTS)
def test_bone_is_brighter_than_soft_tissue_which_is_brighter_than_air(part):
    scene = sample_scene(np.random.default_rng(11), part, False, SIZE)
    image = render(scene).astype(float)
    bone, tissue, air, _ = _anatomy_masks(scene)
    assert bone.sum() > 200 and tissue.sum() > 200
    assert np.median(image[bone]) > np.median(image[tissue]) + 15
    if air.sum() > 200:
        assert np.median(image[tissue]) > np.median(image[air]) + 15


def test_the_lead_marker_is_white():
    scene = sample_scene(np.random.default_rng(5), "HAND", False, SIZE)
    image = render(scene)
    x0, y0, x1, y1 = (round(v) for v in scene.acquisition.marker_box)
    assert image[y0:y1, x0:x1].max() >= 240


def test_cortex_projects_brighter_rims_than_the_marrow_cavity():
    scene = sample_scene(np.random.default_rng(2), "FOREARM", False, 512)
    signal = render_signal(scene)
    shaft = scene.anatomy.bones[0]
    assert isinstance(shaft, Shaft)
    normal = shaft.axis_angle() + np.pi / 2
    centre, rim = [], []
    for t in np.linspace(0.4, 0.6, 40):
        x, y = shaft.axis_point(t)
        offset = 0.72 * float(shaft.radius_at(t))  # just outside the marrow cavity
        centre.append(signal[int(y), int(x)])
        for side in (-1, 1):
            rim.append(signal[int(y + side * offset * np.sin(normal)), int(x + side * offset * np.cos(normal))])
    assert np.mean(rim) > np.mean(centre) + 0.1
