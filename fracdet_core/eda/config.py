"""EDA settings: class weighting, data-check limits and drift thresholds, checked on creation."""

from __future__ import annotations

import dataclasses

from fracdet_core import defaults
from fracdet_core.errors import ConfigError

WEIGHTINGS = ("balanced", "effective")


@dataclasses.dataclass(frozen=True)
class EdaConfig:
    """How to weigh classes and which data counts as broken or drifted.

    Attributes:
        weighting: "balanced" (scikit-learn's n / (k * n_c)) or "effective" (Cui et al. 2019).
        beta: the effective-number hyper-parameter, in [0, 1).
        max_weight: cap on any class weight; rare and absent classes get at most this.
        max_quarantine_share: fail when more of the files found were quarantined.
        max_boxes_per_image: fail when an image has more boxes.
        min_box_pixels: boxes narrower or lower than this many pixels count as degenerate.
        max_degenerate_box_share: fail when more of the boxes are degenerate.
        min_class_boxes: warn when a class has fewer training boxes.
        max_share_gap: warn when a class's share of boxes differs more between train and val.
        psi_threshold: flag class-share drift when the population stability index exceeds it.
        ks_p_value: flag box-size drift when the KS test's p-value is below it.
        thumbnails_per_class: sample images per class drawn in the report.
    """

    weighting: str = defaults.CLASS_WEIGHTING
    beta: float = 0.999
    max_weight: float = 10.0
    max_quarantine_share: float = defaults.MAX_QUARANTINE_SHARE
    max_boxes_per_image: int = 50
    min_box_pixels: float = 2.0
    max_degenerate_box_share: float = 0.01
    min_class_boxes: int = 20
    max_share_gap: float = 0.1
    psi_threshold: float = 0.2
    ks_p_value: float = 0.01
    thumbnails_per_class: int = 3

    def __post_init__(self) -> None:
        if self.weighting not in WEIGHTINGS:
            raise ConfigError(f"weighting must be one of {', '.join(WEIGHTINGS)}, got {self.weighting!r}")
        if not 0.0 <= self.beta < 1.0:
            raise ConfigError(f"beta must be within [0, 1), got {self.beta}")
        if not self.max_weight >= 1.0:
            raise ConfigError(f"max_weight must be at least 1, got {self.max_weight}")
        for name in ("max_quarantine_share", "max_degenerate_box_share", "max_share_gap", "ks_p_value"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be within [0, 1], got {value}")
        for name in ("max_boxes_per_image", "min_class_boxes", "thumbnails_per_class"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be 0 or more, got {getattr(self, name)}")
        if self.psi_threshold <= 0 or self.min_box_pixels < 0:
            raise ConfigError(
                f"psi_threshold must be above 0 and min_box_pixels 0 or more, got {self.psi_threshold}, {self.min_box_pixels}"
            )
