"""fracdet's own registry layout (`fracdet_core.registry`'s docstring) behind the `Registry` interface."""

from __future__ import annotations

import dataclasses
import datetime

from fracdet_core.registry import aliases, claims, versions
from fracdet_core.registry.claims import IncompleteVersion
from fracdet_core.registry.interface import RegistryVersion
from fracdet_core.registry.layout import evaluation_cache_uri, model_root
from fracdet_core.registry.run import register_model_version
from fracdet_core.registry.thresholds import version_thresholds


@dataclasses.dataclass(frozen=True)
class FileRegistry:
    """The registry under `uri`, a local folder or a gs:// prefix."""

    uri: str

    def register(self, model_uri: str, evaluation_uri: str, name: str, *, eda_uri: str | None = None,
                 run: dict | None = None, operating_thresholds_uri: str | None = None,
                 abandon_after: datetime.timedelta | None = claims.DEFAULT_GRACE) -> tuple[dict, bool]:
        return register_model_version(model_uri, evaluation_uri, self.uri, name, eda_uri=eda_uri, run=run,
                         operating_thresholds_uri=operating_thresholds_uri, abandon_after=abandon_after)

    def list_versions(self, name: str) -> list[dict]:
        return versions.list_versions(self.uri, name)

    def get_version(self, name: str, version: int) -> dict:
        return versions.get_version(self.uri, name, version)

    def alias_version(self, name: str, alias: str) -> int | None:
        return (aliases.read_alias(self.uri, name, alias) or {}).get("version")

    def promote(self, name: str, version: int, *, require_blessed: bool = False, reason: str = "") -> dict:
        return aliases.promote(self.uri, name, version, require_blessed=require_blessed, reason=reason)

    def rollback(self, name: str, *, reason: str = "") -> dict:
        return aliases.rollback(self.uri, name, reason=reason)

    def champion_record(self, name: str) -> dict | None:
        return aliases.read_alias(self.uri, name)

    def fetch(self, name: str, version: int) -> RegistryVersion:
        metadata = versions.get_version(self.uri, name, version)
        return RegistryVersion(self.uri, name, version, metadata, metadata["saved_model_uri"],
                               version_thresholds(metadata, self.uri))

    def files_uri(self, metadata: dict) -> str:
        return metadata["uri"]

    def reference(self, name: str, target: str) -> str:
        return f"{model_root(self.uri, name)}@{target}"

    def evaluation_cache(self, name: str) -> str | None:
        return evaluation_cache_uri(self.uri, name)

    def incomplete(self, name: str) -> list[IncompleteVersion]:
        return claims.incomplete_versions(self.uri, name)

    def clean_incomplete(self, name: str, older_than: datetime.timedelta) -> list[IncompleteVersion]:
        return claims.clean_incomplete(self.uri, name, older_than=older_than)

