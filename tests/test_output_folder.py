"""An output folder holds one run's complete results, on both backends: a later run replaces it whole,
a killed run leaves it as it was, and a folder holding what fracdet did not write is refused."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal

import pytest

from fracdet_core import storage
from fracdet_core.errors import ConfigError
from fracdet_core.output_folder import check_complete, claim, publishing

_SPAWN = multiprocessing.get_context("spawn")
COMMAND = "fracdet evaluate"
RECORD = ".fracdet-evaluate.json"
EARLIER = ("metrics.json", "blessing.json", "report.html")


def _run(out: str, files: dict[str, str]) -> None:
    """One run that writes `files` (name -> text)."""
    with publishing(claim(out, COMMAND, earlier_files=EARLIER)) as staging:
        for name, text in files.items():
            storage.write_text(storage.join(staging, name), text)


def _contents(folder: str) -> dict[str, str]:
    root = folder.rstrip("/") + "/"
    return {uri[len(root):]: storage.read_text(uri) for uri in storage.list_files(folder)}


def _record(files: list[str], state: str = "complete") -> str:
    return json.dumps({"writer": COMMAND, "state": state, "files": files}, indent=2) + "\n"


def test_a_later_run_replaces_the_earlier_whole(storage_root):
    out = storage.join(storage_root, "new", "evaluation")  # a parent that does not exist yet, as a KFP artifact's
    _run(out, {"metrics.json": "1", "blessing.json": "1", "report.html": "1", "extra.txt": "1"})
    _run(out, {"metrics.json": "2", "blessing.json": "2"})
    assert _contents(out) == {"metrics.json": "2", "blessing.json": "2", RECORD: _record(["blessing.json", "metrics.json"])}
    assert storage.list_files(storage_root) == storage.list_files(out)  # no staging left beside it


def test_an_error_in_the_run_leaves_the_earlier_results(storage_root):
    out = storage.join(storage_root, "evaluation")
    _run(out, {"metrics.json": "1"})
    with pytest.raises(RuntimeError), publishing(claim(out, COMMAND)) as staging:
        storage.write_text(storage.join(staging, "metrics.json"), "2")
        raise RuntimeError("the model failed")
    assert _contents(out) == {"metrics.json": "1", RECORD: _record(["metrics.json"])}
    assert storage.list_files(storage_root) == storage.list_files(out)


def _write_then_die(out: str, after_publish: bool) -> None:
    """Stage three files, then die by SIGKILL: before the publish, or just after it, before the staging is cleared."""
    output = claim(out, COMMAND)
    with storage.staging_folder(output.uri) as staging:
        for name in EARLIER:
            storage.write_text(storage.join(staging, name), "new")
        if after_publish:
            storage.write_text(storage.join(staging, RECORD), _record(sorted(EARLIER)))
            storage.replace_folder(staging, output.uri)
        os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.parametrize("after_publish", [False, True], ids=["killed before the swap", "killed after the swap"])
def test_a_killed_run_leaves_the_old_set_or_the_new_never_a_mix(tmp_path, after_publish):
    out = str(tmp_path / "evaluation")
    _run(out, {"metrics.json": "old", "blessing.json": "old", "report.html": "old"})
    process = _SPAWN.Process(target=_write_then_die, args=(out, after_publish))
    process.start()
    process.join(60)
    assert process.exitcode == -signal.SIGKILL
    expected = dict.fromkeys(EARLIER, "new" if after_publish else "old")
    assert _contents(out) == expected | {RECORD: _record(sorted(EARLIER))}
    (leftover,) = [path for path in tmp_path.iterdir() if path.name != "evaluation"]  # the dead run's staging
    assert leftover.name.startswith(".evaluation.tmp-")
    _run(out, {"metrics.json": "next"})  # the next run clears it
    assert sorted(path.name for path in tmp_path.iterdir()) == ["evaluation"]
    assert _contents(out) == {"metrics.json": "next", RECORD: _record(["metrics.json"])}


def test_gcs_a_publish_cut_short_is_marked_and_the_next_run_replaces_it(gcs_bucket):
    out = f"gs://{gcs_bucket}/evaluation"
    _run(out, {"metrics.json": "1", "report.html": "1"})
    # What a kill during the copy of a run writing metrics.json and blessing.json leaves: the record
    # says so and lists both runs' files; one new file is in, an old one not yet deleted.
    storage.write_text(f"{out}/{RECORD}", _record(["blessing.json", "metrics.json", "report.html"], "publishing"))
    storage.write_text(f"{out}/blessing.json", "2")
    _run(out, {"metrics.json": "3"})
    assert _contents(out) == {"metrics.json": "3", RECORD: _record(["metrics.json"])}


@pytest.mark.parametrize(("present", "message"), [
    ({"notes.txt": "mine"}, r"holds files fracdet evaluate did not write \(it has no \.fracdet-evaluate\.json\): notes\.txt"),
    ({"metrics.json": "", "notes.txt": "mine", RECORD: _record(["metrics.json"])},
     r"holds files the fracdet evaluate run there did not write \(by its \.fracdet-evaluate\.json\): notes\.txt"),
    ({RECORD: _record(["a"]).replace(COMMAND, "fracdet predict")}, r"\.fracdet-evaluate\.json: not a fracdet evaluate record"),
    ({RECORD: "{half"}, r"\.fracdet-evaluate\.json: not a readable fracdet evaluate record"),
], ids=["no record", "a file the record does not list", "another command's record", "an unreadable record"])
def test_a_folder_holding_what_fracdet_did_not_write_is_refused_and_left_alone(storage_root, present, message):
    out = storage.join(storage_root, "evaluation")
    for name, text in present.items():
        storage.write_text(storage.join(out, name), text)
    with pytest.raises(ConfigError, match=message):
        claim(out, COMMAND, earlier_files=EARLIER)
    assert _contents(out) == present


def test_an_output_of_an_earlier_version_without_a_record_is_replaced(storage_root):
    out = storage.join(storage_root, "evaluation")
    for name in EARLIER:
        storage.write_text(storage.join(out, name), "earlier")
    _run(out, {"metrics.json": "now"})
    assert _contents(out) == {"metrics.json": "now", RECORD: _record(["metrics.json"])}


def test_a_file_that_appears_in_out_during_the_run_stops_the_publish(storage_root):
    out = storage.join(storage_root, "evaluation")
    with pytest.raises(ConfigError, match=r"notes\.txt"), publishing(claim(out, COMMAND)) as staging:
        storage.write_text(storage.join(staging, "metrics.json"), "1")
        storage.write_text(storage.join(out, "notes.txt"), "written meanwhile")
    assert _contents(out) == {"notes.txt": "written meanwhile"}


@pytest.mark.parametrize(("out", "inputs", "message"), [
    ("data", ["data"], "--out data is the input data: the results would be written among the inputs"),
    ("data/eval", ["model", "data"], "--out data/eval lies inside the input data"),
    ("runs", ["runs/ingest"], "--out runs contains the input runs/ingest: replacing --out with the results would delete it"),
    ("data/../data/./eval", ["data"], "lies inside the input data"),
])
def test_an_out_overlapping_an_input_is_refused(tmp_path, monkeypatch, out, inputs, message):
    monkeypatch.chdir(tmp_path)
    for folder in ("data", "model", "runs/ingest"):
        (tmp_path / folder).mkdir(parents=True)
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        claim(out, COMMAND, inputs=inputs)


def test_gcs_overlap_is_by_whole_path_segments(gcs_bucket):
    with pytest.raises(ConfigError, match="lies inside the input"):
        claim(f"gs://{gcs_bucket}/in/out", COMMAND, inputs=[f"gs://{gcs_bucket}/in"])
    claim(f"gs://{gcs_bucket}/input-2", COMMAND, inputs=[f"gs://{gcs_bucket}/input", "/local/input-2"])


def test_an_out_that_is_a_file_is_refused(storage_root):
    out = storage.join(storage_root, "metrics.json")
    storage.write_text(out, "a file")
    with pytest.raises(ConfigError, match=r"metrics\.json is a file; name a folder"):
        claim(out, COMMAND)


@pytest.mark.parametrize(("record", "refused"), [
    (None, False),  # written before records, or by hand: nothing to check
    (_record(["metrics.json"]), False),
    (_record(["metrics.json"], state="publishing"), True),  # a gs:// publish cut short: files of two runs
])
def test_readers_refuse_an_output_whose_publishing_was_cut_short(storage_root, record, refused):
    folder = storage.join(storage_root, "evaluation")
    storage.write_text(storage.join(folder, "metrics.json"), "{}")
    if record:
        storage.write_text(storage.join(folder, RECORD), record)
    if refused:
        with pytest.raises(ConfigError, match=r"cut short while publishing here \(\.fracdet-evaluate\.json says 'publishing'\)"):
            check_complete(folder, COMMAND)
    else:
        check_complete(folder, COMMAND)
