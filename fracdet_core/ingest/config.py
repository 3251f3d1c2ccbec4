"""Ingest settings, checked on creation: the shard count, the worker count and the image limits."""

from __future__ import annotations

import dataclasses
import math

from fracdet_core import defaults
from fracdet_core.errors import ConfigError
from fracdet_core.limits import DecodeLimits

IMAGES_PER_AUTO_SHARD = 1000


@dataclasses.dataclass(frozen=True)
class IngestConfig:
    """How to ingest.

    Attributes:
        shards: shards per split (0: one per `IMAGES_PER_AUTO_SHARD` images); never more
            shards than a split has images, and at least one.
        workers: worker processes.
        limits: image size bounds and downscaling.
    """

    shards: int = defaults.SHARDS
    workers: int = 1
    limits: DecodeLimits = dataclasses.field(default_factory=DecodeLimits)

    def __post_init__(self) -> None:
        if self.shards < 0:
            raise ConfigError(f"shards must be 0 (automatic) or more, got {self.shards}")
        if self.workers < 1:
            raise ConfigError(f"workers must be >= 1, got {self.workers}")
        if self.limits.max_side < 0 or (self.limits.max_side and self.limits.max_side < self.limits.min_side):
            raise ConfigError(f"max_side must be 0 (keep) or at least {self.limits.min_side}, got {self.limits.max_side}")

    def shard_count(self, images: int) -> int:
        wanted = self.shards or math.ceil(images / IMAGES_PER_AUTO_SHARD)
        return max(1, min(wanted, images))
