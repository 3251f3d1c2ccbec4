"""Model references: a plain model URI, or a registry version named `<registry root>/<name>@<version or alias>`.

Examples: `gs://bucket/registry/fracdet@champion`, `runs/registry/fracdet@3`. The part before
the last '/' is the registry root; a reference without '@' is a model URI used as is.

The same reference may carry a `registry://` prefix, which says plainly that a registry is meant
and makes a missing '@' an error instead of a model URI: `registry://runs/registry/fracdet@champion`,
`registry:///abs/registry/fracdet@3`, `registry://gs://bucket/registry/fracdet@champion`.
"""

from __future__ import annotations

import dataclasses
import re

from fracdet_core.errors import ConfigError, NotFoundError
from fracdet_core.registry.aliases import CHAMPION, read_alias
from fracdet_core.registry.layout import model_root, saved_model_uri
from fracdet_core.registry.versions import get_version

SCHEME = "registry://"
_REFERENCE = re.compile(r"^(?P<root>.+)/(?P<name>[a-z0-9][a-z0-9._-]*)@(?P<target>[A-Za-z0-9_-]+)$")


@dataclasses.dataclass(frozen=True)
class RegistryVersion:
    """The registered version a reference resolved to."""

    root: str
    name: str
    version: int

    @property
    def saved_model_uri(self) -> str:
        return saved_model_uri(self.root, self.name, self.version)


def _match(reference: str) -> re.Match[str] | None:
    """The reference's parts, or None for a plain model URI.

    Raises:
        ConfigError: a `registry://` reference that does not name `<root>/<name>@<target>`.
    """
    if not reference.startswith(SCHEME):
        return _REFERENCE.match(reference)
    match = _REFERENCE.match(reference[len(SCHEME):])
    if not match:
        raise ConfigError(f"{reference}: a registry reference reads registry://<root>/<name>@<alias or version number>, "
                          "e.g. registry://runs/registry/fracdet@champion")
    return match


def version_reference(registry: str, name: str, target: str = CHAMPION) -> str:
    """The reference `<registry>/<name>@<target>` to a version or alias (default: the champion)."""
    return f"{model_root(registry, name)}@{target}"


def is_registry_reference(reference: str) -> bool:
    return reference.startswith(SCHEME) or bool(_REFERENCE.match(reference))


def read_location(reference: str) -> str:
    """Where a reference reads from: a registry model's folder (`<root>/<name>`), or the model URI itself.

    Raises:
        ConfigError: a malformed `registry://` reference.
    """
    match = _match(reference)
    return model_root(match["root"], match["name"]) if match else reference


def locate(reference: str, *, missing_ok: bool = False) -> RegistryVersion | None:
    """The registry version a registry reference names; None for a plain model URI or (with `missing_ok`) an unset alias.

    Raises:
        ConfigError: a malformed `registry://` reference.
        NotFoundError: the version does not exist, or the alias is unset and not `missing_ok`.
    """
    match = _match(reference)
    if not match:
        return None
    root, name, target = match["root"], match["name"], match["target"]
    if target.isdigit():
        version = int(target)
    else:
        alias = read_alias(root, name, target)
        if alias is None or alias.get("version") is None:
            if missing_ok:
                return None
            raise NotFoundError(f"{reference}: model {name!r} in registry {root} has no {target!r} alias yet")
        version = alias["version"]
    get_version(root, name, version)  # raises when the version is not complete
    return RegistryVersion(root, name, version)


def resolve(reference: str, *, missing_ok: bool = False) -> str | None:
    """The SavedModel URI a reference names.

    Args:
        reference: a model URI, or `[registry://]<root>/<name>@<N>` or `[registry://]<root>/<name>@<alias>`.
        missing_ok: return None instead of raising when the alias was never set (no champion yet).

    Raises:
        ConfigError: a malformed `registry://` reference.
        NotFoundError: the version does not exist, or the alias is unset and not `missing_ok`.
    """
    if not is_registry_reference(reference):
        return reference
    found = locate(reference, missing_ok=missing_ok)
    return found.saved_model_uri if found else None
