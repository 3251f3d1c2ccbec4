"""The records a pipeline run keeps under the registry: the evaluate task's blessing and the run's outcome.

Not a component: the glue that the evaluate component, the exit handler's component
(`record_outcome`) and `fracdet pipeline submit` share, which says what a run came to
(blessed, not blessed, or failed) where CI can read it.

A run's final state says only whether every task succeeded; a run whose model was not blessed
succeeds too (registration is skipped, by design). CI needs three answers, so the run records
its own outcome under the registry, scoped by the run's ID:

    <registry>/<model name>/runs/<run id>/blessing.json   written by the evaluate task
    <registry>/<model name>/runs/<run id>/outcome.json    written by the exit handler's task

The exit task cannot take outputs of the tasks it guards (KFP forbids it), so the evaluate task
leaves its verdict at this run-scoped place and the exit task reads it back.
"""

from __future__ import annotations

import json

from fracdet_core import storage
from fracdet_core.registry import layout
from fracdet_core.registry.records import read_record

BLESSED = "blessed"
NOT_BLESSED = "not_blessed"
FAILED = "failed"
OUTCOMES = (BLESSED, NOT_BLESSED, FAILED)
SUCCEEDED = "SUCCEEDED"  # PipelineTaskFinalStatus.state of a body that finished without a failed task


def run_folder(registry_uri: str, model_name: str, run_id: str) -> str:
    """Where one run's blessing and outcome live.

    Raises:
        ConfigError: a model name or run ID that could not be one path segment under the registry
            (empty, '.', '..', holding '/' and so on).
    """
    return layout.run_folder(registry_uri, model_name, run_id)


def record_blessing(registry_uri: str, model_name: str, run_id: str, blessed: bool) -> str:
    """Leave the evaluate task's verdict for the exit task; returns where it went."""
    uri = storage.join(run_folder(registry_uri, model_name, run_id), "blessing.json")
    storage.write_text(uri, json.dumps({"run_id": run_id, "blessed": bool(blessed)}) + "\n")
    return uri


def decide_outcome(final_state: str, blessing: dict | None) -> str:
    """The outcome of a run from the state of its guarded tasks and the evaluate task's verdict.

    A body that succeeded without a verdict cannot happen in this DAG (evaluate is in the body);
    it counts as failed rather than guessing.
    """
    if final_state != SUCCEEDED or blessing is None:
        return FAILED
    return BLESSED if blessing["blessed"] else NOT_BLESSED


def write_outcome(registry_uri: str, model_name: str, run_id: str, final_state: str, error_message: str | None) -> dict:
    """Decide the run's outcome, write `outcome.json` beside its blessing, and return the record."""
    folder = run_folder(registry_uri, model_name, run_id)
    blessing_uri = storage.join(folder, "blessing.json")
    blessing = read_record(blessing_uri, {"blessed": bool}) if storage.exists(blessing_uri) else None
    record = {
        "run_id": run_id,
        "outcome": decide_outcome(final_state, blessing),
        "pipeline_state": final_state,
        "error": error_message or None,
        "model_name": model_name,
        "registry_uri": registry_uri,
    }
    storage.write_text(storage.join(folder, "outcome.json"), json.dumps(record, indent=2) + "\n")
    return record


def read_outcome(registry_uri: str, model_name: str, run_id: str) -> dict | None:
    """The outcome a run recorded, or None when it recorded none (it was stopped before its exit task ran).

    Raises:
        RegistryCorruptError: the outcome file is damaged.
    """
    uri = storage.join(run_folder(registry_uri, model_name, run_id), "outcome.json")
    if not storage.exists(uri):
        return None
    return read_record(uri, {"run_id": str, "outcome": str})
