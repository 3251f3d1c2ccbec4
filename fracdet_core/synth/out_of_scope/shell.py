"""A hollow bone seen in projection: the skull's vault, an orbit's rim, a pedicle's ring.

The tubes primitives are solid (`Blob`) or tubular (`Shaft`), and both fill their inside with
marrow; a skull holds brain, which is soft tissue. A `Shell` is an ellipsoidal shell of bone whose
inside attenuates nothing of its own (the soft tissue inside is a `Tissue`), so the tubes renderer
draws the vault's bright rim over an even interior. It has the interface the tubes renderer calls
on a bone (`bounds`, `path_lengths`, `transformed`), so it needs no renderer of its own.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from fracdet_core.synth.primitives import PathLengths, Point, Similarity


@dataclasses.dataclass(frozen=True)
class Shell:
    """An ellipsoidal shell of bone.

    Attributes:
        center: pixels (x, y).
        radii: outer semi-axes (along `angle`, across it), pixels.
        angle: orientation of the first semi-axis, radians.
        thickness: the shell's thickness as a share of the smaller radius.
        depth: extent through the centre, pixels; None means twice the smaller radius.
        density: attenuation multiplier.
    """

    center: Point
    radii: tuple[float, float]
    angle: float = 0.0
    thickness: float = 0.06
    depth: float | None = None
    density: float = 1.0
    examined: bool = False
    fracture_span: None = None

    def transformed(self, transform: Similarity) -> Shell:
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
        """Path length through the shell at pixel centres (x, y), as cortex; nothing as marrow."""
        cos, sin = np.cos(self.angle), np.sin(self.angle)
        dx, dy = x - self.center[0], y - self.center[1]
        u = (cos * dx + sin * dy) / self.radii[0]
        v = (-sin * dx + cos * dy) / self.radii[1]
        rho_sq = u * u + v * v
        depth = 2.0 * min(self.radii) if self.depth is None else self.depth
        inner = 1.0 - self.thickness
        outer_path = depth * np.sqrt(np.maximum(1.0 - rho_sq, 0.0))
        inner_path = depth * inner * np.sqrt(np.maximum(1.0 - rho_sq / inner**2, 0.0))
        return (outer_path - inner_path) * self.density, np.zeros_like(outer_path)
