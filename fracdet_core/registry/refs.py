"""Model references: a plain model URI, or a registry version named `<registry root>/<name>@<version or alias>`.

Examples: `gs://bucket/registry/fracdet@champion`, `runs/registry/fracdet@3`. The part before
the last '/' is the registry root; a reference without '@' is a model URI used as is.

The same reference may carry a `registry://` prefix, which says plainly that a registry is meant
and makes a missing '@' an error instead of a model URI: `registry://runs/registry/fracdet@champion`,
`registry:///abs/registry/fracdet@3`, `registry://gs://bucket/registry/fracdet@champion`.

A root may be an MLflow registry (`mlflow://HOST:PORT/fracdet@champion`), and MLflow's own
`models:/<name>@<alias>` and `models:/<name>/<version>` name a version of the registry of
MLFLOW_TRACKING_URI's server, as MLflow reads them. Either backend answers through
`fracdet_core.registry.backend`.
"""

from __future__ import annotations

import re

from fracdet_core.errors import ConfigError, NotFoundError
from fracdet_core.registry.aliases import CHAMPION
from fracdet_core.registry.backend import open_registry
from fracdet_core.registry.interface import RegistryVersion
from fracdet_core.registry.layout import model_root
from fracdet_core.tracking.connection import is_mlflow_registry

SCHEME = "registry://"
MODELS_SCHEME = "models:/"
_REFERENCE = re.compile(r"^(?P<root>.+)/(?P<name>[a-z0-9][a-z0-9._-]*)@(?P<target>[A-Za-z0-9_-]+)$")
_MODELS = re.compile(r"^models:/(?P<name>[a-z0-9][a-z0-9._-]*)(?:@(?P<alias>[A-Za-z][A-Za-z0-9_-]*)|/(?P<version>[0-9]+))$")


def _match(reference: str) -> tuple[str, str, str] | None:
    """The reference's (root, name, target), or None for a plain model URI.

    Raises:
        ConfigError: a `registry://` or `models:/` reference that does not name a version or an alias.
    """
    if reference.startswith(MODELS_SCHEME):
        models = _MODELS.match(reference)
        if not models:
            raise ConfigError(f"{reference}: an MLflow model reference reads models:/<name>@<alias> or models:/<name>/<version>")
        return "mlflow://", models["name"], models["alias"] or models["version"]
    if not reference.startswith(SCHEME):
        match = _REFERENCE.match(reference)
    else:
        match = _REFERENCE.match(reference[len(SCHEME):])
        if not match:
            raise ConfigError(f"{reference}: a registry reference reads registry://<root>/<name>@<alias or version number>, "
                              "e.g. registry://runs/registry/fracdet@champion")
    return (match["root"], match["name"], match["target"]) if match else None


def version_reference(registry: str, name: str, target: str = CHAMPION) -> str:
    """The reference to a version or alias (default: the champion) of `name` in `registry`."""
    return open_registry(registry).reference(name, target)


def is_registry_reference(reference: str) -> bool:
    return reference.startswith((SCHEME, MODELS_SCHEME)) or bool(_REFERENCE.match(reference))


def read_location(reference: str) -> str:
    """Where a reference reads from: a registry model's folder (`<root>/<name>`), or the reference itself
    (a model URI, or a version on an MLflow server, read through a download of its own).

    Raises:
        ConfigError: a malformed `registry://` or `models:/` reference.
    """
    match = _match(reference)
    if not match or is_mlflow_registry(match[0]):
        return reference
    return model_root(match[0], match[1])


def locate(reference: str, *, missing_ok: bool = False) -> RegistryVersion | None:
    """The registry version a registry reference names; None for a plain model URI or (with `missing_ok`) an unset alias.

    Raises:
        ConfigError: a malformed `registry://` or `models:/` reference.
        NotFoundError: the version does not exist, or the alias is unset and not `missing_ok`.
    """
    match = _match(reference)
    if not match:
        return None
    root, name, target = match
    registry = open_registry(root)
    version = int(target) if target.isdigit() else registry.alias_version(name, target)
    if version is None:
        if missing_ok:
            return None
        raise NotFoundError(f"{reference}: model {name!r} in registry {root} has no {target!r} alias yet")
    return registry.fetch(name, version)  # raises when the version is not complete


def resolve(reference: str, *, missing_ok: bool = False) -> str | None:
    """The SavedModel URI a reference names (for an MLflow version, its checked local copy).

    Args:
        reference: a model URI, `[registry://]<root>/<name>@<N or alias>`, or `models:/<name>@<alias>`.
        missing_ok: return None instead of raising when the alias was never set (no champion yet).

    Raises:
        ConfigError: a malformed `registry://` or `models:/` reference.
        NotFoundError: the version does not exist, or the alias is unset and not `missing_ok`.
    """
    if not is_registry_reference(reference):
        return reference
    found = locate(reference, missing_ok=missing_ok)
    return found.saved_model_uri if found else None
