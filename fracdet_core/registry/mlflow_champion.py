"""The `champion` alias of an MLflow registered model, moved by promote and rollback, with who and why recorded.

MLflow's alias is one pointer; it keeps no history and offers no compare-and-swap. So each move
also writes one registered-model tag of its own, `fracdet.champion.<UTC time>-<random>`, holding
the event as JSON (action, version, previous, reason, by, at). Distinct keys mean concurrent
moves never overwrite each other's records; the history is the tags in key order, and the stack
that rollback pops is replayed from it (promote pushes, rollback pops). The alias itself is moved
first and its event written after: a move killed in between is the one move without a record.
The alias is what serving reads (`models:/<name>@champion`), so it is the truth about the
current version; last writer wins between two concurrent promoters, as in MLflow itself.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import uuid

from fracdet_core.registry import aliases
from fracdet_core.registry.aliases import CHAMPION, NotBlessedError, NothingToRollBackError
from fracdet_core.tracking.connection import MlflowServer

EVENT_TAG = "fracdet.champion."


def mover() -> str:
    """Who moves the alias: the MLflow user the client signs in as, else the local user."""
    return os.environ.get("MLFLOW_TRACKING_USERNAME") or aliases.mover()


@dataclasses.dataclass(frozen=True)
class ChampionAlias:
    """The champion alias of registered model `name` on `server`."""

    server: MlflowServer
    name: str

    def version(self, alias: str = CHAMPION) -> int | None:
        """The version the alias names; None when unset or when the registered model does not exist."""
        from mlflow.exceptions import MlflowException

        def get() -> int | None:
            try:
                return int(self.server.client.get_model_version_by_alias(self.name, alias).version)
            except MlflowException as error:
                if error.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"):
                    return None
                raise

        return self.server.call(f"read the {alias} alias of {self.name!r}", get)

    def record(self) -> dict | None:
        """{"alias", "version", "stack", "history"} as the file registry's alias file holds it; None when never moved."""
        model = self.server.call(f"read registered model {self.name!r}", lambda: self._registered_model())
        if model is None:
            return None
        history = [json.loads(value) for key, value in sorted(model.tags.items()) if key.startswith(EVENT_TAG)]
        current = self.version()
        if current is None and not history:
            return None
        stack: list[int] = []
        for event in history:
            if event["action"] == "promote":
                stack.append(event["version"])
            elif stack:
                stack.pop()
        if current is not None and (not stack or stack[-1] != current):
            stack.append(current)  # moved outside fracdet (the MLflow UI): the alias is the truth
        return {"alias": CHAMPION, "version": current, "stack": stack, "history": history}

    def promote(self, summary: dict, *, require_blessed: bool, reason: str) -> dict:
        """Point the alias at the version `summary` describes (`MlflowRegistry._summary`); the alias record.

        Raises:
            NotBlessedError: `require_blessed`, and its evaluation did not bless it or blessed another model.
        """
        version = summary["version"]
        if require_blessed and not summary["blessed"]:
            raise NotBlessedError(f"{self.name} version {version} is not blessed; promote it without --require-blessed "
                                  "to override")
        current = self.version()
        if current == version:
            return self.record()
        return self._move("promote", version, current, reason)

    def rollback(self, *, reason: str) -> dict:
        """Point the alias back at the version promoted before the current one; the alias record.

        Raises:
            NothingToRollBackError: there is none.
        """
        record = self.record() or {"stack": [], "version": None}
        if len(record["stack"]) < 2:
            raise NothingToRollBackError(f"{self.name}: the {CHAMPION} alias has no earlier version to roll back to")
        return self._move("rollback", record["stack"][-2], record["version"], reason)

    def _move(self, action: str, version: int, previous: int | None, reason: str) -> dict:
        now = datetime.datetime.now(datetime.UTC)
        self.server.call(f"set the {CHAMPION} alias of {self.name!r} to version {version}",
                         lambda: self.server.client.set_registered_model_alias(self.name, CHAMPION, str(version)))
        event = {"action": action, "version": version, "previous": previous, "reason": reason, "by": mover(),
                 "at": now.isoformat(timespec="seconds")}
        key = f"{EVENT_TAG}{now.strftime('%Y%m%dT%H%M%S.%f')}-{uuid.uuid4().hex[:8]}"
        self.server.call(f"record the {action} of {self.name!r}",
                         lambda: self.server.client.set_registered_model_tag(self.name, key, json.dumps(event)))
        return self.record()

    def _registered_model(self) -> object | None:
        from mlflow.exceptions import MlflowException

        try:
            return self.server.client.get_registered_model(self.name)
        except MlflowException as error:
            if error.error_code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise
