"""Reading the registry's versions: one version's metadata, checked to be whole and about that version, or all of them.

A version is complete, and so listed, once its `metadata.json` is there; registration
(`fracdet_core.registry.run`) writes that file last.
"""

from __future__ import annotations

import re

from fracdet_core import storage
from fracdet_core.errors import NotFoundError
from fracdet_core.registry.layout import metadata_uri, model_root
from fracdet_core.registry.names import check_version
from fracdet_core.registry.records import corrupt, read_record

METADATA_FIELDS = {"name": str, "version": int, "created_at": str, "uri": str, "saved_model_uri": str, "source_model_uri": str,
                   "model_sha256": str, "metrics": dict}
_METADATA_FILE = re.compile(r"/versions/([1-9][0-9]*)/metadata\.json$")


def read_metadata(registry: str, name: str, version: int) -> dict:
    """A version's metadata, checked to be whole and to be about the version whose folder holds it.

    Raises:
        NotFoundError: no metadata.json there.
        RegistryCorruptError: damaged, or naming another model or version.
    """
    uri = metadata_uri(registry, name, version)
    metadata = read_record(uri, METADATA_FIELDS)
    if (metadata["name"], metadata["version"]) != (name, version):
        raise corrupt(uri, f"it describes {metadata['name']!r} version {metadata['version']}, not {name!r} version {version}")
    return metadata


def list_versions(registry: str, name: str) -> list[dict]:
    """The metadata of every complete version, oldest first.

    Raises:
        RegistryCorruptError: a metadata.json is damaged.
    """
    found = storage.list_files(storage.join(model_root(registry, name), "versions"))
    numbers = sorted({int(match[1]) for match in map(_METADATA_FILE.search, found) if match})
    return [read_metadata(registry, name, number) for number in numbers]


def get_version(registry: str, name: str, version: int) -> dict:
    """One complete version's metadata.

    Raises:
        ConfigError: `version` is not a positive whole number.
        NotFoundError: no such complete version.
        RegistryCorruptError: its metadata.json is damaged.
    """
    if not storage.exists(metadata_uri(registry, name, check_version(version))):
        raise NotFoundError(f"{registry}: model {name!r} has no version {version}")
    return read_metadata(registry, name, version)
