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

With an MLflow registry (`mlflow://...`) there is no folder: the same two records are tags of the
pipeline run's MLflow run (`fracdet_core.tracking.run`), `fracdet.run_blessing` and
`fracdet.run_outcome`, each the JSON object the file would hold, where the team sees them too.
"""

from __future__ import annotations

import json

from fracdet_core import storage
from fracdet_core.registry import layout
from fracdet_core.registry.names import check_run_id
from fracdet_core.registry.records import parse_record, read_record
from fracdet_core.tracking.connection import is_mlflow_registry

BLESSED = "blessed"
NOT_BLESSED = "not_blessed"
FAILED = "failed"
OUTCOMES = (BLESSED, NOT_BLESSED, FAILED)
BLESSING_TAG = "fracdet.run_blessing"
OUTCOME_TAG = "fracdet.run_outcome"
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
    record = json.dumps({"run_id": run_id, "blessed": bool(blessed)}) + "\n"
    if is_mlflow_registry(registry_uri):
        return _tag_mlflow_run(registry_uri, model_name, run_id, BLESSING_TAG, record)
    uri = storage.join(run_folder(registry_uri, model_name, run_id), "blessing.json")
    storage.write_text(uri, record)
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
    blessing = _read(registry_uri, model_name, run_id, "blessing.json", BLESSING_TAG, {"blessed": bool})
    record = {
        "run_id": run_id,
        "outcome": decide_outcome(final_state, blessing),
        "pipeline_state": final_state,
        "error": error_message or None,
        "model_name": model_name,
        "registry_uri": registry_uri,
    }
    text = json.dumps(record, indent=2) + "\n"
    if is_mlflow_registry(registry_uri):
        _tag_mlflow_run(registry_uri, model_name, run_id, OUTCOME_TAG, text)
    else:
        storage.write_text(storage.join(run_folder(registry_uri, model_name, run_id), "outcome.json"), text)
    return record


def read_outcome(registry_uri: str, model_name: str, run_id: str) -> dict | None:
    """The outcome a run recorded, or None when it recorded none (it was stopped before its exit task ran).

    Raises:
        RegistryCorruptError: the outcome file is damaged.
    """
    return _read(registry_uri, model_name, run_id, "outcome.json", OUTCOME_TAG, {"run_id": str, "outcome": str})


def _read(registry_uri: str, model_name: str, run_id: str, file_name: str, tag: str, fields: dict) -> dict | None:
    """A run record, from its file under the registry or its tag on the MLflow run; None when not written."""
    if is_mlflow_registry(registry_uri):
        from fracdet_core.tracking.connection import connect, tracking_uri_of
        from fracdet_core.tracking.run import RunKey, run_tags

        tags = run_tags(connect(tracking_uri_of(registry_uri)), RunKey(model_name, kfp_run_id=run_id)) or {}
        where = f"{registry_uri} run {run_id} tag {tag}"
        return parse_record(tags[tag].encode(), where, fields) if tag in tags else None
    uri = storage.join(run_folder(registry_uri, model_name, run_id), file_name)
    return read_record(uri, fields) if storage.exists(uri) else None


def _tag_mlflow_run(registry_uri: str, model_name: str, run_id: str, tag: str, value: str) -> str:
    """Set a record's tag on the pipeline run's MLflow run; where it went."""
    from fracdet_core.tracking.connection import connect, tracking_uri_of
    from fracdet_core.tracking.run import RunKey, set_run_tags

    server = connect(tracking_uri_of(registry_uri))
    mlflow_run = set_run_tags(server, RunKey(model_name, kfp_run_id=check_run_id(run_id)), {tag: value},
                              f"pipeline run {run_id}")
    return f"{server.uri} run {mlflow_run} tag {tag}"
