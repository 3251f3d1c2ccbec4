"""What `fracdet synth` generates: the configuration, checked on creation.

Kept apart from the renderer so the CLI can build its parser without importing NumPy or SciPy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType

from fracdet_core.classes import BODY_PARTS
from fracdet_core.errors import ConfigError

SPLIT_FOLDERS: Mapping[str, str] = MappingProxyType({"train": "train", "val": "valid"})
IMAGE_FORMATS = ("png", "dcm")
# The renderers, each drawn by code of its own (`radiograph.RENDERER_MODULES`); the first is the default.
RENDERERS = ("tubes", "outlines")

# Roughly the body-part mix of the musculoskeletal radiographs the real data comes from.
DEFAULT_BODY_PART_SHARES: Mapping[str, float] = MappingProxyType(
    {"ELBOW": 0.2, "FINGER": 0.18, "FOREARM": 0.12, "HAND": 0.22, "SHOULDER": 0.28}
)


@dataclasses.dataclass(frozen=True)
class SynthConfig:
    """What to generate.

    Attributes:
        train, val: number of images per split.
        size: longer image side, pixels; the shorter is 78-100% of it.
        seed: the whole dataset is a function of it.
        image_format: "png" (8-bit grayscale) or "dcm" (12-bit CR DICOM).
        positive_share: share of labelled studies with a fracture.
        background_share: share of training images written without a label file.
        body_part_shares: relative frequency of each body part.
        renderer: which renderer draws the images: "tubes" (bones as tapered tubes) or
            "outlines" (bones as outlines that overlap at the joints). The same seed plans the
            same studies (body part, fracture, background) with either.
        out_of_scope_train, out_of_scope_val: out-of-scope images per split (radiographs of other
            anatomy, CT, MR, ultrasound, photographs, documents; `out_of_scope.kinds`), spread
            evenly over the kinds, written beside the YOLO folders without labels. They are drawn
            on the tubes renderer's film whatever `renderer` says, and change no in-scope image.
    """

    train: int = 200
    val: int = 50
    size: int = 512
    seed: int = 0
    image_format: str = "png"
    positive_share: float = 0.45
    background_share: float = 0.11
    body_part_shares: Mapping[str, float] = dataclasses.field(default_factory=lambda: dict(DEFAULT_BODY_PART_SHARES))
    renderer: str = RENDERERS[0]
    out_of_scope_train: int = 0
    out_of_scope_val: int = 0

    def __post_init__(self) -> None:
        if self.train < 0 or self.val < 0 or self.train + self.val == 0:
            raise ConfigError(f"image counts must be >= 0 and not both 0, got train={self.train} val={self.val}")
        if self.out_of_scope_train < 0 or self.out_of_scope_val < 0:
            raise ConfigError(
                f"out-of-scope image counts must be >= 0, got train={self.out_of_scope_train} val={self.out_of_scope_val}"
            )
        if not 64 <= self.size <= 4096:
            raise ConfigError(f"size must be within [64, 4096] pixels, got {self.size}")
        if self.image_format not in IMAGE_FORMATS:
            raise ConfigError(f"image format must be one of {', '.join(IMAGE_FORMATS)}, got {self.image_format!r}")
        for name in ("positive_share", "background_share"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be within [0, 1], got {value}")
        if set(self.body_part_shares) != set(BODY_PARTS) or min(self.body_part_shares.values()) < 0:
            raise ConfigError(
                f"body_part_shares must give a non-negative share for exactly {', '.join(BODY_PARTS)}, "
                f"got {dict(self.body_part_shares)}"
            )
        if sum(self.body_part_shares.values()) <= 0:
            raise ConfigError("body_part_shares must not all be 0")
        if self.renderer not in RENDERERS:
            raise ConfigError(f"renderer must be one of {', '.join(RENDERERS)}, got {self.renderer!r}")
