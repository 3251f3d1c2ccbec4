"""A version's operating thresholds: checked and kept at registration, read back for `predict` and serving.

Registration takes the evaluation's operating_thresholds.json (`fracdet_core.operating_thresholds`),
refuses it unless it was chosen for the model registered by the evaluation registered, copies it
into the version as read, and records the copy in metadata.json (`operating_thresholds`: the file's
name, its sha256, schema version and rule). A reader of the version gets that file back, checked
against the record, so the thresholds a version serves with are the ones its evaluation chose.
"""

from __future__ import annotations

import dataclasses
import hashlib

from fracdet_core import storage
from fracdet_core.operating_thresholds import (
    FILE_NAME,
    OperatingThresholdsFile,
    parse_thresholds,
    read_thresholds,
)
from fracdet_core.registry.layout import metadata_uri, thresholds_uri
from fracdet_core.registry.records import corrupt
from fracdet_core.registry.verify import ModelMismatchError

METADATA_FIELD = "operating_thresholds"
_REGISTER_ADVICE = "register the output of `fracdet evaluate` run on this model, which writes operating_thresholds.json"


def read_for_registration(
    uri: str, model_uri: str, model_sha256: str, metrics_uri: str, metrics_json: bytes,
) -> tuple[bytes, dict]:
    """The thresholds file's bytes, as read, and metadata.json's record of them, once checked to belong to the model
    and the evaluation registered.

    Args:
        uri: the operating thresholds file.
        model_uri, model_sha256: the model registered and its fingerprint.
        metrics_uri, metrics_json: the evaluation's metrics.json registered with it, and its bytes.

    Raises:
        ThresholdsFileError: no file there, or one that breaks its schema.
        ModelMismatchError: chosen for another model, or written by another evaluation than the one registered.
    """
    data, chosen = read_thresholds(uri, _REGISTER_ADVICE)
    if chosen.model_sha256 != model_sha256:
        raise ModelMismatchError(
            f"the operating thresholds {uri} were chosen for another model: they name model_sha256 {chosen.model_sha256}, "
            f"but the model being registered, {model_uri}, has sha256 {model_sha256}; {_REGISTER_ADVICE}. Nothing was registered."
        )
    metrics_sha256 = hashlib.sha256(metrics_json).hexdigest()
    if chosen.evaluation.metrics_sha256 != metrics_sha256:
        raise ModelMismatchError(
            f"the operating thresholds {uri} come from another evaluation than {metrics_uri}: they name its metrics.json "
            f"sha256 {chosen.evaluation.metrics_sha256}, but {metrics_uri} has sha256 {metrics_sha256}; register an "
            "evaluation's metrics.json with the operating_thresholds.json it wrote beside it. Nothing was registered."
        )
    # What metadata.json records of the kept file; the values are the file's alone.
    record = {"file": FILE_NAME, "sha256": hashlib.sha256(data).hexdigest(), "schema_version": chosen.schema_version,
              "rule": dataclasses.asdict(chosen.rule)}
    if chosen.definite_rule is not None:
        record["definite_rule"] = dataclasses.asdict(chosen.definite_rule)
    return data, record


def version_thresholds(metadata: dict, registry: str) -> tuple[str, OperatingThresholdsFile] | None:
    """The operating thresholds a complete version keeps, with their URI; None for a version registered without them.

    Args:
        metadata: the version's metadata.json, as `versions.read_metadata` returns it.
        registry: the registry root holding it.

    Raises:
        RegistryCorruptError: the kept file is missing, differs from what metadata.json recorded, or names another
            model than the version's.
        ThresholdsFileError: the kept file breaks its schema.
    """
    if metadata.get(METADATA_FIELD) is None:
        return None
    name, version = metadata["name"], metadata["version"]
    return kept_thresholds(metadata, thresholds_uri(registry, name, version), metadata_uri(registry, name, version))


def kept_thresholds(metadata: dict, uri: str, recorded: str) -> tuple[str, OperatingThresholdsFile]:
    """The operating thresholds file at `uri` that a version's metadata (read from `recorded`) records, checked against it.

    Raises:
        RegistryCorruptError: the file is missing, differs from the record, or names another model than the version's.
        ThresholdsFileError: the file breaks its schema.
    """
    record = metadata[METADATA_FIELD]
    if not storage.exists(uri):
        raise corrupt(recorded, f"it records operating thresholds, but {uri} is missing")
    data = storage.read_bytes(uri)
    digest = hashlib.sha256(data).hexdigest()
    if digest != record.get("sha256"):
        raise corrupt(uri, f"its sha256 is {digest}, but {recorded} recorded {record.get('sha256')}")
    chosen = parse_thresholds(data, uri, "restore it from a backup or repair it by hand")
    if chosen.model_sha256 != metadata["model_sha256"]:
        raise corrupt(uri, f"it names model_sha256 {chosen.model_sha256}, but the version's model is {metadata['model_sha256']}")
    return uri, chosen
