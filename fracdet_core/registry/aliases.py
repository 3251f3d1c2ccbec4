"""The champion alias: which version is in service, moved by promote and rollback with compare-and-swap.

`<root>/<name>/aliases/<alias>` is one JSON object:

    {"alias": "champion", "version": 3, "stack": [1, 3], "history": [{"action": "promote", ...}, ...]}

`stack` holds the versions promoted in turn, the current one last: promote pushes, rollback pops
back to the one before. `history` logs every move with its time, who made it and why. Each move reads the
object with its version token and writes it back only if nobody moved it in between
(`storage.write_if_unchanged`); a move that loses re-reads and re-applies itself, so two
promoters never interleave into a state neither wrote.
"""

from __future__ import annotations

import datetime
import getpass
import json
import os
import random
import time
import uuid
from collections.abc import Callable

from fracdet_core import storage
from fracdet_core.errors import ConflictError, FracdetError
from fracdet_core.registry import layout
from fracdet_core.registry.names import check_version
from fracdet_core.registry.records import corrupt, parse_record
from fracdet_core.registry.verify import evaluated_model_sha256
from fracdet_core.registry.versions import get_version

CHAMPION = "champion"
_ATTEMPTS = 50
ALIAS_FIELDS = {"version": (int, type(None)), "stack": list, "history": list}


class NotBlessedError(FracdetError):
    """Promotion with `require_blessed` of a version whose evaluation did not bless it."""


class NothingToRollBackError(FracdetError):
    """Rollback asked of an alias with no earlier version to return to."""


def alias_uri(registry: str, name: str, alias: str = CHAMPION) -> str:
    return layout.alias_uri(registry, name, alias)


def _parse_alias(data: bytes, uri: str) -> dict:
    """The alias object, checked: a version number or null, and a stack of version numbers ending with it.

    Raises:
        RegistryCorruptError: anything else.
    """
    alias = parse_record(data, uri, ALIAS_FIELDS)
    if not all(isinstance(item, int) and not isinstance(item, bool) and item >= 1 for item in alias["stack"]):
        raise corrupt(uri, f"the 'stack' field {alias['stack']!r} is not a list of version numbers")
    if alias["version"] != (alias["stack"][-1] if alias["stack"] else None):
        raise corrupt(uri, f"the 'version' field {alias['version']!r} is not the last of its 'stack' {alias['stack']!r}")
    return alias


def read_alias(registry: str, name: str, alias: str = CHAMPION) -> dict | None:
    """The alias object, or None when the alias was never set.

    Raises:
        ConfigError: `alias` is not a valid alias name.
        RegistryCorruptError: the alias file is damaged.
    """
    uri = alias_uri(registry, name, alias)
    data, _ = storage.read_versioned(uri)
    return _parse_alias(data, uri) if data is not None else None


def _move(registry: str, name: str, alias: str, change: Callable[[dict], dict]) -> dict:
    """Apply `change` to the alias object with compare-and-swap, retrying when another move wins.

    The move's history event carries a random id: a write whose answer was lost may have landed
    before another move overwrote it, and then the storage layer cannot tell it was ours (the
    object's bytes are the other move's), so the alias read again already holds the move and is
    not changed twice.
    """
    uri = alias_uri(registry, name, alias)
    move_id = uuid.uuid4().hex
    for _ in range(_ATTEMPTS):
        data, token = storage.read_versioned(uri)
        current = _parse_alias(data, uri) if data is not None else {"alias": alias, "version": None, "stack": [], "history": []}
        if any(event.get("move") == move_id for event in current["history"]):
            return current
        updated = change(current)
        if updated is current:
            return current
        updated["history"][-1]["move"] = move_id
        try:
            storage.write_if_unchanged(uri, (json.dumps(updated, indent=2) + "\n").encode(), token)
            return updated
        except ConflictError:
            time.sleep(random.uniform(0.01, 0.2))
    raise ConflictError(f"{uri}: gave up after {_ATTEMPTS} attempts; too many concurrent moves of the alias")


def mover() -> str:
    """Who moves an alias, recorded with the move: the local user (a pod's uid where it has no user name)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return f"uid {os.getuid()}"


def _event(action: str, version: int, previous: int | None, reason: str) -> dict:
    return {"action": action, "version": version, "previous": previous, "reason": reason, "by": mover(),
            "at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}


def promote(registry: str, name: str, version: int, *, require_blessed: bool = False, reason: str = "",
            alias: str = CHAMPION) -> dict:
    """Point the alias at `version`; returns the alias object.

    Raises:
        NotFoundError: no such complete version.
        NotBlessedError: `require_blessed` and the version's evaluation did not bless it, or blessed another model.
    """
    metadata = get_version(registry, name, check_version(version))
    if require_blessed:
        _check_blessed(registry, metadata)

    def change(current: dict) -> dict:
        if current["version"] == version:
            return current
        return {**current, "version": version, "stack": [*current["stack"], version],
                "history": [*current["history"], _event("promote", version, current["version"], reason)]}

    return _move(registry, name, alias, change)


def _check_blessed(registry: str, metadata: dict) -> None:
    """The version is blessed by an evaluation of its own model: the metrics.json stored with it names its fingerprint.

    Raises:
        NotBlessedError: not blessed, or the stored evaluation is of another model (a version
            registered before registration checked this, or a registry edited since).
    """
    name, version = metadata["name"], metadata["version"]
    if metadata.get("blessed") is not True:
        raise NotBlessedError(f"{name} version {version} is not blessed; promote it without --require-blessed to override")
    metrics_uri = storage.join(layout.version_uri(registry, name, version), "metrics.json")
    try:
        stored = json.loads(storage.read_text(metrics_uri))
        evaluated = evaluated_model_sha256(stored if isinstance(stored, dict) else {}, metrics_uri)
    except (FracdetError, ValueError) as error:
        raise NotBlessedError(f"{name} version {version}: its blessing cannot be tied to its model: {error}") from error
    if evaluated != metadata["model_sha256"]:
        raise NotBlessedError(
            f"{name} version {version}: its blessing is of another model: {metrics_uri} names model_sha256 {evaluated}, "
            f"but the version's SavedModel {metadata['saved_model_uri']} has sha256 {metadata['model_sha256']}; "
            "register the model with its own evaluation"
        )


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
