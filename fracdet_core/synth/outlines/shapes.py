"""Plane geometry for bone outlines: smooth curves, long-bone silhouettes, placement, raster masks.

Bones here are drawn the way an anatomist sketches them on a film: as closed outlines. A long bone
is an axis with a width profile on each side and articular caps at its ends (convex heads,
concave bases, condyles, slanted surfaces); a compact bone is a closed smooth curve through a few
control points. Points are (x, y) arrays of shape (N, 2), `x` right and `y` down, in the layout's
canonical unit (the image's shorter side) until placed, pixels after.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

Window = tuple[slice, slice]  # (rows, columns) of an image

REFERENCE_SIZE = 512.0  # the longer image side at which sizes in pixels are stated (a hairline is 1 pixel wide)


def pixel_scale(width: int, height: int) -> float:
    """This image's pixels per pixel of a `REFERENCE_SIZE` image."""
    return max(width, height) / REFERENCE_SIZE


@dataclasses.dataclass(frozen=True)
class Placement:
    """Canonical layout coordinates to pixels: mirror about x = 0.5, scale, rotate about the centre, translate."""

    scale: float
    angle: float  # radians, positive turns +x towards +y
    centre: tuple[float, float]  # pixel position of the canonical point (0.5, 0.5)
    mirror: bool

    def points(self, points: np.ndarray) -> np.ndarray:
        """(N, 2) canonical points -> (N, 2) pixels."""
        local = np.asarray(points, float) - 0.5
        if self.mirror:
            local = local * np.array([-1.0, 1.0])
        cos, sin = np.cos(self.angle), np.sin(self.angle)
        rotated = local @ np.array([[cos, sin], [-sin, cos]])
        return rotated * self.scale + np.asarray(self.centre)


def catmull_rom(control: np.ndarray, samples: int = 10, closed: bool = False) -> np.ndarray:
    """A smooth curve through every control point (uniform Catmull-Rom), (M, 2)."""
    control = np.asarray(control, float)
    padded = (
        np.concatenate([control[-1:], control, control[:2]])
        if closed
        else np.concatenate([2 * control[:1] - control[1:2], control, 2 * control[-1:] - control[-2:-1]])
    )
    segments = len(control) if closed else len(control) - 1
    t = np.linspace(0.0, 1.0, samples, endpoint=False)[:, None]
    curve = []
    for i in range(segments):
        p0, p1, p2, p3 = padded[i : i + 4]
        curve.append(
            0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3)
        )
    if not closed:
        curve.append(control[-1:])
    return np.concatenate(curve)


@dataclasses.dataclass(frozen=True)
class Cap:
    """The articular end of a long bone, seen in profile.

    Attributes:
        bulge: how far the cap's middle lies beyond the end of the axis, in half-widths;
            positive for a convex head, negative for a concave base, 0 for a flat surface.
        notch: depth of a groove in the middle of the cap (between two condyles), share of `bulge`.
        tilt: slant of the surface: the left edge lies `tilt` half-widths further along the
            axis than the right edge (a styloid, an oblique joint line).
    """

    bulge: float = 0.3
    notch: float = 0.0
    tilt: float = 0.0

    def curve(self, end: np.ndarray, along: np.ndarray, left: np.ndarray, half_left: float, half_right: float) -> np.ndarray:
        """Cap points from the right edge to the left edge, (K, 2)."""
        u = np.linspace(-1.0, 1.0, 15)[:, None]
        lateral = (1 + u) / 2 * half_left - (1 - u) / 2 * half_right
        half = (half_left + half_right) / 2
        bulge = self.bulge * (1.0 - self.notch * np.exp(-((u / 0.3) ** 2)))
        beyond = half * (bulge * np.sqrt(np.clip(1.0 - u**2, 0.0, 1.0)) + self.tilt * u / 2)
        return end + left * lateral + along * beyond


def long_bone(
    axis: np.ndarray,
    half_widths: Sequence[tuple[float, float]],
    start_cap: Cap,
    end_cap: Cap,
    asymmetry: Sequence[tuple[float, float]] = ((0.0, 0.0),),
) -> np.ndarray:
    """The closed outline of a long bone, (N, 2).

    Args:
        axis: (M, 2) control points of the axis from the start (proximal) end to the end; a bow
            is a middle point off the line.
        half_widths: knots (s, w): half-width w at the share s of the axis' length, both ends included.
        start_cap, end_cap: the articular ends.
        asymmetry: knots (s, a): the left side is (1 + a) times the half-width there, the right
            (1 - a) times; tuberosities and condyles on one side.
    """
    path = catmull_rom(axis, samples=12) if len(axis) > 2 else _resample(np.asarray(axis, float), 24)
    steps = np.hypot(*np.diff(path, axis=0).T)
    s = np.concatenate([[0.0], np.cumsum(steps)]) / steps.sum()
    along = np.gradient(path, axis=0)
    along /= np.linalg.norm(along, axis=1, keepdims=True)
    left = np.stack([along[:, 1], -along[:, 0]], axis=1)  # the left of the direction of travel, y down
    knots = np.asarray(half_widths, float)
    half = _smoothed(np.interp(s, knots[:, 0], knots[:, 1]))
    skew_knots = np.asarray(asymmetry, float)
    skew = np.interp(s, skew_knots[:, 0], skew_knots[:, 1])
    left_edge = path + left * (half * (1 + skew))[:, None]
    right_edge = path - left * (half * (1 - skew))[:, None]
    end = end_cap.curve(path[-1], along[-1], left[-1], half[-1] * (1 + skew[-1]), half[-1] * (1 - skew[-1]))
    start = start_cap.curve(path[0], -along[0], -left[0], half[0] * (1 - skew[0]), half[0] * (1 + skew[0]))
    return np.concatenate([right_edge, end, left_edge[::-1], start])


