"""What the outlines renderer draws: determinism, fractures only where boxed, radiograph contrast, DICOM."""

from __future__ import annotations

import io

import numpy as np
import pydicom
import pytest
from PIL import Image, ImageDraw

from fracdet_core.classes import BODY_PARTS
from fracdet_core.synth.config import SynthConfig
from fracdet_core.synth.dataset import make_image, plan_image, yolo_line
from fracdet_core.synth.outlines import draw
from fracdet_core.synth.outlines.detector import raw_signal
from fracdet_core.synth.outlines.scene import sample_scene
from fracdet_core.synth.radiograph import SIGNAL_MAX

SIZE = 256
LOCAL_KINDS = {"hairline", "crack", "buckle", "avulsion"}  # nothing moves beyond the break


def _box_mask(shape, boxes) -> np.ndarray:
    mask = np.zeros(shape, bool)
    for x0, y0, x1, y1 in boxes:
        mask[int(np.floor(y0)) : int(np.ceil(y1)), int(np.floor(x0)) : int(np.ceil(x1))] = True
    return mask


def test_the_same_seed_draws_the_same_study():
    first, second = (draw(np.random.default_rng(4), "HAND", True, SIZE) for _ in range(2))
    np.testing.assert_array_equal(first.signal(), second.signal())
    np.testing.assert_array_equal(first.display(first.signal()), second.display(second.signal()))
    assert first.fracture_boxes() == second.fracture_boxes()
    other = draw(np.random.default_rng(5), "HAND", True, SIZE)
    assert other.signal().shape != first.signal().shape or not np.array_equal(other.signal(), first.signal())


@pytest.mark.parametrize("image_format", ["png", "dcm"])
def test_make_image_is_a_pure_function_of_the_plan(image_format):
    config = SynthConfig(train=4, val=0, size=96, seed=9, image_format=image_format, renderer="outlines")
    plan = plan_image(config, "train", 2)
    assert make_image(config, plan) == make_image(config, plan)


def test_signal_and_display_have_the_image_shape_and_range():
    radiograph = draw(np.random.default_rng(1), "SHOULDER", False, SIZE)
    signal = radiograph.signal()
    assert signal.dtype == np.float32 and max(signal.shape) == SIZE and 0.75 * SIZE <= min(signal.shape) < SIZE
    assert signal.min() >= 0.0 and signal.max() <= SIGNAL_MAX
    display = radiograph.display(signal)
    assert display.dtype == np.uint8 and display.shape == signal.shape
    low, high = radiograph.window
    assert low < high and radiograph.voi_lut_function == "SIGMOID"


@pytest.mark.parametrize("part", BODY_PARTS)
def test_fractures_change_the_detector_signal_inside_their_boxes_only(part):
    local_checked = 0
    for seed in range(10):
        scene = sample_scene(np.random.default_rng(seed), part, True, SIZE)
        change = np.abs(raw_signal(scene) - raw_signal(scene.without_fractures()))
        boxes = scene.fracture_boxes()
        for box in boxes:
            # Each break shows: the noise fields are the same in both renders, so any change is the break's.
            assert change[_box_mask(change.shape, [box])].max() > 0.05, (part, seed, box)
        if {fracture.kind for fracture in scene.fractures} <= LOCAL_KINDS:
            assert change[_box_mask(change.shape, boxes)].sum() / change.sum() > 0.99, (part, seed)
            local_checked += 1
    assert local_checked >= 2


def test_a_displaced_fracture_moves_its_fragment_beyond_the_box():
    for seed in range(60):
        scene = sample_scene(np.random.default_rng(seed), "FOREARM", True, SIZE)
        if any(f.kind == "displaced" and abs(f.rotation) > 0.05 for f in scene.fractures):
            break
    else:
        pytest.fail("no angulated forearm fracture in 60 studies")
    change = np.abs(raw_signal(scene) - raw_signal(scene.without_fractures()))
    assert change[~_box_mask(change.shape, scene.fracture_boxes())].max() > 0.15


def test_labels_of_a_fractured_study_are_its_fracture_boxes():
    config = SynthConfig(train=40, val=0, size=SIZE, renderer="outlines")
    plan = next(p for p in (plan_image(config, "train", i) for i in range(40)) if p.fractured and not p.background)
    _, lines = make_image(config, plan)
    scene = sample_scene(np.random.default_rng(plan.seed), plan.body_part, True, SIZE)
    label = int(lines[0].split()[0])
    assert lines == [yolo_line(label, box, scene.width, scene.height) for box in scene.fracture_boxes()]


