"""Ingest writes only into a folder it can tell is its own, and deletes there only what it wrote.

The issue's probe: `fracdet ingest --out D` deleted `D/older_dataset/train-00000-of-00007.tfrecord`
and `D/.notes.tmp-keep`, files it never wrote.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from yolo_builders import labelled_dataset

from fracdet_core import storage
from fracdet_core.ingest import IngestConfig, ingest_dataset
from fracdet_core.ingest.merge import merge_parts
from fracdet_core.ingest.ownership import OutputNotOwnedError
from fracdet_core.ingest.part import ingest_shards
from fracdet_core.ingest.plan import plan_ingest, read_plan, write_plan

FRACDET = str(Path(sys.executable).with_name("fracdet"))
FOREIGN = b"not written by fracdet ingest\n"
OLDER_SHARD = "older_dataset/train-00000-of-00007.tfrecord"
NOTES = ".notes.tmp-keep"
LABEL = "0 0.5 0.5 0.2 0.2\n"
HEX = "0123456789abcdef" * 2  # the 32 hex digits of a staging name


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """Six train and two val images, so three shards per split are possible."""
    return labelled_dataset(tmp_path_factory.mktemp("ownership") / "data", [LABEL] * 6, [LABEL] * 2)


def _put(root: str, relative: str, data: bytes = FOREIGN) -> str:
    uri = storage.join(root, *relative.split("/"))
    storage.write_bytes(uri, data)
    return uri


def _shards(root: str) -> list[str]:
    return sorted(uri.rsplit("/", 1)[-1] for uri in storage.list_files(root) if uri.endswith(".tfrecord") and
                  "older_dataset" not in uri)


def test_a_rerun_keeps_what_ingest_did_not_write_and_drops_the_shards_its_manifest_listed(dataset, storage_root):
    out = storage.join(storage_root, "D")
    ingest_dataset(str(dataset), out, IngestConfig(shards=3), progress=False)
    older = _put(out, OLDER_SHARD)
    notes = _put(out, NOTES)  # on GCS a name with .tmp- is hidden from listings, but exists
    stray = _put(out, "train-00005-of-00009.tfrecord")  # ingest's naming, but no manifest of ours lists it

    manifest = ingest_dataset(str(dataset), out, IngestConfig(shards=1), progress=False)

    assert [storage.read_bytes(uri) for uri in (older, notes, stray)] == [FOREIGN] * 3
    assert _shards(out) == ["train-00000-of-00001.tfrecord", "train-00005-of-00009.tfrecord", "val-00000-of-00001.tfrecord"]
    assert manifest["totals"]["ingested"] == 8


def test_a_folder_ingest_did_not_write_is_refused_and_left_as_it_was(dataset, storage_root):
    out = storage.join(storage_root, "D")
    older = _put(out, OLDER_SHARD)
    notes = _put(out, NOTES)
    with pytest.raises(OutputNotOwnedError) as raised:
        ingest_dataset(str(dataset), out, IngestConfig(shards=1), progress=False)
    message = str(raised.value)
    assert message.startswith(f"{out} is not empty and no fracdet ingest wrote it: it holds 1 file(s): {OLDER_SHARD}, ")
    assert "and no manifest.json" in message
    assert storage.list_files(out) == [older]
    assert storage.read_bytes(notes) == FOREIGN


def test_a_manifest_that_is_not_an_ingests_is_refused(dataset, storage_root):
    out = storage.join(storage_root, "D")
    _put(out, "manifest.json", b'{"hello": "world"}\n')
    with pytest.raises(OutputNotOwnedError, match=r"manifest\.json is not the manifest\.json of a fracdet ingest"):
        ingest_dataset(str(dataset), out, progress=False)
    assert storage.read_bytes(storage.join(out, "manifest.json")) == b'{"hello": "world"}\n'


def test_a_manifest_naming_files_outside_ingests_shard_form_deletes_none_of_them(dataset, tmp_path):
    out = tmp_path / "D"
    ingest_dataset(str(dataset), str(out), IngestConfig(shards=1), progress=False)
    (tmp_path / "outside.tfrecord").write_bytes(FOREIGN)
    for name in ("notes.txt", "sub/train-00000-of-00001.tfrecord"):
        (out / name).parent.mkdir(exist_ok=True)
        (out / name).write_bytes(FOREIGN)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["splits"]["train"]["shards"] += [{"file": name} for name in
                                              ("../outside.tfrecord", "notes.txt", "sub/train-00000-of-00001.tfrecord")]
    (out / "manifest.json").write_text(json.dumps(manifest))
    ingest_dataset(str(dataset), str(out), IngestConfig(shards=1), progress=False)
    for path in (tmp_path / "outside.tfrecord", out / "notes.txt", out / "sub" / "train-00000-of-00001.tfrecord"):
        assert path.read_bytes() == FOREIGN


def test_only_staging_files_of_ingests_own_names_at_the_top_level_are_removed(dataset, tmp_path):
    out = tmp_path / "D"
    ingest_dataset(str(dataset), str(out), IngestConfig(shards=1), progress=False)
    own = [f".train-00003-of-00004.tfrecord.tmp-{HEX}", f".labels.parquet.tmp-{HEX}", f".manifest.json.tmp-{HEX}"]
    others = [NOTES, f".notes.txt.tmp-{HEX}", f".labels.parquet.tmp-{HEX[:-1]}", f".labels.parquet.tmp-{HEX}.bak",
              f"older_dataset/.train-00000-of-00007.tfrecord.tmp-{HEX}"]
    for name in own + others:
        (out / name).parent.mkdir(exist_ok=True)
        (out / name).write_bytes(FOREIGN)
    ingest_dataset(str(dataset), str(out), IngestConfig(shards=1), progress=False)
    assert [name for name in own if (out / name).exists()] == []
    assert [name for name in others if (out / name).exists()] == others


def test_what_an_interrupted_ingest_left_is_its_own(dataset, storage_root):
    """No manifest (a killed run removed it first), only names ingest writes: the rerun goes ahead."""
    out = storage.join(storage_root, "D")
    _put(out, "train-00001-of-00002.tfrecord", b"half a run")
    _put(out, "quarantine.jsonl", b"")
    manifest = ingest_dataset(str(dataset), out, IngestConfig(shards=2), progress=False)
    assert _shards(out) == ["train-00000-of-00002.tfrecord", "train-00001-of-00002.tfrecord",
                            "val-00000-of-00002.tfrecord", "val-00001-of-00002.tfrecord"]
    assert storage.read_bytes(storage.join(out, "train-00001-of-00002.tfrecord")) != b"half a run"
    assert manifest["totals"]["ingested"] == 8


def test_fan_out_parts_and_merge_follow_the_same_rules(dataset, tmp_path):
    write_plan(plan_ingest(str(dataset), 2, IngestConfig(shards=2)), str(tmp_path / "plan"))
    plan = read_plan(str(tmp_path / "plan"))
    parts = [tmp_path / "part-0", tmp_path / "part-1"]
    for index, part in enumerate(parts):
        ingest_shards(plan, index, str(part), progress=False)
    (parts[0] / "older_dataset").mkdir()
    (parts[0] / OLDER_SHARD).write_bytes(FOREIGN)
    (parts[0] / NOTES).write_bytes(FOREIGN)
    ingest_shards(plan, 0, str(parts[0]), progress=False)  # its own part.json: a rerun, keeping the rest
    assert (parts[0] / OLDER_SHARD).read_bytes() == FOREIGN and (parts[0] / NOTES).read_bytes() == FOREIGN

    foreign = tmp_path / "foreign"
    (foreign / "older_dataset").mkdir(parents=True)
    (foreign / OLDER_SHARD).write_bytes(FOREIGN)
    with pytest.raises(OutputNotOwnedError, match=f"{foreign} is not empty .* {OLDER_SHARD}.* and no part.json"):
        ingest_shards(plan, 1, str(foreign), progress=False)
    with pytest.raises(OutputNotOwnedError, match=f"{foreign} is not empty .* {OLDER_SHARD}.* and no manifest.json"):
        merge_parts(plan, [str(part) for part in parts], str(foreign), progress=False)
    assert sorted(path.relative_to(foreign).as_posix() for path in foreign.rglob("*") if path.is_file()) == [OLDER_SHARD]

    merged = tmp_path / "merged"
    merge_parts(plan, [str(part) for part in parts], str(merged), progress=False)
    (merged / "older_dataset").mkdir()
    (merged / OLDER_SHARD).write_bytes(FOREIGN)
    (merged / NOTES).write_bytes(FOREIGN)
    merge_parts(plan, [str(part) for part in parts], str(merged), progress=False)
    assert (merged / OLDER_SHARD).read_bytes() == FOREIGN and (merged / NOTES).read_bytes() == FOREIGN


def test_the_cli_refuses_a_folder_it_did_not_write_in_one_line(dataset, tmp_path):
    out = tmp_path / "D"
    (out / "older_dataset").mkdir(parents=True)
    (out / OLDER_SHARD).write_bytes(FOREIGN)
    (out / NOTES).write_bytes(FOREIGN)
    result = subprocess.run([FRACDET, "ingest", "--data", str(dataset), "--out", str(out), "--quiet"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert f"{out} is not empty and no fracdet ingest wrote it: it holds 1 file(s): {OLDER_SHARD}" in result.stderr
    assert (out / OLDER_SHARD).read_bytes() == FOREIGN and (out / NOTES).read_bytes() == FOREIGN