def _smoothed(values: np.ndarray) -> np.ndarray:
    """Rounds the corners of a piecewise-linear profile (a short binomial filter, ends held)."""
    padded = np.concatenate([values[:2][::-1], values, values[-2:][::-1]])
    return np.convolve(padded, np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0, mode="valid")


def _resample(points: np.ndarray, count: int) -> np.ndarray:
    t = np.linspace(0.0, 1.0, count)
    return points[0] + t[:, None] * (points[-1] - points[0])


def blob(centre: Sequence[float], radii: tuple[float, float], angle: float, rng: np.random.Generator,
         irregularity: float = 0.06, points: int = 9) -> np.ndarray:
    """A rounded compact bone (a carpal, a sesamoid): a wobbly ellipse, (N, 2)."""
    theta = np.linspace(0.0, 2 * np.pi, points, endpoint=False)
    wobble = 1.0 + irregularity * rng.standard_normal(points)
    local = np.stack([radii[0] * np.cos(theta), radii[1] * np.sin(theta)], axis=1) * wobble[:, None]
    cos, sin = np.cos(angle), np.sin(angle)
    control = local @ np.array([[cos, sin], [-sin, cos]]) + np.asarray(centre)
    return catmull_rom(control, samples=6, closed=True)


def in_frame(control: Sequence[tuple[float, float]], origin: Sequence[float], angle: float, scale: float) -> np.ndarray:
    """Control points given in a bone's own frame (x along, y across, unit `scale`) -> layout coordinates."""
    cos, sin = np.cos(angle), np.sin(angle)
    local = np.asarray(control, float) * scale
    return local @ np.array([[cos, sin], [-sin, cos]]) + np.asarray(origin)


def towards(origin: Sequence[float], angle: float, length: float) -> np.ndarray:
    """The point `length` from `origin` in direction `angle` (radians, 0 = +x, y down)."""
    return np.asarray(origin, float) + length * np.array([np.cos(angle), np.sin(angle)])


def window_of(points: np.ndarray, shape: tuple[int, int], margin: float) -> Window | None:
    """The image rows and columns around `points` plus `margin` pixels, or None if none are inside."""
    height, width = shape
    x0, y0 = np.floor(points.min(axis=0) - margin).astype(int)
    x1, y1 = np.ceil(points.max(axis=0) + margin).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if x0 >= x1 or y0 >= y1:
        return None
    return slice(y0, y1), slice(x0, x1)


def rasterize(polygons: Sequence[np.ndarray], window: Window, width: float = 0.0, closed: bool = True) -> np.ndarray:
    """Polygons filled (or polylines of `width` pixels drawn) into a window: float32 0/1 of its shape.

    Pixel (row r, column c) covers x in [c, c + 1) and y in [r, r + 1). PIL fills from the pixel
    holding a polygon's left edge to the one holding its right edge, both included: about half a
    pixel beyond the pixels whose centres are inside on each side, which `attenuation` takes back.
    """
    rows, cols = window
    canvas = Image.new("L", (cols.stop - cols.start, rows.stop - rows.start), 0)
    draw = ImageDraw.Draw(canvas)
    shift = np.array([cols.start, rows.start])
    for polygon in polygons:
        xy = [tuple(p) for p in (np.asarray(polygon) - shift)]
        if closed:
            draw.polygon(xy, fill=255)
        else:
            draw.line(xy, fill=255, width=max(round(width), 1))
    return np.asarray(canvas, np.float32) / 255.0


def upsample(image: np.ndarray, shape: tuple[int, int], smooth: bool = False) -> np.ndarray:
    """A low-resolution float image stretched over `shape` (rows, columns): bilinear, or bicubic if `smooth`."""
    resample = Image.BICUBIC if smooth else Image.BILINEAR
    stretched = Image.fromarray(np.ascontiguousarray(image, np.float32)).resize((shape[1], shape[0]), resample)
    return np.asarray(stretched, np.float32)


def inside(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Whether each of (N, 2) points lies inside a closed polygon (even-odd rule), (N,) bool."""
    x, y = points[:, 0:1], points[:, 1:2]
    ax, ay = polygon[:, 0], polygon[:, 1]
    bx, by = np.roll(ax, -1), np.roll(ay, -1)
    crosses = (ay > y) != (by > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = ax + (y - ay) * (bx - ax) / (by - ay)
    return np.sum(crosses & (x < x_cross), axis=1) % 2 == 1
