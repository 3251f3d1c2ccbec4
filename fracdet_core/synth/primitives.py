"""Bone and soft-tissue primitives and the X-ray path lengths they project.

A radiograph records how much tissue each ray crosses. A long bone is a tube: a dense cortical
shell around a marrow cavity, so the path through cortex is longest near the bone's edges and the
projected bone shows the bright rims and fainter core of a real film. Each primitive therefore
returns path lengths (pixels) through its cortex and its marrow for a grid of pixel centres; the
renderer turns those into attenuation.

All coordinates are pixels of the output image: `x` to the right, `y` down.
"""

from __future__ import annotations

import dataclasses

import numpy as np

Point = tuple[float, float]
PathLengths = tuple[np.ndarray, np.ndarray]

_EPIPHYSIS_SPAN = 0.18  # share of a shaft's length, at each end, over which it flares
_CAP_LENGTH = 0.4  # how far a shaft's rounded articular end reaches past its axis end, in radii


def rotate_point(point: Point, angle: float, origin: Point = (0.0, 0.0)) -> Point:
    cos, sin = np.cos(angle), np.sin(angle)
    dx, dy = point[0] - origin[0], point[1] - origin[1]
    return (origin[0] + cos * dx - sin * dy, origin[1] + sin * dx + cos * dy)


@dataclasses.dataclass(frozen=True)
class Similarity:
    """Maps canonical layout coordinates to pixels: mirror, scale, rotate, translate."""

    scale: float
    angle: float
    center_from: Point
    center_to: Point
    mirror: bool = False

    def point(self, point: Point) -> Point:
        x, y = point
        if self.mirror:
            x = 2 * self.center_from[0] - x
        dx, dy = (x - self.center_from[0]) * self.scale, (y - self.center_from[1]) * self.scale
        rx, ry = rotate_point((dx, dy), self.angle)
        return (self.center_to[0] + rx, self.center_to[1] + ry)

    def length(self, length: float) -> float:
        return length * self.scale

    def direction(self, angle: float) -> float:
        return (np.pi - angle if self.mirror else angle) + self.angle


