"""Synthetic radiographs in the Ultralytics YOLO layout: the data every test and the demo use."""

from fracdet_core.synth.dataset import SynthConfig, SynthSummary, generate_dataset

__all__ = ["SynthConfig", "SynthSummary", "generate_dataset"]