def _masks(scene):
    """Examined bone, soft tissue and air inside the field, from the scene's outlines drawn here."""
    size = (scene.width, scene.height)
    bone, tissue = Image.new("1", size, 0), Image.new("1", size, 0)
    for outline in (o for b in scene.skeleton.bones if b.examined_span is not None for o in b.parts):
        ImageDraw.Draw(bone).polygon([tuple(p) for p in outline], fill=1)
    for outline in scene.skeleton.soft_tissue.outlines:
        ImageDraw.Draw(tissue).polygon([tuple(p) for p in outline], fill=1)
    bone_mask, tissue_mask = np.asarray(bone, bool), np.asarray(tissue, bool)
    field = scene.exposure.field
    ys, xs = np.mgrid[0 : scene.height, 0 : scene.width] + 0.5
    dx, dy = xs - field.centre[0], ys - field.centre[1]
    u = np.cos(field.angle) * dx + np.sin(field.angle) * dy
    v = -np.sin(field.angle) * dx + np.cos(field.angle) * dy
    exposed = (np.abs(u) < field.half_size[0] - 6) & (np.abs(v) < field.half_size[1] - 6)
    exposure = scene.exposure
    marker = np.hypot(xs - exposure.marker.centre[0], ys - exposure.marker.centre[1]) < exposure.marker.size
    label = np.hypot(xs - exposure.label_position[0], ys - exposure.label_position[1]) < 0.1 * min(scene.width, scene.height)
    clear = exposed & ~marker & ~label
    # Soft tissue away from bone, and air well away from the (smoothed) silhouette.
    from scipy import ndimage

    far_from_bone = ~ndimage.binary_dilation(bone_mask, iterations=4)
    far_from_body = ~ndimage.binary_dilation(tissue_mask, iterations=8)
    return bone_mask & clear, tissue_mask & far_from_bone & clear, far_from_body & clear


@pytest.mark.parametrize("part", BODY_PARTS)
def test_examined_bone_is_brighter_than_soft_tissue_which_is_brighter_than_air(part):
    radiograph = draw(np.random.default_rng(12), part, False, SIZE)
    image = radiograph.display(radiograph.signal()).astype(float)
    bone, tissue, air = _masks(radiograph.scene)
    assert bone.sum() > 200 and tissue.sum() > 200
    assert np.median(image[bone]) > np.median(image[tissue]) + 15
    if air.sum() > 200:
        assert np.median(image[tissue]) > np.median(image[air]) + 15


def test_the_lead_marker_is_white():
    radiograph = draw(np.random.default_rng(5), "HAND", False, 512)
    image = radiograph.display(radiograph.signal())
    marker = radiograph.scene.exposure.marker
    x, y, half = round(marker.centre[0]), round(marker.centre[1]), round(marker.size / 2)
    assert image[y - half : y + half, x - half : x + half].max() >= 240


def test_dicom_carries_the_sigmoid_window_and_other_uids_than_the_tubes_study(tmp_path):
    outlines = SynthConfig(train=3, val=0, size=96, seed=3, image_format="dcm", renderer="outlines")
    tubes = SynthConfig(train=3, val=0, size=96, seed=3, image_format="dcm")
    plan = plan_image(outlines, "train", 1)
    dataset = pydicom.dcmread(io.BytesIO(make_image(outlines, plan)[0]))
    radiograph = draw(np.random.default_rng(plan.seed), plan.body_part, plan.fractured, 96)
    low, high = (value / SIGNAL_MAX * 4095 for value in radiograph.window)
    assert dataset.VOILUTFunction == "SIGMOID"
    assert float(dataset.WindowCenter) == round((low + high) / 2, 1) and float(dataset.WindowWidth) == round(high - low, 1)
    assert dataset.BodyPartExamined == plan.body_part and dataset.Laterality == radiograph.laterality
    np.testing.assert_array_equal(dataset.pixel_array, np.round(np.clip(radiograph.signal() / SIGNAL_MAX, 0, 1) * 4095))
    tubes_dataset = pydicom.dcmread(io.BytesIO(make_image(tubes, plan)[0]))
    assert "VOILUTFunction" not in tubes_dataset
    assert tubes_dataset.SOPInstanceUID != dataset.SOPInstanceUID and tubes_dataset.StudyInstanceUID != dataset.StudyInstanceUID
