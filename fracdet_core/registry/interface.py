"""The registry's interface, which both backends implement (`fracdet_core.registry.backend` says which and why)."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Protocol

from fracdet_core.operating_thresholds import OperatingThresholdsFile
from fracdet_core.registry.claims import IncompleteVersion


@dataclasses.dataclass(frozen=True)
class RegistryVersion:
    """A complete version, where its files can be read.

    Attributes:
        root: the registry URI.
        name, version: which version.
        metadata: its metadata.json (lineage, metrics, blessing), with `version` and `uri` filled in.
        saved_model_uri: its SavedModel folder, local or gs:// (an MLflow version's is a verified local copy).
        thresholds: its operating thresholds and the URI of their file; None for a version registered without them.
    """

    root: str
    name: str
    version: int
    metadata: dict
    saved_model_uri: str
    thresholds: tuple[str, OperatingThresholdsFile] | None


class Registry(Protocol):
    """What the stages, the command and `predict` ask of a registry; see the module docstring."""

    uri: str

    def register(self, model_uri: str, evaluation_uri: str, name: str, *, eda_uri: str | None = None,
                 run: dict | None = None, operating_thresholds_uri: str | None = None) -> tuple[dict, bool]:
        """Register the model as the next version; (its metadata, whether it was created now, not found registered)."""

    def list_versions(self, name: str) -> list[dict]:
        """The metadata of every complete version, oldest first."""

    def get_version(self, name: str, version: int) -> dict:
        """One complete version's metadata; NotFoundError when there is none."""

    def alias_version(self, name: str, alias: str) -> int | None:
        """The version an alias names; None when it is not set."""

    def promote(self, name: str, version: int, *, require_blessed: bool = False, reason: str = "") -> dict:
        """Point the champion alias at `version`; the alias record (`version`, `stack`, `history`)."""

    def rollback(self, name: str, *, reason: str = "") -> dict:
        """Point the champion alias back at the version before; the alias record."""

    def champion_record(self, name: str) -> dict | None:
        """The champion alias record (`version`, `stack`, `history`), or None when never set."""

    def fetch(self, name: str, version: int) -> RegistryVersion:
        """Where a complete version's SavedModel and operating thresholds can be read."""

    def files_uri(self, metadata: dict) -> str:
        """The folder holding a version's files (metadata.json, the evaluation, the operating thresholds, the card)."""

    def reference(self, name: str, target: str) -> str:
        """The reference `predict` and `evaluate` take for a version number or an alias of `name`."""

    def evaluation_cache(self, name: str) -> str | None:
        """Where evaluations of this model's champions are cached; None for no cache."""

    def incomplete(self, name: str) -> list[IncompleteVersion]:
        """Registrations that claimed a number and never completed."""

    def clean_incomplete(self, name: str, older_than: datetime.timedelta) -> list[IncompleteVersion]:
        """Remove what registrations killed longer ago than `older_than` left; what was removed."""
