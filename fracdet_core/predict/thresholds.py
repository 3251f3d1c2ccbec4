"""The score at which an image is called fractured: given, or the per-body-part operating point of the model's evaluation.

`fracdet evaluate` chooses, per body part, a threshold that new fractured images reach with
the target sensitivity in expectation, from the calibration half of its split
(`fracdet_core.evaluate.clinical`), and stores it in `metrics.json` (`fracture` ->
body part -> `threshold`, beside the test half's figures at it); a registry
version keeps those metrics in its `metadata.json`. `--threshold auto` reads them from:

1. the registry version, when the model was named by a registry reference;
2. else `--evaluation` (a `fracdet evaluate` output or its `metrics.json`), when given;
3. else an evaluation beside the model, the first of: `<model>/metrics.json` (a registry
   version's folder, `<root>/<name>/versions/<N>`), `<model>/../evaluate/metrics.json` (the
   README's `runs/train` and `runs/evaluate`), `<model>/../../evaluate/evaluation/metrics.json`
   (a `fracdet pipeline run` folder), where `<model>` is the train output holding `saved_model/`,
   the registry version folder holding `<N>/`, or else the SavedModel folder itself.

An evaluation is used only when its `model_sha256` is this SavedModel's fingerprint: thresholds
chosen for another model mean nothing for this one.
"""

from __future__ import annotations

import dataclasses
import json
import os
import posixpath
from collections.abc import Mapping

from fracdet_core import storage
from fracdet_core.classes import BODY_PARTS
from fracdet_core.errors import ConfigError, FracdetError
from fracdet_core.evaluate.clinical import OVERALL
from fracdet_core.output_folder import EVALUATE, check_complete
from fracdet_core.predict.model import PredictModel
from fracdet_core.registry.layout import METADATA, is_saved_model_uri, version_uri
from fracdet_core.storage.paths import parent as _parent

AUTO = "auto"


class NoThresholdError(FracdetError):
    """`--threshold auto` found no evaluation of the model to take its thresholds from."""


@dataclasses.dataclass(frozen=True)
class OperatingThresholds:
    """Attributes:
        by_part: body part -> threshold; a part missing here takes `overall`.
        overall: the threshold for any other image (no detection, or a part without its own).
        source: where they came from: a metrics or metadata URI, or "--threshold".
    """

    by_part: Mapping[str, float]
    overall: float
    source: str

    def for_part(self, body_part: str | None) -> float:
        return self.by_part.get(body_part, self.overall) if body_part else self.overall


def fixed_thresholds(value: float) -> OperatingThresholds:
    """One threshold for every body part.

    Raises:
        ConfigError: `value` outside [0, 1].
    """
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"--threshold must be 'auto' or a score within [0, 1], got {value}")
    return OperatingThresholds({}, value, "--threshold")


def thresholds_from_fracture(fracture: Mapping, source: str) -> OperatingThresholds:
    """The thresholds of a `metrics.json` `fracture` block.

    Raises:
        NoThresholdError: the block holds no overall threshold (the evaluation saw no fractured image).
    """
    overall = (fracture.get(OVERALL) or {}).get("threshold")
    if overall is None:
        raise NoThresholdError(f"{source}: the evaluation chose no operating threshold (it saw no fractured image); "
                               "pass --threshold X")
    by_part = {part: float(fracture[part]["threshold"]) for part in BODY_PARTS
               if (fracture.get(part) or {}).get("threshold") is not None}
    return OperatingThresholds(by_part, float(overall), source)


def evaluation_thresholds(model: PredictModel, evaluation_uri: str | None = None) -> OperatingThresholds:
    """The operating thresholds chosen when `model` was evaluated; see the module docstring for where they are looked for.

    Raises:
        NoThresholdError: no evaluation of this model was found (the message lists where it looked).
    """
    if model.version is not None:
        source = storage.join(version_uri(model.version.root, model.version.name, model.version.version), METADATA)
        metadata = json.loads(storage.read_text(source))
        return thresholds_from_fracture((metadata.get("metrics") or {}).get("fracture") or {}, source)
    fingerprint = storage.tree_sha256(model.location)
    if evaluation_uri:
        metrics_uri = evaluation_uri if evaluation_uri.endswith(".json") else storage.join(evaluation_uri, "metrics.json")
        metrics = _read_metrics(metrics_uri)
        if metrics is None:
            raise NoThresholdError(f"{metrics_uri}: no evaluation metrics there; pass --threshold X")
        if metrics.get("model_sha256") != fingerprint:
            raise NoThresholdError(f"{metrics_uri}: this evaluation measured another model (model_sha256 "
                                   f"{metrics.get('model_sha256')}, not {fingerprint} of {model.location}); pass --threshold X")
        return thresholds_from_fracture(metrics.get("fracture") or {}, metrics_uri)
    looked = []
    for metrics_uri in _beside(model.location):
        metrics = _read_metrics(metrics_uri)
        if metrics is None:
            looked.append(f"{metrics_uri} (none)")
        elif metrics.get("model_sha256") != fingerprint:
            looked.append(f"{metrics_uri} (measured another model)")
        else:
            return thresholds_from_fracture(metrics.get("fracture") or {}, metrics_uri)
    raise NoThresholdError(f"--threshold auto: no evaluation of {model.location} found; looked at {', '.join(looked)}. "
                           "Name a registry version (<root>/<name>@champion), pass --evaluation, or pass --threshold X")


def _read_metrics(uri: str) -> dict | None:
    if not storage.exists(uri):
        return None
    try:
        check_complete(_parent(uri), EVALUATE)  # a publish on gs:// cut short may mix two evaluations
    except ConfigError as error:
        raise NoThresholdError(f"{error}; or pass --threshold X") from None
    try:
        return json.loads(storage.read_text(uri))
    except (ValueError, UnicodeDecodeError) as error:
        raise NoThresholdError(f"{uri}: not valid JSON ({error}); pass --threshold X") from None


def _beside(location: str) -> list[str]:
    """Where an evaluation of the SavedModel at `location` is looked for, in order."""
    named_saved_model = posixpath.basename(location.rstrip("/").replace(os.sep, "/")) == "saved_model"
    model_folder = _parent(location) if named_saved_model or is_saved_model_uri(location) else location
    run_folder = _parent(model_folder)
    return [
        storage.join(model_folder, "metrics.json"),
        storage.join(run_folder, "evaluate", "metrics.json"),
        storage.join(_parent(run_folder), "evaluate", "evaluation", "metrics.json"),
    ]


