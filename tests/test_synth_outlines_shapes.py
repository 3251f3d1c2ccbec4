"""Outline geometry: curves through their points, long-bone silhouettes, placement, masks, inside tests."""

from __future__ import annotations

import numpy as np
import pytest

from fracdet_core.synth.outlines.shapes import Cap, Placement, catmull_rom, inside, long_bone, rasterize, upsample, window_of


def test_catmull_rom_passes_through_every_control_point():
    control = np.array([(0.0, 0.0), (2.0, 1.0), (4.0, -1.0), (6.0, 0.5)])
    curve = catmull_rom(control, samples=10)
    assert curve.shape == (31, 2)
    np.testing.assert_allclose(curve[::10], control)


def test_closed_catmull_rom_returns_to_its_start():
    square = np.array([(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)])
    curve = catmull_rom(square, samples=5, closed=True)
    assert curve.shape == (20, 2)
    np.testing.assert_allclose(curve[::5], square)


def test_a_straight_long_bone_has_its_half_width_on_each_side_and_its_caps_beyond_the_ends():
    outline = long_bone(np.array([(0.0, 0.0), (10.0, 0.0)]), [(0.0, 1.0), (1.0, 1.0)], Cap(0.5), Cap(0.5))
    shaft = outline[(outline[:, 0] > 2.0) & (outline[:, 0] < 8.0)]
    np.testing.assert_allclose(np.sort(np.unique(np.round(np.abs(shaft[:, 1]), 9))), [1.0])
    assert outline[:, 0].max() == pytest.approx(10.5)  # the cap's bulge: half a half-width
    assert outline[:, 0].min() == pytest.approx(-0.5)


@pytest.mark.parametrize(("bulge", "reach"), [(0.4, 10.4), (-0.3, 10.0)])
def test_a_concave_base_reaches_no_further_than_its_rim(bulge, reach):
    outline = long_bone(np.array([(0.0, 0.0), (10.0, 0.0)]), [(0.0, 1.0), (1.0, 1.0)], Cap(0.0), Cap(bulge))
    assert outline[:, 0].max() == pytest.approx(reach)


def test_a_tilted_cap_reaches_further_on_its_left():
    # Travelling along +x with y down, the left is -y.
    outline = long_bone(np.array([(0.0, 0.0), (10.0, 0.0)]), [(0.0, 1.0), (1.0, 1.0)], Cap(0.0), Cap(0.0, tilt=1.0))
    corners = {(float(x), float(y)) for x, y in np.round(outline, 9)}
    assert {(10.5, -1.0), (9.5, 1.0)} <= corners  # a tilt of one half-width: half of it each way
    assert outline[:, 0].max() == pytest.approx(10.5)


def test_placement_scales_turns_mirrors_and_centres():
    turn = Placement(scale=100.0, angle=np.pi / 2, centre=(50.0, 60.0), mirror=False)
    np.testing.assert_allclose(turn.points(np.array([(0.5, 0.5), (0.6, 0.5)])), [(50.0, 60.0), (50.0, 70.0)], atol=1e-9)
    mirror = Placement(scale=100.0, angle=0.0, centre=(50.0, 60.0), mirror=True)
    np.testing.assert_allclose(mirror.points(np.array([(0.6, 0.7)])), [(40.0, 80.0)])


def test_rasterize_fills_the_pixels_the_polygon_covers_edges_included():
    square = np.array([(2.0, 3.0), (6.0, 3.0), (6.0, 5.0), (2.0, 5.0)])  # pixels x 2..5, y 3..4
    window = (slice(1, 8), slice(0, 10))
    mask = rasterize([square], window)
    expected = np.zeros((7, 10), np.float32)
    expected[2:5, 2:7] = 1.0  # x 2..6 and y 3..5 (rows 2..4 of the window), both edges included
    np.testing.assert_array_equal(mask, expected)


def test_a_one_pixel_polyline_is_one_pixel_wide():
    line = rasterize([np.array([(0.0, 0.0), (20.0, 7.0)])], (slice(0, 10), slice(0, 25)), width=1, closed=False)
    assert (line.sum(axis=0)[:21] == 1).all()  # an x-major line: one pixel per column


def test_inside_follows_the_even_odd_rule():
    square = np.array([(0.0, 0.0), (4.0, 0.0), (4.0, 4.0), (0.0, 4.0)])
    points = np.array([(2.0, 2.0), (5.0, 2.0), (-0.1, 1.0), (3.9, 3.9)])
    np.testing.assert_array_equal(inside(points, square), [True, False, False, True])


def test_window_of_clips_to_the_image_and_is_none_outside():
    assert window_of(np.array([(-5.0, 2.0), (3.0, 4.0)]), (10, 10), margin=1.0) == (slice(1, 5), slice(0, 4))
    assert window_of(np.array([(20.0, 20.0), (30.0, 25.0)]), (10, 10), margin=1.0) is None


def test_upsample_keeps_a_constant_and_stretches_to_the_shape():
    assert upsample(np.full((3, 4), 2.5, np.float32), (12, 16)).shape == (12, 16)
    np.testing.assert_allclose(upsample(np.full((3, 4), 2.5, np.float32), (12, 16)), 2.5)
