"""`fracdet predict`'s settings, checked on creation: the fracture call, the batch, the input limits and the pictures."""

from __future__ import annotations

import dataclasses

from fracdet_core.errors import ConfigError
from fracdet_core.limits import DecodeLimits


@dataclasses.dataclass(frozen=True)
class DisplayConfig:
    """Attributes:
        max_boxes: most boxes drawn on one image.
        min_score: draw boxes scoring at least this; None: the image's operating threshold.
        max_overlap: a box overlapping a drawn, more confident box of the same finding by more than
            this share of the smaller box's area is not drawn.
    """

    max_boxes: int = 5
    min_score: float | None = None
    max_overlap: float = 0.3

    def __post_init__(self) -> None:
        if self.max_boxes < 0:
            raise ConfigError(f"max_boxes must be 0 or more, got {self.max_boxes}")
        if self.min_score is not None and not 0.0 <= self.min_score <= 1.0:
            raise ConfigError(f"the drawing score must be within [0, 1], got {self.min_score}")
        if not 0.0 <= self.max_overlap <= 1.0:
            raise ConfigError(f"max_overlap must be within [0, 1], got {self.max_overlap}")


@dataclasses.dataclass(frozen=True)
class PredictConfig:
    """Attributes:
        threshold: the fracture-call score for every body part; None: the operating thresholds by reference.
        evaluation_uri: the operating thresholds file to use, or the folder holding one (a `fracdet evaluate`
            output); None: the registry version's (see `thresholds`).
        batch_size: images per call of the signature.
        display: which boxes the pictures show.
        show_progress: show a progress bar.
        limits: the pixel and byte limits (and ingest's other bounds) each input must meet
            (`decompression_bomb`, `file_too_large`).
    """

    threshold: float | None = None
    evaluation_uri: str | None = None
    batch_size: int = 8
    display: DisplayConfig = dataclasses.field(default_factory=DisplayConfig)
    show_progress: bool = True
    limits: DecodeLimits = dataclasses.field(default_factory=DecodeLimits)

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {self.batch_size}")
