"""Model references: a plain model URI, or a registry version named `<registry root>/<name>@<version or alias>`.

Examples: `gs://bucket/registry/fracdet@champion`, `runs/registry/fracdet@3`. The part before
the last '/' is the registry root; a reference without '@' is a model URI used as is.
"""

from __future__ import annotations

import re

from fracdet_core.errors import NotFoundError
from fracdet_core.registry.aliases import read_alias
from fracdet_core.registry.versions import get_version, saved_model_uri

_REFERENCE = re.compile(r"^(?P<root>.+)/(?P<name>[a-z0-9][a-z0-9._-]*)@(?P<target>[A-Za-z0-9_-]+)$")


def is_registry_reference(reference: str) -> bool:
    return bool(_REFERENCE.match(reference))


def resolve(reference: str, *, missing_ok: bool = False) -> str | None:
    """The SavedModel URI a reference names.

    Args:
        reference: a model URI, or `<root>/<name>@<N>` or `<root>/<name>@<alias>`.
        missing_ok: return None instead of raising when the alias was never set (no champion yet).

    Raises:
        NotFoundError: the version does not exist, or the alias is unset and not `missing_ok`.
    """
    match = _REFERENCE.match(reference)
    if not match:
        return reference
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
    return saved_model_uri(root, name, version)