@dataclasses.dataclass(frozen=True)
class Shaft:
    """A tubular bone from `start` to `end` whose ends flare into epiphyses.

    Attributes:
        start, end: axis end points, pixels (x, y).
        radius: outer radius at mid-shaft, pixels.
        flare: outer radius at the ends as a multiple of `radius`.
        cortex: cortical thickness as a share of the radius.
        density: attenuation multiplier (1 for ordinary bone).
        examined: whether the bone is part of the region a study examines (its box).
        examined_span: the part of the axis (0 = start, 1 = end) inside that region.
        fracture_span: the part of the axis where a fracture may lie, or None if this bone is
            never fractured.
    """

    start: Point
    end: Point
    radius: float
    flare: float = 1.3
    cortex: float = 0.32
    density: float = 1.0
    examined: bool = True
    examined_span: tuple[float, float] = (0.0, 1.0)
    fracture_span: tuple[float, float] | None = (0.2, 0.8)

    def transformed(self, transform: Similarity) -> Shaft:
        return dataclasses.replace(
            self,
            start=transform.point(self.start),
            end=transform.point(self.end),
            radius=transform.length(self.radius),
        )

    def axis_point(self, t: float) -> Point:
        return (
            self.start[0] + t * (self.end[0] - self.start[0]),
            self.start[1] + t * (self.end[1] - self.start[1]),
        )

    def axis_angle(self) -> float:
        return float(np.arctan2(self.end[1] - self.start[1], self.end[0] - self.start[0]))

    def radius_at(self, t: np.ndarray | float) -> np.ndarray:
        near_end = np.clip(1.0 - np.minimum(t, 1.0 - t) / _EPIPHYSIS_SPAN, 0.0, 1.0)
        return self.radius * (1.0 + (self.flare - 1.0) * near_end**2)

    def bounds(self, span: tuple[float, float] = (0.0, 1.0)) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) in pixels of the part of the bone between two axis positions."""
        reach = self.radius * max(self.flare, 1.0)
        (x0, y0), (x1, y1) = self.axis_point(span[0]), self.axis_point(span[1])
        return (min(x0, x1) - reach, min(y0, y1) - reach, max(x0, x1) + reach, max(y0, y1) + reach)

    def examined_bounds(self) -> tuple[float, float, float, float]:
        return self.bounds(self.examined_span)

    def path_lengths(
        self, x: np.ndarray, y: np.ndarray, t_window: tuple[float, float] = (0.0, 1.0)
    ) -> PathLengths:
        """Cortical and marrow path lengths at pixel centres (x, y), each of x's shape.

        `t_window` keeps only the piece of the bone between two axis positions; a window edge
        inside (0, 1) cuts the bone flat there, as a fracture does.
        """
        ax, ay = self.start
        bx, by = self.end
        vx, vy = bx - ax, by - ay
        t_raw = ((x - ax) * vx + (y - ay) * vy) / max(vx * vx + vy * vy, 1e-9)
        t = np.clip(t_raw, 0.0, 1.0)
        length = float(np.hypot(vx, vy))
        along = (t_raw - t) * length  # how far past an end, pixels; 0 along the shaft
        across_sq = (x - (ax + t_raw * vx)) ** 2 + (y - (ay + t_raw * vy)) ** 2
        outer = self.radius_at(t)
        # Articular ends are flattened domes rather than hemispheres.
        distance_sq = across_sq + (along / _CAP_LENGTH) ** 2
        # Epiphyses are mostly trabecular: their cortex thins towards the joint.
        cortex = self.cortex * (1.0 - 0.6 * np.clip(1.0 - np.minimum(t, 1.0 - t) / _EPIPHYSIS_SPAN, 0, 1))
        inner = outer * (1.0 - cortex)
        outer_path = 2.0 * np.sqrt(np.maximum(outer**2 - distance_sq, 0.0))
        inner_path = 2.0 * np.sqrt(np.maximum(inner**2 - distance_sq, 0.0))
        keep = np.ones_like(t_raw, dtype=bool)
        if t_window[0] > 0.0:
            keep &= t_raw >= t_window[0]
        if t_window[1] < 1.0:
            keep &= t_raw < t_window[1]
        cortical = np.where(keep, outer_path - inner_path, 0.0) * self.density
        marrow = np.where(keep, inner_path, 0.0) * self.density
        return cortical, marrow


@dataclasses.dataclass(frozen=True)
class Blob:
    """A compact bone (carpal, humeral head, condyle) or a plate (scapula) seen as an ellipse.

    Attributes:
        center: pixels (x, y).
        radii: semi-axes (along `angle`, across it), pixels.
        angle: orientation of the first semi-axis, radians.
        depth: thickness through the ellipse's centre, pixels; None means the smaller radius
            times two (a rounded bone). Plates are much thinner than they are wide.
        cortex, density, examined: as for `Shaft`.
    """

    center: Point
    radii: tuple[float, float]
    angle: float = 0.0
    depth: float | None = None
    cortex: float = 0.12
    density: float = 1.0
    examined: bool = True
    fracture_span: None = None

    def transformed(self, transform: Similarity) -> Blob:
        return dataclasses.replace(
            self,
            center=transform.point(self.center),
            radii=(transform.length(self.radii[0]), transform.length(self.radii[1])),
            angle=transform.direction(self.angle),
            depth=None if self.depth is None else transform.length(self.depth),
        )

    def bounds(self) -> tuple[float, float, float, float]:
        cos, sin = np.cos(self.angle), np.sin(self.angle)
        half_w = np.hypot(self.radii[0] * cos, self.radii[1] * sin)
        half_h = np.hypot(self.radii[0] * sin, self.radii[1] * cos)
        return (self.center[0] - half_w, self.center[1] - half_h, self.center[0] + half_w, self.center[1] + half_h)

    def examined_bounds(self) -> tuple[float, float, float, float]:
        return self.bounds()

    def path_lengths(self, x: np.ndarray, y: np.ndarray) -> PathLengths:
        """Cortical and marrow path lengths at pixel centres (x, y), each of x's shape."""
        cos, sin = np.cos(self.angle), np.sin(self.angle)
        dx, dy = x - self.center[0], y - self.center[1]
        u = (cos * dx + sin * dy) / self.radii[0]
        v = (-sin * dx + cos * dy) / self.radii[1]
        rho_sq = u * u + v * v
        depth = 2.0 * min(self.radii) if self.depth is None else self.depth
        inner_scale = 1.0 - self.cortex
        outer_path = depth * np.sqrt(np.maximum(1.0 - rho_sq, 0.0))
        inner_path = depth * inner_scale * np.sqrt(np.maximum(1.0 - rho_sq / inner_scale**2, 0.0))
        return (outer_path - inner_path) * self.density, inner_path * self.density


@dataclasses.dataclass(frozen=True)
class Tissue:
    """A soft-tissue limb segment: a capsule with an elliptical cross-section.

    Attributes:
        start, end: axis end points, pixels.
        radius: half-width at `start`, pixels.
        end_radius: half-width at `end` (limbs taper); None means the same as `radius`.
        density: attenuation multiplier; below 1 for regions with air or fat (the thorax).
    """

    start: Point
    end: Point
    radius: float
    end_radius: float | None = None
    density: float = 1.0

    def transformed(self, transform: Similarity) -> Tissue:
        return dataclasses.replace(
            self,
            start=transform.point(self.start),
            end=transform.point(self.end),
            radius=transform.length(self.radius),
            end_radius=None if self.end_radius is None else transform.length(self.end_radius),
        )

    def bounds(self) -> tuple[float, float, float, float]:
        reach = max(self.radius, self.end_radius or 0.0)
        xs, ys = (self.start[0], self.end[0]), (self.start[1], self.end[1])
        return (min(xs) - reach, min(ys) - reach, max(xs) + reach, max(ys) + reach)

    def path_length(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        ax, ay = self.start
        vx, vy = self.end[0] - ax, self.end[1] - ay
        t = np.clip(((x - ax) * vx + (y - ay) * vy) / max(vx * vx + vy * vy, 1e-9), 0.0, 1.0)
        distance_sq = (x - (ax + t * vx)) ** 2 + (y - (ay + t * vy)) ** 2
        radius = self.radius if self.end_radius is None else self.radius + (self.end_radius - self.radius) * t
        return 2.0 * self.density * np.sqrt(np.maximum(radius**2 - distance_sq, 0.0))


Bone = Shaft | Blob
