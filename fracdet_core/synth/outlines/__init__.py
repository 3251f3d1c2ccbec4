"""The "outlines" renderer: bones drawn as outlines that overlap at the joints, on a CR plate.

A second renderer, written apart from the first ("tubes") so that each can judge a detector
trained on the other. Every part of the picture differs: bones are 2-D outlines (epiphyses,
condyles, tuberosities) whose thickness comes from their distance maps, with a cortex that
thickens towards mid-shaft and a trabecular grain that follows the bone; bones overlap at the
joints and their shadows add; soft tissue has fat planes and pads; the plate has a long-tailed
blur, scatter, correlated and structured noise; the reader compresses, sharpens and shows the
image through a sigmoid; the field is tilted, the marker a ringed letter. Fractures are of the
hard kinds, many at the joints (`fractures`).

Layout: `shapes` (outline geometry), `skeleton` (what a study contains), `anatomy` (the five
body parts' layouts), `fractures`, `exposure` (film and reader settings), `scene` (one study),
`attenuation` (outlines to attenuation), `detector` (attenuation to the CR image), `visibility`
(the floor of conspicuity every labelled break clears).
"""

from __future__ import annotations

import functools

import numpy as np

from fracdet_core.synth.outlines.detector import display_window, present, raw_signal, to_display
from fracdet_core.synth.outlines.scene import OutlineScene
from fracdet_core.synth.outlines.visibility import sample_visible_scene
from fracdet_core.synth.radiograph import Box


class OutlinesRadiograph:
    """An outlines scene seen through the `Radiograph` interface; its signal is worked out once."""

    def __init__(self, scene: OutlineScene) -> None:
        self.scene = scene

    @property
    def body_part(self) -> str:
        return self.scene.body_part

    @property
    def laterality(self) -> str:
        return self.scene.exposure.marker.letter

    @functools.cached_property
    def window(self) -> tuple[float, float]:
        return display_window(self.signal(), self.scene)

    @property
    def voi_lut_function(self) -> str:
        return "SIGMOID"

    def signal(self) -> np.ndarray:
        return self._signal

    @functools.cached_property
    def _signal(self) -> np.ndarray:
        return present(raw_signal(self.scene), self.scene)

    def display(self, signal: np.ndarray) -> np.ndarray:
        return to_display(signal, self.scene, display_window(signal, self.scene))

    def fracture_boxes(self) -> list[Box]:
        return self.scene.fracture_boxes()

    def examined_box(self) -> Box:
        return self.scene.examined_box()


def draw(rng: np.random.Generator, body_part: str, fractured: bool, size: int) -> OutlinesRadiograph:
    """Draw an outlines study (the `Renderer` signature), every fracture above the visibility floor (`visibility`)."""
    return OutlinesRadiograph(sample_visible_scene(rng, body_part, fractured, size))
