"""The storage layer on both backends: a local temp dir and a real fake-gcs-server."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal

import pytest

from fracdet_core import storage
from fracdet_core.errors import AccessDeniedError, AlreadyExistsError, NotFoundError, StorageError
from fracdet_core.storage import folders

_SPAWN = multiprocessing.get_context("spawn")


def test_bytes_and_text_round_trip(storage_root):
    storage.write_bytes(storage.join(storage_root, "a", "blob.bin"), b"\x00\x01binary")
    storage.write_text(storage.join(storage_root, "note.txt"), "grüße\n")
    assert storage.read_bytes(storage.join(storage_root, "a", "blob.bin")) == b"\x00\x01binary"
    assert storage.read_text(storage.join(storage_root, "note.txt")) == "grüße\n"


def test_overwrite_replaces_content(storage_root):
    uri = storage.join(storage_root, "x.json")
    storage.write_text(uri, "first")
    storage.write_text(uri, "second")
    assert storage.read_text(uri) == "second"


def test_missing_object_names_the_uri(storage_root):
    uri = storage.join(storage_root, "missing", "file.txt")
    with pytest.raises(NotFoundError, match=r"missing/file\.txt"):
        storage.read_bytes(uri)


def test_create_only_refuses_an_existing_target_and_keeps_it(storage_root):
    uri = storage.join(storage_root, "marker.json")
    storage.write_text(uri, "winner", create_only=True)
    with pytest.raises(AlreadyExistsError, match=r"marker\.json"):
        storage.write_text(uri, "loser", create_only=True)
    with pytest.raises(AlreadyExistsError), storage.open_write(uri, create_only=True) as stream:
        stream.write(b"loser too")
    assert storage.read_text(uri) == "winner"


def test_stream_is_published_only_when_the_block_succeeds(storage_root):
    uri = storage.join(storage_root, "shard.tfrecord")
    with pytest.raises(RuntimeError), storage.open_write(uri) as stream:
        stream.write(b"half a shard")
        raise RuntimeError("writer failed")
    assert not storage.exists(uri)
    assert storage.list_files(storage_root) == []

    with storage.open_write(uri) as stream:
        stream.write(b"x" * 3_000_000)
    with storage.open_read(uri) as stream:
        assert stream.read(5) == b"xxxxx"
        assert len(stream.read()) == 3_000_000 - 5


def _write_then_die(uri: str) -> None:
    with storage.open_write(uri) as stream:
        stream.write(b"y" * 1_000_000)
        stream.flush()
        os.kill(os.getpid(), signal.SIGKILL)


def test_a_writer_killed_mid_write_leaves_nothing_visible(storage_root):
    """Killed while filling the stream: on GCS that is before the upload begins (one killed mid-upload follows)."""
    uri = storage.join(storage_root, "part", "shard-00000.tfrecord")
    process = _SPAWN.Process(target=_write_then_die, args=(uri,))
    process.start()
    process.join(60)
    assert process.exitcode == -signal.SIGKILL
    assert not storage.exists(uri)
    assert storage.list_files(storage_root) == []


def test_leftovers_of_killed_writers_can_be_removed(tmp_path):
    uri = str(tmp_path / "shards" / "train-00000.tfrecord")
    process = _SPAWN.Process(target=_write_then_die, args=(uri,))
    process.start()
    process.join(60)
    shards = tmp_path / "shards"
    (staging,) = list(shards.iterdir())  # the hidden staging file
    assert staging.name.startswith(".train-00000.tfrecord.tmp-")
    others = [shards / ".notes.tmp-keep", shards / ".other.tfrecord.tmp-0123456789abcdef0123456789abcdef",
              shards / "nested" / staging.name, shards / f"{staging.name}x"]
    for other in others:
        other.parent.mkdir(exist_ok=True)
        other.write_text("not this caller's")
    assert storage.remove_temporaries(str(shards), r"train-\d{5}\.tfrecord") == 1
    assert not staging.exists() and all(other.read_text() == "not this caller's" for other in others)


# Above google-cloud-storage's 8 MiB `_MAX_MULTIPART_SIZE`, so a resumable upload, and above its 100 MiB
# default chunk (`_DEFAULT_CHUNKSIZE`, which fracdet keeps), so the upload takes two PUT requests.
_UPLOAD_SIZE = 120 * 1024 * 1024


def _upload_then_die(uri: str, writer: str, log_path: str) -> None:
    """Publish a 120 MiB object at `uri`, and SIGKILL this process as soon as the first chunk is acknowledged.

    The kill comes inside the upload: the resumable session is open and the server has accepted
    and confirmed (HTTP 308 with a Range) the first 100 MiB, but the last chunk, which would
    finalise the object, is never sent. No request is in flight when the process dies, so what
    the server holds afterwards does not depend on timing. What the upload had done goes to
    `log_path` first, for the test to check where the kill came.
    """
    from google.cloud.storage._media.requests import ResumableUpload

    transmit_next_chunk = ResumableUpload.transmit_next_chunk

    def transmit_then_die(self, *args: object, **kwargs: object):
        response = transmit_next_chunk(self, *args, **kwargs)
        if not self.finished:
            with open(log_path, "w") as log:
                json.dump({"session": self.resumable_url, "status": response.status_code,
                           "bytes_uploaded": self.bytes_uploaded, "total_bytes": self.total_bytes}, log)
            os.kill(os.getpid(), signal.SIGKILL)
        return response

    ResumableUpload.transmit_next_chunk = transmit_then_die
    data = bytes(range(256)) * (_UPLOAD_SIZE // 256)
    if writer == "write_bytes":
        storage.write_bytes(uri, data)
    else:
        with storage.open_write(uri) as stream:
            for start in range(0, len(data), 1024 * 1024):
                stream.write(data[start:start + 1024 * 1024])


@pytest.mark.parametrize("writer", ["write_bytes", "open_write"])
@pytest.mark.parametrize("old_version", [None, b"version 1\n"], ids=["new", "overwrite"])
def test_an_upload_killed_part_way_leaves_nothing_visible_and_the_old_version_intact(gcs_bucket, tmp_path, writer, old_version):
    root = f"gs://{gcs_bucket}/root"
    uri = storage.join(root, "model", "variables.data-00000-of-00001")
    if old_version is not None:
        storage.write_bytes(uri, old_version)
    log_path = tmp_path / "upload.json"
    process = _SPAWN.Process(target=_upload_then_die, args=(uri, writer, str(log_path)))
    process.start()
    process.join(120)
    assert process.exitcode == -signal.SIGKILL

    # The kill came inside the upload: a session on the bucket was open and had taken the first 100 MiB.
    log = json.loads(log_path.read_text())
    assert f"/upload/storage/v1/b/{gcs_bucket}/o?" in log["session"] and "upload_id=" in log["session"]
    assert (log["status"], log["bytes_uploaded"], log["total_bytes"]) == (308, 100 * 1024 * 1024, _UPLOAD_SIZE)

    if old_version is None:
        assert not storage.exists(uri)
        assert storage.list_files(root) == []
    else:
        assert storage.read_bytes(uri) == old_version
        assert storage.list_files(root) == [uri]


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("gs://bucket/a/./b//c/../d", "gs://bucket/a/b/d"),
        ("gs://bucket/a/..", "gs://bucket"),
        ("/data/./train/../valid", "/data/valid"),
    ],
)
def test_normalize(uri, expected):
    assert storage.normalize(uri) == expected


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("gs://bucket/data/data.yaml", "gs://bucket/data"),
        ("gs://bucket/data/", "gs://bucket"),
        ("/data/train/data.yaml", "/data/train"),
        ("/data/train/", "/data"),
    ],
)
def test_parent(uri, expected):
    assert storage.parent(uri) == expected


def test_the_parent_of_a_relative_path_is_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert storage.parent("data/data.yaml") == str(tmp_path / "data")


def test_normalize_refuses_to_climb_above_a_bucket():
    with pytest.raises(StorageError, match="climbs above its bucket"):
        storage.normalize("gs://bucket/a/../../x")


def test_list_files_is_recursive_sorted_and_bounded_by_the_folder(storage_root):
    for name in ("b/2.txt", "a.txt", "b/1.txt", "b/c/3.txt"):
        storage.write_text(storage.join(storage_root, "data", *name.split("/")), name)
    storage.write_text(storage.join(storage_root, "data-other", "x.txt"), "neighbour, not a child")
    listed = storage.list_files(storage.join(storage_root, "data"))
    expected = [storage.join(storage_root, "data", *name.split("/")) for name in ("a.txt", "b/1.txt", "b/2.txt", "b/c/3.txt")]
    assert listed == expected
    assert storage.list_files(storage.join(storage_root, "nothing-here")) == []


def test_exists_is_true_only_for_files(storage_root):
    storage.write_text(storage.join(storage_root, "d", "f.txt"), "f")
    assert storage.exists(storage.join(storage_root, "d", "f.txt"))
    assert not storage.exists(storage.join(storage_root, "d"))
    assert not storage.exists(storage.join(storage_root, "d", "g.txt"))


def test_remove(storage_root):
    uri = storage.join(storage_root, "gone.txt")
    storage.write_text(uri, "soon gone")
    storage.remove(uri)
    assert not storage.exists(uri)
    storage.remove(uri, missing_ok=True)
    with pytest.raises(NotFoundError, match=r"gone\.txt"):
        storage.remove(uri)


@pytest.mark.parametrize("destination_kind", ["local", "gcs"])
def test_copy_tree_within_and_across_backends(storage_root, destination_kind, tmp_path, request):
    files = {"model/saved_model.pb": b"pb", "model/variables/variables.index": b"idx", "metadata.json": b"{}"}
    source = storage.join(storage_root, "src")
    for name, data in files.items():
        storage.write_bytes(storage.join(source, *name.split("/")), data)
    destination = str(tmp_path / "copy") if destination_kind == "local" else f"gs://{request.getfixturevalue('gcs_bucket')}/copy"

    assert storage.copy_tree(source, destination) == 3
    for name, data in files.items():
        assert storage.read_bytes(storage.join(destination, *name.split("/"))) == data
    with pytest.raises(NotFoundError, match="nothing to copy"):
        storage.copy_tree(storage.join(storage_root, "empty"), destination)


def _race(uri: str, payload: str, barrier, results) -> None:
    barrier.wait()
    try:
        storage.write_text(uri, payload, create_only=True)
        results.put(("won", payload))
    except AlreadyExistsError:
        results.put(("lost", payload))


@pytest.mark.slow
def test_create_only_publish_racing_from_processes_has_exactly_one_winner(storage_root):
    racers = 6
    uri = storage.join(storage_root, "aliases", "champion")
    barrier, results = _SPAWN.Barrier(racers), _SPAWN.Queue()
    processes = [_SPAWN.Process(target=_race, args=(uri, f"writer-{i}", barrier, results)) for i in range(racers)]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(60)
    winners = [payload for outcome, payload in outcomes if outcome == "won"]
    assert len(winners) == 1, outcomes
    assert storage.read_text(uri) == winners[0]


def test_join_and_split():
    assert storage.join("gs://bucket/prefix/", "a", "/b.txt") == "gs://bucket/prefix/a/b.txt"
    assert storage.join("gs://bucket", "x") == "gs://bucket/x"
    assert storage.join("/tmp/data", "a", "b") == "/tmp/data/a/b"
    assert storage.split_gcs("gs://bucket/a/b") == ("bucket", "a/b")
    with pytest.raises(StorageError, match="names no bucket"):
        storage.split_gcs("gs:///a")


def test_missing_bucket_is_named(gcs_emulator):
    with pytest.raises(NotFoundError, match="bucket gs://no-such-bucket does not exist"):
        storage.read_bytes("gs://no-such-bucket/data.yaml")
    with pytest.raises(NotFoundError, match="bucket gs://no-such-bucket does not exist"):
        storage.write_text("gs://no-such-bucket/x.txt", "x")


def test_denied_access_is_named(denying_gcs):
    with pytest.raises(AccessDeniedError, match=r"access denied to gs://locked/data.yaml"):
        storage.read_bytes("gs://locked/data.yaml")
    with pytest.raises(AccessDeniedError, match=r"gs://locked/out.json"):
        storage.write_text("gs://locked/out.json", "{}")


def test_a_prefix_is_not_an_object(gcs_bucket):
    with pytest.raises(StorageError, match="names a prefix"):
        storage.read_bytes(f"gs://{gcs_bucket}/folder/")


# --- folders published whole ---------------------------------------------------------------


@pytest.mark.parametrize(("first", "second", "relation"), [
    ("gs://b/in", "gs://b/in/", "same"),
    ("gs://b/in/./out", "gs://b/in", "inside"),
    ("gs://b", "gs://b/in/a.png", "contains"),
    ("gs://b/in", "gs://b/input", None),  # whole segments only
    ("gs://b/in", "gs://c/in", None),
    ("gs://b/in", "/in", None),
])
def test_overlap_of_uris(first, second, relation):
    assert storage.overlap(first, second) == relation


def test_overlap_of_local_paths_follows_links(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "in")
    assert storage.overlap(tmp_path / "link", tmp_path / "in") == "same"
    assert storage.overlap(tmp_path / "link" / "out", tmp_path / "in" / ".." / "in") == "inside"
    assert storage.overlap(tmp_path, tmp_path / "link" / "a.png") == "contains"
    assert storage.overlap(tmp_path / "in", tmp_path / "input") is None


def _tree(folder: str | os.PathLike[str]) -> dict[str, str]:
    return {name: storage.read_text(os.path.join(folder, name)) for name in os.listdir(folder)}


def test_replace_folder_swaps_the_staging_folder_in(tmp_path):
    target = tmp_path / "out"
    with storage.staging_folder(target) as staging:
        storage.write_text(storage.join(staging, "a"), "first")
        storage.replace_folder(staging, target)  # no target yet: a plain rename
        assert not os.path.exists(staging)
    with storage.staging_folder(target) as staging:
        storage.write_text(storage.join(staging, "b"), "second")
        storage.replace_folder(staging, target)
        assert _tree(staging) == {"a": "first"}  # the previous content, deleted on exit
    assert _tree(target) == {"b": "second"}
    assert [path.name for path in tmp_path.iterdir()] == ["out"]


@pytest.mark.parametrize("renames_done", [1, 2], ids=["killed after moving the old aside", "killed after moving the new in"])
def test_a_swap_by_renames_cut_short_is_undone_by_the_next_run(tmp_path, renames_done):
    """Where folders cannot be swapped atomically: the state a kill between the renames leaves, then recovery."""
    target, staging, aside = tmp_path / "out", tmp_path / ".out.tmp-0123", tmp_path / ".out.tmp-previous"
    for folder, content in ((target, "old"), (staging, "new")):
        folder.mkdir()
        (folder / "metrics.json").write_text(content)
    target.rename(aside)
    if renames_done == 2:
        staging.rename(target)
    storage.recover_folder(target)
    assert _tree(target) == {"metrics.json": "old" if renames_done == 1 else "new"}
    assert not aside.exists()


def test_a_swap_by_renames_publishes_the_new_folder(tmp_path):
    target, staging = tmp_path / "out", tmp_path / ".out.tmp-0123"
    for folder, content in ((target, "old"), (staging, "new")):
        folder.mkdir()
        (folder / "metrics.json").write_text(content)
    folders._replace_by_renames(str(staging), str(target))
    assert _tree(target) == {"metrics.json": "new"} and _tree(staging) == {"metrics.json": "old"}


def _stage_and_wait(target: str, staged, release) -> None:
    with storage.staging_folder(target) as staging:
        storage.write_text(storage.join(staging, "part"), "in progress")
        staged.set()
        release.wait(60)


def test_only_the_staging_folders_of_dead_runs_are_cleared(tmp_path):
    target = str(tmp_path / "out")
    staged, release = _SPAWN.Event(), _SPAWN.Event()
    live = _SPAWN.Process(target=_stage_and_wait, args=(target, staged, release))
    live.start()
    assert staged.wait(60)
    with storage.staging_folder(target):  # another run beside the live one: it keeps the live one's folder
        assert len([path for path in tmp_path.iterdir() if path.name.startswith(".out.tmp-")]) == 2
    os.kill(live.pid, signal.SIGKILL)
    live.join(60)
    with storage.staging_folder(target) as staging:  # the dead run's folder is cleared
        assert [path.name for path in tmp_path.iterdir()] == [os.path.basename(staging)]


def test_listings_leave_out_staging_folders_but_show_their_files(storage_root):
    storage.write_text(storage.join(storage_root, "out", "a.json"), "{}")
    with storage.staging_folder(storage.join(storage_root, "out")) as staging:
        storage.write_text(storage.join(staging, "b.json"), "{}")
        assert storage.list_files(storage_root) == [storage.join(storage_root, "out", "a.json")]
        assert storage.list_files(staging) == [storage.join(staging, "b.json")]
    assert storage.list_files(storage_root) == [storage.join(storage_root, "out", "a.json")]
