"""The champion alias: which version is in service, moved by promote and rollback with compare-and-swap.

`<root>/<name>/aliases/<alias>` is one JSON object:

    {"alias": "champion", "version": 3, "stack": [1, 3], "history": [{"action": "promote", ...}, ...]}

`stack` holds the versions promoted in turn, the current one last: promote pushes, rollback pops
back to the one before. `history` logs every move with its time and reason. Each move reads the
object with its version token and writes it back only if nobody moved it in between
(`storage.write_if_unchanged`); a move that loses re-reads and re-applies itself, so two
promoters never interleave into a state neither wrote.
"""

from __future__ import annotations

import datetime
import json
import random
import time
from collections.abc import Callable

from fracdet_core import storage
from fracdet_core.errors import ConflictError, FracdetError
from fracdet_core.registry.versions import get_version, model_root

CHAMPION = "champion"
_ATTEMPTS = 50


class NotBlessedError(FracdetError):
    """Promotion with `require_blessed` of a version whose evaluation did not bless it."""


class NothingToRollBackError(FracdetError):
    """Rollback asked of an alias with no earlier version to return to."""


def alias_uri(registry: str, name: str, alias: str = CHAMPION) -> str:
    return storage.join(model_root(registry, name), "aliases", alias)


def read_alias(registry: str, name: str, alias: str = CHAMPION) -> dict | None:
    """The alias object, or None when the alias was never set."""
    data, _ = storage.read_versioned(alias_uri(registry, name, alias))
    return json.loads(data) if data is not None else None


def _move(registry: str, name: str, alias: str, change: Callable[[dict], dict]) -> dict:
    """Apply `change` to the alias object with compare-and-swap, retrying when another move wins."""
    uri = alias_uri(registry, name, alias)
    for _ in range(_ATTEMPTS):
        data, token = storage.read_versioned(uri)
        current = json.loads(data) if data is not None else {"alias": alias, "version": None, "stack": [], "history": []}
        updated = change(current)
        try:
            storage.write_if_unchanged(uri, (json.dumps(updated, indent=2) + "\n").encode(), token)
            return updated
        except ConflictError:
            time.sleep(random.uniform(0.01, 0.2))
    raise ConflictError(f"{uri}: gave up after {_ATTEMPTS} attempts; too many concurrent moves of the alias")


def _event(action: str, version: int, previous: int | None, reason: str) -> dict:
    return {"action": action, "version": version, "previous": previous, "reason": reason,
            "at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def promote(registry: str, name: str, version: int, *, require_blessed: bool = False, reason: str = "",
            alias: str = CHAMPION) -> dict:
    """Point the alias at `version`; returns the alias object.

    Raises:
        NotFoundError: no such complete version.
        NotBlessedError: `require_blessed` and the version's evaluation did not bless it.
    """
    metadata = get_version(registry, name, version)
    if require_blessed and not metadata.get("blessed"):
        raise NotBlessedError(f"{name} version {version} is not blessed; promote it without --require-blessed to override")

    def change(current: dict) -> dict:
        if current["version"] == version:
            return current
        return {**current, "version": version, "stack": [*current["stack"], version],
                "history": [*current["history"], _event("promote", version, current["version"], reason)]}

    return _move(registry, name, alias, change)


def rollback(registry: str, name: str, *, reason: str = "", alias: str = CHAMPION) -> dict:
    """Point the alias back at the version it named before the current one; returns the alias object.

    Raises:
        NothingToRollBackError: the alias has no earlier version.
    """

    def change(current: dict) -> dict:
        if len(current["stack"]) < 2:
            raise NothingToRollBackError(f"{name}: the {alias} alias has no earlier version to roll back to")
        stack = current["stack"][:-1]
        return {**current, "version": stack[-1], "stack": stack,
                "history": [*current["history"], _event("rollback", stack[-1], current["version"], reason)]}

    return _move(registry, name, alias, change)
