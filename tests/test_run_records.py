"""A run's outcome record: blessed, not blessed or failed, from the body's state and the evaluate task's verdict."""

from __future__ import annotations

import json

import pytest

from fracdet_components.run_records import decide_outcome, read_outcome, record_blessing, write_outcome
from fracdet_core import storage
from fracdet_core.errors import ConfigError
from fracdet_core.registry.records import RegistryCorruptError


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
    folder = storage.join(storage_root, "fracdet", "runs", "run-7")
    uri = record_blessing(storage_root, "fracdet", "run-7", False)
    assert uri == storage.join(folder, "blessing.json")
    assert json.loads(storage.read_text(uri)) == {"run_id": "run-7", "blessed": False}
    expected = {"run_id": "run-7", "outcome": "not_blessed", "pipeline_state": "SUCCEEDED", "error": None,
                "model_name": "fracdet", "registry_uri": storage_root}
    assert write_outcome(storage_root, "fracdet", "run-7", "SUCCEEDED", None) == expected
    assert json.loads(storage.read_text(storage.join(folder, "outcome.json"))) == expected
    assert read_outcome(storage_root, "fracdet", "run-7") == expected


def test_a_failed_run_records_its_error_and_an_unrecorded_run_reads_as_none(tmp_path):
    record = write_outcome(str(tmp_path), "fracdet", "run-8", "FAILED", "Task ingest failed.")
    assert record["outcome"] == "failed" and record["error"] == "Task ingest failed."
    assert read_outcome(str(tmp_path), "fracdet", "run-9") is None


@pytest.mark.parametrize("run_id", ["", ".", "..", "../escaped", "a/b", "/abs", "-run", "run\n", "run 1", "r" * 129, None])
def test_a_run_id_that_is_not_one_path_segment_is_refused_and_nothing_is_written(tmp_path, run_id):
    registry = tmp_path / "registry"
    for call in (lambda: record_blessing(str(registry), "fracdet", run_id, True),
                 lambda: write_outcome(str(registry), "fracdet", run_id, "SUCCEEDED", None),
                 lambda: read_outcome(str(registry), "fracdet", run_id)):
        with pytest.raises(ConfigError, match="run ID"):
            call()
    assert list(tmp_path.rglob("*")) == []


@pytest.mark.parametrize("name", ["..", ".", "../escaped", "a/b", "", "Fracdet"])
def test_a_model_name_that_is_not_one_path_segment_is_refused_and_nothing_is_written(tmp_path, name):
    with pytest.raises(ConfigError, match="model name"):
        record_blessing(str(tmp_path / "registry"), name, "run-1", True)
    with pytest.raises(ConfigError, match="model name"):
        write_outcome(str(tmp_path / "registry"), name, "run-1", "FAILED", None)
    assert list(tmp_path.rglob("*")) == []


@pytest.mark.parametrize("run_id", ["run-7", "7c1e4a52-0d8b-4bd1-9e53-6f3ac1b9d2a0", "a", "A.b_c-1", "r" * 128])
def test_valid_run_ids_are_recorded_under_their_own_folder(tmp_path, run_id):
    uri = record_blessing(str(tmp_path), "fracdet", run_id, True)
    assert uri == str(tmp_path / "fracdet" / "runs" / run_id / "blessing.json")


def test_a_damaged_outcome_is_a_clear_error(tmp_path):
    outcome = tmp_path / "fracdet" / "runs" / "run-1" / "outcome.json"
    outcome.parent.mkdir(parents=True)
    outcome.write_text('{"run_id": "run-1", "outco')
    with pytest.raises(RegistryCorruptError, match=f"{outcome}: damaged registry file: not valid JSON"):
        read_outcome(str(tmp_path), "fracdet", "run-1")
