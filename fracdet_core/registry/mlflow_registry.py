"""An MLflow model registry behind the `Registry` interface: registered model versions, the `champion` alias, lineage tags.

A version that fracdet registered carries `fracdet.model_sha256` and the rest of its lineage as
tags (`fracdet_core.registry.mlflow_publish`); versions without it were made by someone else and
are not fracdet's to list, serve or promote. Its number is MLflow's, its URI `models:/<name>/<N>`.

Reading a version's files (`fetch`, for `predict` and the champion that `evaluate` compares
against) downloads its artifact folder once into a local cache keyed by the model's
fingerprint, checks the SavedModel against that fingerprint and the operating thresholds against
metadata.json, and publishes the folder by renaming it whole.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import os
import shutil
import tempfile

from fracdet_core import defaults, storage
from fracdet_core.errors import NotFoundError
from fracdet_core.registry.claims import IncompleteVersion
from fracdet_core.registry.inputs import read_registration_inputs
from fracdet_core.registry.interface import RegistryVersion
from fracdet_core.registry.layout import METADATA
from fracdet_core.registry.mlflow_champion import ChampionAlias
from fracdet_core.registry.mlflow_publish import SAVED_MODEL_FOLDER, TAG_PREFIX, find_version_of, publish
from fracdet_core.registry.names import check_name, check_version
from fracdet_core.registry.records import parse_record
from fracdet_core.registry.thresholds import METADATA_FIELD as THRESHOLDS_FIELD
from fracdet_core.registry.thresholds import kept_thresholds
from fracdet_core.registry.verify import check_copy
from fracdet_core.registry.versions import METADATA_FIELDS
from fracdet_core.tracking.connection import MlflowServer, connect, tracking_uri_of


def cache_root() -> str:
    """Where downloaded versions are kept: $XDG_CACHE_HOME/fracdet/mlflow, else ~/.cache/fracdet/mlflow."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "fracdet", "mlflow")


