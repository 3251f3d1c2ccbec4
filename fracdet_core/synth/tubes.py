"""The "tubes" renderer behind the renderer interface: bones as tapered tubes with cortical rims.

Its scene and image formation live in `scene`, `anatomy`, `primitives` and `render`; this module
only presents a scene as a `Radiograph`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from fracdet_core.synth.radiograph import Box
from fracdet_core.synth.render import render_signal, to_display
from fracdet_core.synth.scene import Scene, sample_scene


@dataclasses.dataclass(frozen=True)
class TubesRadiograph:
    """A tubes `Scene` seen through the `Radiograph` interface."""

    scene: Scene

    @property
    def body_part(self) -> str:
        return self.scene.body_part

    @property
    def laterality(self) -> str:
        return self.scene.acquisition.marker_text

    @property
    def window(self) -> tuple[float, float]:
        return self.scene.acquisition.window

    @property
    def voi_lut_function(self) -> str:
        return "LINEAR"  # the PNG's gamma has no DICOM counterpart; the window is linear

    def signal(self) -> np.ndarray:
        return render_signal(self.scene)

    def display(self, signal: np.ndarray) -> np.ndarray:
        return to_display(signal, self.scene)

    def fracture_boxes(self) -> list[Box]:
        return self.scene.fracture_boxes()

    def examined_box(self) -> Box:
        return self.scene.examined_box()


def draw(rng: np.random.Generator, body_part: str, fractured: bool, size: int) -> TubesRadiograph:
    """Draw a tubes study (the `Renderer` signature)."""
    return TubesRadiograph(sample_scene(rng, body_part, fractured, size))
