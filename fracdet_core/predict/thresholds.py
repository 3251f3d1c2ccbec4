"""The score at which an image is called fractured: given, or the operating thresholds the model serves with, by reference.

`fracdet evaluate` chooses, per body part, a threshold that new fractured images reach with the
target sensitivity in expectation (the "suspicious" operating point: an image reaching it is
called fractured), and one that new normal images stay under with the target specificity (the
"definite" point: a call reaching it is definite), and writes them as operating_thresholds.json
(`fracdet_core.operating_thresholds`); registration keeps that file with the version.
`--threshold auto` reads the file a reference names, and no other:

1. `--evaluation`, when given: an operating thresholds file, or the folder holding one (a
   `fracdet evaluate` output, a registry version's folder);
2. else, for a model named by a registry reference, the file its version keeps.

A model named by a plain URI names no thresholds: nothing is looked for beside it, since where
a model lies says nothing of which evaluation chose its thresholds. A file is used only when its
`model_sha256` is this SavedModel's fingerprint: thresholds chosen for another model mean nothing
for this one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from fracdet_core import storage
from fracdet_core.errors import ConfigError, FracdetError
from fracdet_core.operating_thresholds import FILE_NAME, OperatingThresholdsFile, read_thresholds, thresholds_location
from fracdet_core.predict.model import PredictModel

_ADVICE = "pass --threshold X"


class NoThresholdError(FracdetError):
    """`--threshold auto` found no operating thresholds of the model by the references given."""


@dataclasses.dataclass(frozen=True)
class OperatingThresholds:
    """Attributes:
        by_part: body part -> threshold; a part missing here takes `overall`.
        overall: the threshold for any other image (no detection, or a part without its own).
        source: where they came from: an operating thresholds file's URI, or "--threshold".
        definite_by_part, definite_overall: the definite operating point's thresholds, likewise;
            `definite_overall` None: no call is definite (`--threshold`, a version 1 file, or an
            evaluation that chose none).
        in_scope_threshold: an image whose model in-scope score is below it is outside the
            indications; None: the model's in-scope score decides nothing.
    """

    by_part: Mapping[str, float]
    overall: float
    source: str
    definite_by_part: Mapping[str, float] = dataclasses.field(default_factory=dict)
    definite_overall: float | None = None
    in_scope_threshold: float | None = None

    def for_part(self, body_part: str | None) -> float:
        return self.by_part.get(body_part, self.overall) if body_part else self.overall

    def definite_for_part(self, body_part: str | None) -> float | None:
        """The score at which a call on an image of `body_part` is definite; None: no call is."""
        return self.definite_by_part.get(body_part, self.definite_overall) if body_part else self.definite_overall


def fixed_thresholds(value: float) -> OperatingThresholds:
    """One threshold for every body part.

    Raises:
        ConfigError: `value` outside [0, 1].
    """
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"--threshold must be 'auto' or a score within [0, 1], got {value}")
    return OperatingThresholds({}, value, "--threshold")


def referenced_thresholds(model: PredictModel, evaluation_uri: str | None = None) -> OperatingThresholds:
    """The operating thresholds of `model` that the references name; see the module docstring for which.

    Args:
        model: the model `fracdet predict` runs.
        evaluation_uri: `--evaluation`: an operating thresholds file, or the folder holding one.

    Raises:
        ThresholdsFileError: the file named is missing or breaks its schema.
        NoThresholdError: no reference names thresholds, they were chosen for another model, or
            their evaluation chose none.
        RegistryCorruptError: the version's kept file differs from what its metadata.json recorded.
    """
    if evaluation_uri:
        uri = thresholds_location(evaluation_uri)
        _, chosen = read_thresholds(uri, f"name a `fracdet evaluate` output or its {FILE_NAME} with --evaluation, or {_ADVICE}")
        fingerprint = _fingerprint(model)
        if chosen.model_sha256 != fingerprint:
            raise NoThresholdError(f"{uri}: these thresholds were chosen for another model (model_sha256 {chosen.model_sha256}, "
                                   f"not {fingerprint} of {model.location}); name this model's evaluation, or {_ADVICE}")
        return _usable(chosen, uri)
    if model.version is not None:
        found = model.version.thresholds
        if found is None:
            raise NoThresholdError(f"{model.reference}: version {model.version.version} was registered before versions kept "
                                   f"their operating thresholds; pass --evaluation with its evaluation, or {_ADVICE}")
        return _usable(found[1], found[0])
    raise NoThresholdError(
        f"--threshold auto: {model.reference} is a model URI, which names no operating thresholds; name a registry "
        f"version (<root>/<name>@champion), pass --evaluation with this model's `fracdet evaluate` output or its "
        f"{FILE_NAME}, or {_ADVICE}"
    )


def _fingerprint(model: PredictModel) -> str:
    """The model's SavedModel fingerprint: its registry version's record, else hashed from its files."""
    if model.version is not None:
        return model.version.metadata["model_sha256"]
    return storage.tree_sha256(model.location)


def _usable(chosen: OperatingThresholdsFile, uri: str) -> OperatingThresholds:
    """The thresholds predict calls with.

    Raises:
        NoThresholdError: the evaluation chose none (its calibration half held no fractured image).
    """
    if chosen.overall is None:
        raise NoThresholdError(f"{uri}: the evaluation chose no operating threshold (its calibration half held no fractured "
                               f"image); {_ADVICE}")
    return OperatingThresholds(dict(chosen.by_body_part), chosen.overall, uri, dict(chosen.definite_by_body_part),
                               chosen.definite_overall, chosen.in_scope_threshold)
