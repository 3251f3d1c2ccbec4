"""Synthetic radiographs in the Ultralytics YOLO layout: the data every test and the demo use.

`generate_dataset` and `SynthSummary` load the renderer on first use, so importing the
configuration stays cheap.
"""

from __future__ import annotations

import importlib

from fracdet_core.synth.config import SynthConfig

__all__ = ["SynthConfig", "SynthSummary", "generate_dataset"]


def __getattr__(name: str) -> object:
    if name in ("SynthSummary", "generate_dataset"):
        return getattr(importlib.import_module("fracdet_core.synth.dataset"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
