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

from fracdet_core.synth.primitives import Blob, PathLengths, Point, Similarity


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
        blob = self._blob().transformed(transform)
        return dataclasses.replace(self, center=blob.center, radii=blob.radii, angle=blob.angle, depth=blob.depth)

    def bounds(self) -> tuple[float, float, float, float]:
        return self._blob().bounds()

    def examined_bounds(self) -> tuple[float, float, float, float]:
        return self.bounds()

    def path_lengths(self, x: np.ndarray, y: np.ndarray) -> PathLengths:
        """Path length through the shell at pixel centres (x, y), as cortex; nothing as marrow."""
        cortex, _ = self._blob().path_lengths(x, y)
        return cortex, np.zeros_like(cortex)

    def _blob(self) -> Blob:
        """The solid ellipsoid of the same outline whose cortex is this shell: its marrow is what the shell leaves out."""
        return Blob(self.center, self.radii, self.angle, self.depth, cortex=self.thickness, density=self.density)
