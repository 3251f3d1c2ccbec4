"""The registry as one interface with two backends: fracdet's own layout on a folder or bucket, or an MLflow registry.

The stages, the command and `predict` call `open_registry(uri)` and then only this interface, so
they do not know which backend they use (DESIGN.md, "Registry layout"). Both keep the same
guarantees: a version is never overwritten; an evaluation that is not the model's is refused;
a killed registration leaves no version that looks complete; concurrent registrations each get
their own number; promote and rollback move the `champion` alias and record who and why.

- `FileRegistry` (`fracdet_core.registry.files`): any other URI, a local path or `gs://`.
- `MlflowRegistry` (`fracdet_core.registry.mlflow_registry`): `mlflow://HOST:PORT`,
  `mlflow+https://HOST` or `mlflow://` (MLFLOW_TRACKING_URI); imported only for those, so the
  file registry never imports MLflow.
"""

from __future__ import annotations

from fracdet_core.registry.interface import Registry


def open_registry(uri: str) -> Registry:
    """The backend for a registry URI: MLflow's for `mlflow://...`, else fracdet's own layout at that path."""
    from fracdet_core.tracking.connection import is_mlflow_registry

    if is_mlflow_registry(uri):
        from fracdet_core.registry.mlflow_registry import MlflowRegistry

        return MlflowRegistry(uri)
    from fracdet_core.registry.files import FileRegistry

    return FileRegistry(uri)
