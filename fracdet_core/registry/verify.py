"""The model registered is the model its evaluation measured, and the registry's copy is that model.

The registry publishes an evaluation's metrics and blessing as facts about one model, so they
must be about that model: `fracdet evaluate` writes the `storage.tree_sha256` of the SavedModel
it ran as metrics.json's `model_sha256`, and registration compares it with the fingerprint of
the SavedModel it was given before it claims a version number. After the copy, the registry's
copy is fingerprinted again, so a copy cut short or changed on the way never becomes visible.
"""

from __future__ import annotations

import re

from fracdet_core import storage
from fracdet_core.errors import FracdetError

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ModelMismatchError(FracdetError):
    """An evaluation of another model, or a registry copy that is not the model registered."""


def evaluated_model_sha256(metrics: dict, metrics_uri: str) -> str:
    """The fingerprint of the SavedModel an evaluation measured.

    Raises:
        ModelMismatchError: metrics.json does not say which model it measured.
    """
    value = metrics.get("model_sha256")
    if not isinstance(value, str) or not _SHA256.match(value):
        raise ModelMismatchError(f"{metrics_uri}: model_sha256 is {value!r}, not a sha256: the evaluation does not say which "
                                 "model it measured; register the output of `fracdet evaluate` run on this model")
    return value


def check_evaluation_of(model_uri: str, model_sha256: str, evaluation_uri: str, metrics: dict, blessing: dict | None) -> None:
    """Refuse an evaluation (metrics.json and, when it names one, blessing.json) of another model.

    Raises:
        ModelMismatchError: naming both fingerprints and both URIs.
    """
    evaluated = evaluated_model_sha256(metrics, storage.join(evaluation_uri, "metrics.json"))
    blessed = (blessing or {}).get("model_sha256", evaluated)
    for found, file_name in ((evaluated, "metrics.json"), (blessed, "blessing.json")):
        if found != model_sha256:
            raise ModelMismatchError(
                f"the evaluation {evaluation_uri} is of another model: its {file_name} names model_sha256 {found} "
                f"(model {metrics.get('model')}), but the model being registered, {model_uri}, has sha256 {model_sha256}; "
                "run `fracdet evaluate` on this model and register it with that output. Nothing was registered."
            )


def check_copy(source_uri: str, model_sha256: str, copy_uri: str) -> None:
    """Refuse a registry copy whose fingerprint is not the source's.

    Raises:
        ModelMismatchError: naming both fingerprints and both URIs.
    """
    copied = storage.tree_sha256(copy_uri)
    if copied != model_sha256:
        raise ModelMismatchError(
            f"the registry's copy {copy_uri} has sha256 {copied}, but the model registered, {source_uri}, has sha256 "
            f"{model_sha256}: the copy was cut short or one side changed during it. Nothing was published."
        )
