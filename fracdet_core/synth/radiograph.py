"""The interface between a renderer and the dataset writer: one radiograph, whoever drew it.

`fracdet synth` has more than one renderer so that a detector trained on one can be judged on
another's images (a transfer judge): what it learnt must then be fractures, not one renderer's
habits. The renderers therefore share no drawing code; the dataset writer, the DICOM encoder and
the label policy see only a `Radiograph`. A renderer is a module with a `draw` function of the
`Renderer` signature, imported on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Protocol

import numpy as np

Box = tuple[float, float, float, float]  # (xmin, ymin, xmax, ymax), pixels

SIGNAL_MAX = 6.0  # detector signal (-log of the transmitted share) that saturates to white

# Renderer name (`SynthConfig.renderer`) -> the module whose `draw` renders it.
RENDERER_MODULES: Mapping[str, str] = MappingProxyType(
    {"tubes": "fracdet_core.synth.tubes", "outlines": "fracdet_core.synth.outlines"}
)


class Radiograph(Protocol):
    """One study, drawn: what it shows, how to see it and where its findings are."""

    @property
    def body_part(self) -> str: ...

    @property
    def laterality(self) -> str:
        """The lead side marker's letter, "L" or "R"."""
        ...

    @property
    def window(self) -> tuple[float, float]:
        """(low, high) signal shown as black and white: the DICOM VOI window."""
        ...

    @property
    def voi_lut_function(self) -> str:
        """How the window maps signal to grey in DICOM terms: "LINEAR" or "SIGMOID"."""
        ...

    def signal(self) -> np.ndarray:
        """The detector signal, float32 of shape (height, width), in [0, SIGNAL_MAX]."""
        ...

    def display(self, signal: np.ndarray) -> np.ndarray:
        """The 8-bit grayscale image of shape (height, width) that `signal` is shown as."""
        ...

    def fracture_boxes(self) -> list[Box]:
        """One box per fracture, pixels (xmin, ymin, xmax, ymax), inside the image."""
        ...

    def examined_box(self) -> Box:
        """The region of the bones the study examines, pixels (xmin, ymin, xmax, ymax), inside the image."""
        ...


class Renderer(Protocol):
    def __call__(self, rng: np.random.Generator, body_part: str, fractured: bool, size: int) -> Radiograph:
        """Draw a study of `body_part`, with fractures or without, whose longer side is `size` pixels."""
        ...


def draw_radiograph(renderer: str, rng: np.random.Generator, body_part: str, fractured: bool, size: int) -> Radiograph:
    """Draw a study with the renderer named `renderer` (a key of `RENDERER_MODULES`, checked by `SynthConfig`)."""
    draw: Renderer = importlib.import_module(RENDERER_MODULES[renderer]).draw
    return draw(rng, body_part, fractured, size)
