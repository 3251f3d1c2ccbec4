"""Every labelled outlines fracture shows on the final image: on the film, and above the visibility floor."""

from __future__ import annotations

import numpy as np
import pytest

from fracdet_core.classes import BODY_PARTS
from fracdet_core.synth.outlines import draw
from fracdet_core.synth.outlines.detector import _field_mask
from fracdet_core.synth.outlines.exposure import LABEL_REACH
from fracdet_core.synth.outlines.scene import sample_scene
from fracdet_core.synth.outlines.visibility import FLOOR, Conspicuity, conspicuity


@pytest.mark.parametrize("part", BODY_PARTS)
def test_every_break_lies_inside_the_exposed_field_and_off_the_marker_and_the_text(part):
    """Outside the collimated field the display saturates to white: a break drawn there is invisible.

    FINGER seed 3 at 512 px drew a metacarpal neck crack 20 px below the field's edge before
    exposures were drawn ahead of fractures.
    """
    for seed in range(25):
        scene = sample_scene(np.random.default_rng(seed), part, True, 512)
        field = _field_mask((scene.height, scene.width), scene.exposure.field)
        exposure = scene.exposure
        for fracture in scene.fractures:
            ends = fracture.line[[0, -1]]
            rows, cols = np.clip(ends[:, 1].astype(int), 0, scene.height - 1), np.clip(ends[:, 0].astype(int), 0, scene.width - 1)
            assert (field[rows, cols] > 0.9).all(), (part, seed, fracture.site)
            assert (np.hypot(*(ends - exposure.marker.centre).T) > exposure.marker.size).all(), (part, seed)
            if exposure.label:
                reach = LABEL_REACH * min(scene.width, scene.height)
                assert (np.hypot(*(ends - exposure.label_position).T) > reach).all(), (part, seed)


def test_the_break_that_fell_under_the_collimator_is_drawn_inside_the_field_now():
    scene = sample_scene(np.random.default_rng(3), "FINGER", True, 512)
    assert all(measured.detectability >= 1.0 for measured in conspicuity(scene))


@pytest.mark.parametrize(("contrast", "noise", "pixels", "expected"), [
    (10.0, 5.0, 16, 8.0),  # 2 x sqrt 16
    (3.0, 6.0, 100, 5.0),
    (4.0, 0.1, 4, 16.0),  # noise held at half a grey level: 8-bit rounding
    (0.0, 5.0, 30, 0.0),
    (12.0, 5.0, 0, 0.0),  # no break pixels in the box
])
def test_detectability_is_the_rose_figure(contrast, noise, pixels, expected):
    assert Conspicuity(contrast, noise, pixels).detectability == pytest.approx(expected)


@pytest.mark.parametrize("part", BODY_PARTS)
def test_every_fracture_drawn_clears_the_floor_on_the_display_image(part):
    for seed in range(6):
        scene = draw(np.random.default_rng(seed), part, True, 512).scene
        assert 1 <= len(scene.fractures) <= 3
        for fracture, measured in zip(scene.fractures, conspicuity(scene), strict=True):
            assert measured.detectability >= FLOOR, (part, seed, fracture.kind, measured)
            if fracture.kind == "hairline":
                assert fracture.gap == 1  # a hairline stays one pixel wide
