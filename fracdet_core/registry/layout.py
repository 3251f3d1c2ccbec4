"""Where each registry file lives (the layout of `fracdet_core.registry`), every segment checked on the way in."""

from __future__ import annotations

from fracdet_core import storage
from fracdet_core.operating_thresholds import FILE_NAME as THRESHOLDS_FILE
from fracdet_core.registry.names import check_alias, check_name, check_run_id, check_version

METADATA = "metadata.json"
VERSIONS = "versions"


def model_root(registry: str, name: str) -> str:
    return storage.join(registry, check_name(name))


def version_uri(registry: str, name: str, version: int) -> str:
    """The version's folder: also the `storageUri` KServe's TensorFlow predictor serves."""
    return storage.join(model_root(registry, name), VERSIONS, str(check_version(version)))


def saved_model_uri(registry: str, name: str, version: int) -> str:
    return storage.join(version_uri(registry, name, version), str(version))


def metadata_uri(registry: str, name: str, version: int) -> str:
    return storage.join(version_uri(registry, name, version), METADATA)


def thresholds_uri(registry: str, name: str, version: int) -> str:
    """The operating thresholds the version serves with (`fracdet_core.registry.thresholds`), beside its SavedModel."""
    return storage.join(version_uri(registry, name, version), THRESHOLDS_FILE)


def claims_uri(registry: str, name: str) -> str:
    return storage.join(model_root(registry, name), "claims")


def claim_uri(registry: str, name: str, version: int) -> str:
    return storage.join(claims_uri(registry, name), f"{check_version(version)}.json")


def alias_uri(registry: str, name: str, alias: str) -> str:
    return storage.join(model_root(registry, name), "aliases", check_alias(alias))


def evaluation_cache_uri(registry: str, name: str) -> str:
    """Where evaluations of this model's versions are cached, keyed by model and data fingerprints."""
    return storage.join(model_root(registry, name), "evaluation_cache")


def run_folder(registry: str, name: str, run_id: str) -> str:
    """Where one pipeline run's blessing and outcome live (`fracdet_components.run_records`)."""
    return storage.join(model_root(registry, name), "runs", check_run_id(run_id))
