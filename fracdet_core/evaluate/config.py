"""The settings of an evaluation, and the version of the metrics it writes.

Kept apart from the code that measures, compares and reports, so that each of those reads the
settings without importing the others.
"""

from __future__ import annotations

import dataclasses
import hashlib

from fracdet_core import defaults
from fracdet_core.errors import ConfigError

# Of metrics.json; part of the cache key, so a new schema measures the champion again. 2: the figures are
# of the test half, at thresholds chosen on the calibration half (`partition`, `calibration_fracture`).
# 3: the overall ROC and AUC rank images by their calls' normalised scores (`fracture_call`), so a
# champion measured under 2 is measured again before its AUC is compared with a candidate's.
# 4: each threshold is the split-conformal rank of the calibration half's fractured scores
# (`clinical.split_conformal_threshold`), one rank lower than the highest reaching the target there.
# 5: each `fracture` group holds the definite operating point too (`definite`), at `target_specificity`;
# out-of-scope images (`ImageTruth.in_scope`) are left out of the detection and fracture figures, and
# `indications` says what the in-scope threshold keeps and turns away (`evaluate.indications`).
SCHEMA_VERSION = 5


@dataclasses.dataclass(frozen=True)
class EvaluateConfig:
    """Attributes:
        split: the ingest split to evaluate on.
        target_sensitivity: image-level sensitivity the per-body-part thresholds are chosen for,
            on the calibration half of the split (the "suspicious" operating point).
        target_specificity: image-level specificity the per-body-part "definite" thresholds are
            chosen for, on the same half (`evaluate.definite`).
        target_in_scope_kept: the share of in-scope images the in-scope threshold is chosen to keep,
            on the same half (`evaluate.indications`).
        froc_iou: overlap at which a fracture box counts as found (FROC).
        bootstrap_resamples: resamples for the mAP@0.5 confidence interval.
        batch_size: images per call of the serving signature.
        latency_repeats: single-image calls timed for `latency_ms`.
        show_progress: show a progress bar.
    """

    split: str = "val"
    target_sensitivity: float = defaults.TARGET_SENSITIVITY
    target_specificity: float = defaults.TARGET_SPECIFICITY
    target_in_scope_kept: float = defaults.TARGET_IN_SCOPE_KEPT
    froc_iou: float = 0.3
    bootstrap_resamples: int = 1000
    batch_size: int = 8
    latency_repeats: int = 20
    show_progress: bool = True

    def __post_init__(self) -> None:
        if not 0 < self.target_sensitivity <= 1:
            raise ConfigError(f"target_sensitivity must be within (0, 1], got {self.target_sensitivity}")
        if not 0 < self.target_specificity <= 1:
            raise ConfigError(f"target_specificity must be within (0, 1], got {self.target_specificity}")
        if not 0 < self.target_in_scope_kept < 1:
            raise ConfigError(f"target_in_scope_kept must be within (0, 1), got {self.target_in_scope_kept}")
        if not 0 < self.froc_iou <= 1:
            raise ConfigError(f"froc_iou must be within (0, 1], got {self.froc_iou}")
        if self.bootstrap_resamples < 1 or self.batch_size < 1 or self.latency_repeats < 1:
            raise ConfigError("bootstrap_resamples, batch_size and latency_repeats must be at least 1")

    def fingerprint(self) -> str:
        """What the metrics depend on besides model and data (not the batch size or the bar)."""
        settings = (self.split, self.target_sensitivity, self.target_specificity, self.target_in_scope_kept, self.froc_iou,
                    self.bootstrap_resamples,
                    SCHEMA_VERSION)
        return hashlib.sha256(repr(settings).encode()).hexdigest()[:12]
