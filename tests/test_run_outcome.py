"""A run's outcome record: blessed, not blessed or failed, from the body's state and the evaluate task's verdict."""

from __future__ import annotations

import json

import pytest

from fracdet_core import storage
from fracdet_core.errors import ConfigError
from fracdet_core.run_outcome import decide_outcome, read_outcome, record_blessing, record_outcome


@pytest.mark.parametrize(
    ("state", "blessing", "expected"),
    [
        ("SUCCEEDED", {"blessed": True}, "blessed"),
        ("SUCCEEDED", {"blessed": False}, "not_blessed"),
        ("FAILED", {"blessed": True}, "failed"),  # e.g. registration failed after a blessing
        ("FAILED", None, "failed"),
        ("CANCELLED", {"blessed": False}, "failed"),
        ("SUCCEEDED", None, "failed"),  # no verdict: never guessed as a success
    ],
)
def test_outcome_table(state, blessing, expected):
    assert decide_outcome(state, blessing) == expected


def test_the_exit_task_reads_what_the_evaluate_task_left(storage_root):
    uri = record_blessing(storage_root, "fracdet", "run-7", False)
    assert uri == storage.join(storage_root, "fracdet", "runs", "run-7", "blessing.json")
    record = record_outcome(storage_root, "fracdet", "run-7", "SUCCEEDED", None)
    assert record["outcome"] == "not_blessed" and record["run_id"] == "run-7"
    assert read_outcome(storage_root, "fracdet", "run-7") == record
    written = json.loads(storage.read_text(storage.join(storage_root, "fracdet", "runs", "run-7", "outcome.json")))
    assert written == record


def test_a_failed_run_records_its_error_and_an_unrecorded_run_reads_as_none(tmp_path):
    record = record_outcome(str(tmp_path), "fracdet", "run-8", "FAILED", "Task ingest failed.")
    assert record["outcome"] == "failed" and record["error"] == "Task ingest failed."
    assert read_outcome(str(tmp_path), "fracdet", "run-9") is None


@pytest.mark.parametrize("run_id", ["", "a/b"])
def test_a_record_needs_a_run_id(tmp_path, run_id):
    with pytest.raises(ConfigError, match="run ID"):
        record_blessing(str(tmp_path), "fracdet", run_id, True)