@dataclasses.dataclass(frozen=True)
class MlflowRegistry:
    """The registry of the MLflow server that `uri` (`mlflow://HOST:PORT`, `mlflow+https://...`, `mlflow://`) names."""

    uri: str

    @functools.cached_property
    def server(self) -> MlflowServer:
        return connect(tracking_uri_of(self.uri))

    def register(self, model_uri: str, evaluation_uri: str, name: str = defaults.MODEL_NAME, *, eda_uri: str | None = None,
                 run: dict | None = None, operating_thresholds_uri: str | None = None) -> tuple[dict, bool]:
        check_name(name)
        inputs = read_registration_inputs(model_uri, evaluation_uri, eda_uri=eda_uri,
                                          operating_thresholds_uri=operating_thresholds_uri)
        existing = find_version_of(self.server, name, inputs.model_sha256)
        if existing is not None:
            return self._summary(existing), False
        return self._summary(publish(self.server, inputs, name, run)), True

    def list_versions(self, name: str) -> list[dict]:
        found = self.server.call(f"search the versions of {name!r}", lambda: self.server.client.search_model_versions(
            f"name = '{check_name(name)}'"))
        ours = [item for item in found if f"{TAG_PREFIX}model_sha256" in item.tags]
        return [self._summary(item) for item in sorted(ours, key=lambda item: int(item.version))]

    def get_version(self, name: str, version: int) -> dict:
        found = self._model_version(name, version)
        return self._fill(self._read_metadata(found), found)

    def alias_version(self, name: str, alias: str) -> int | None:
        return self._champion(name).version(alias)

    def promote(self, name: str, version: int, *, require_blessed: bool = False, reason: str = "") -> dict:
        return self._champion(name).promote(self._summary(self._model_version(name, version)), require_blessed=require_blessed,
                                            reason=reason)

    def rollback(self, name: str, *, reason: str = "") -> dict:
        return self._champion(name).rollback(reason=reason)

    def champion_record(self, name: str) -> dict | None:
        return self._champion(name).record()

    def fetch(self, name: str, version: int) -> RegistryVersion:
        found = self._model_version(name, version)
        folder = self._download(found)
        metadata = self._fill(parse_record(storage.read_bytes(os.path.join(folder, METADATA)),
                                           f"{found.source}/{METADATA}", {"name": str, "model_sha256": str}), found)
        thresholds = None
        if metadata.get(THRESHOLDS_FIELD) is not None:
            thresholds = kept_thresholds(metadata, os.path.join(folder, "operating_thresholds.json"), metadata["uri"])
        return RegistryVersion(self.uri, name, version, metadata, os.path.join(folder, SAVED_MODEL_FOLDER), thresholds)

    def files_uri(self, metadata: dict) -> str:
        return metadata["mlflow_source"]

    def reference(self, name: str, target: str) -> str:
        return f"{self.uri.rstrip('/')}/{check_name(name)}@{target}"

    def evaluation_cache(self, name: str) -> str | None:
        return None  # an MLflow server offers no shared folder to cache in; the champion is evaluated each time

    def incomplete(self, name: str) -> list[IncompleteVersion]:
        return []  # a version is created whole in one call; a killed registration leaves none (mlflow_publish)

    def clean_incomplete(self, name: str, older_than: datetime.timedelta) -> list[IncompleteVersion]:
        return []

    def _champion(self, name: str) -> ChampionAlias:
        return ChampionAlias(self.server, check_name(name))

    def _model_version(self, name: str, version: int) -> object:
        """MLflow's ModelVersion of a version fracdet registered.

        Raises:
            NotFoundError: no such version, or one that fracdet did not register.
        """
        from mlflow.exceptions import MlflowException

        check_name(name)
        check_version(version)

        def get() -> object | None:
            try:
                return self.server.client.get_model_version(name, str(version))
            except MlflowException as error:
                if error.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                    return None
                raise

        found = self.server.call(f"read version {version} of {name!r}", get)
        if found is None:
            raise NotFoundError(f"{self.uri}: model {name!r} has no version {version}")
        if f"{TAG_PREFIX}model_sha256" not in found.tags:
            raise NotFoundError(f"{self.uri}: version {version} of {name!r} was not registered by fracdet (it has no "
                                f"{TAG_PREFIX}model_sha256 tag)")
        return found

    def _summary(self, found: object) -> dict:
        """What `registry list` shows of a version, from its tags alone (no download)."""
        tags = {key[len(TAG_PREFIX):]: value for key, value in found.tags.items() if key.startswith(TAG_PREFIX)}
        overall = {key: float(tags[key]) for key in ("sensitivity", "specificity") if key in tags}
        return self._fill({
            "name": found.name, "created_at": tags.get("created_at", ""), "source_model_uri": tags.get("source_model_uri", ""),
            "model_sha256": tags["model_sha256"], "blessed": tags.get("blessed") == "true",
            "git_commit": tags.get("git_commit"), "data_manifest_sha256": tags.get("data_manifest_sha256"),
            "evaluation_sha256": tags.get("evaluation_sha256"),
            "metrics": {"map50": float(tags["map50"]) if "map50" in tags else None, "fracture": {"overall": overall}},
        }, found)

    def _fill(self, metadata: dict, found: object) -> dict:
        """The metadata with MLflow's number and URIs for the version."""
        return {**metadata, "version": int(found.version), "uri": f"models:/{found.name}/{found.version}",
                "saved_model_uri": f"{found.source}/{SAVED_MODEL_FOLDER}", "mlflow_source": found.source,
                "mlflow_run_id": found.run_id}

    def _read_metadata(self, found: object) -> dict:
        """The version's metadata.json, downloaded.

        Raises:
            RegistryCorruptError: damaged.
        """
        with tempfile.TemporaryDirectory(prefix="fracdet-mlflow-") as folder:
            local = self.server.call(f"download the metadata of version {found.version}", lambda: _download_artifacts(
                self.server, f"{found.source}/{METADATA}", folder))
            uri = f"{found.source}/{METADATA}"
            fields = {key: kind for key, kind in METADATA_FIELDS.items() if key not in ("version", "uri", "saved_model_uri")}
            return parse_record(storage.read_bytes(local), uri, fields)

    def _download(self, found: object) -> str:
        """The version's artifact folder in the local cache, downloaded and checked when not there yet."""
        sha256 = found.tags[f"{TAG_PREFIX}model_sha256"]
        target = os.path.join(cache_root(), found.name, sha256)
        if os.path.exists(os.path.join(target, METADATA)):
            return target
        os.makedirs(os.path.dirname(target), exist_ok=True)
        staging = tempfile.mkdtemp(prefix=f".{sha256[:12]}-", dir=os.path.dirname(target))
        try:
            local = self.server.call(f"download version {found.version} of {found.name!r}",
                                     lambda: _download_artifacts(self.server, found.source, staging))
            check_copy(found.source, sha256, os.path.join(local, SAVED_MODEL_FOLDER))
            try:
                os.rename(local, target)
            except OSError:
                if not os.path.exists(os.path.join(target, METADATA)):  # else another process published it first
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return target


def _download_artifacts(server: MlflowServer, artifact_uri: str, folder: str) -> str:
    """MLflow's download of one artifact URI (file or folder) into `folder`; the local path."""
    from mlflow.artifacts import download_artifacts

    return download_artifacts(artifact_uri=artifact_uri, dst_path=folder, tracking_uri=server.uri)

