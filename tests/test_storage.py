"""The storage layer on both backends: a local temp dir and a real fake-gcs-server."""

from __future__ import annotations

import multiprocessing
import os
import signal

import pytest

from fracdet_core import storage
from fracdet_core.errors import AccessDeniedError, AlreadyExistsError, NotFoundError, StorageError

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
    with pytest.raises(NotFoundError, match="missing/file.txt"):
        storage.read_bytes(uri)


def test_create_only_refuses_an_existing_target_and_keeps_it(storage_root):
    uri = storage.join(storage_root, "marker.json")
    storage.write_text(uri, "winner", create_only=True)
    with pytest.raises(AlreadyExistsError, match="marker.json"):
        storage.write_text(uri, "loser", create_only=True)
    with pytest.raises(AlreadyExistsError):
        with storage.open_write(uri, create_only=True) as stream:
            stream.write(b"loser too")
    assert storage.read_text(uri) == "winner"


def test_stream_is_published_only_when_the_block_succeeds(storage_root):
    uri = storage.join(storage_root, "shard.tfrecord")
    with pytest.raises(RuntimeError):
        with storage.open_write(uri) as stream:
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
    assert [p.name for p in (tmp_path / "shards").iterdir()] != []  # the hidden staging file
    assert storage.remove_temporaries(str(tmp_path)) == 1
    assert list((tmp_path / "shards").iterdir()) == []


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
    with pytest.raises(NotFoundError, match="gone.txt"):
        storage.remove(uri)


@pytest.mark.parametrize("destination_kind", ["local", "gcs"])
def test_copy_tree_within_and_across_backends(storage_root, destination_kind, tmp_path, request):
    files = {"model/saved_model.pb": b"pb", "model/variables/variables.index": b"idx", "metadata.json": b"{}"}
    source = storage.join(storage_root, "src")
    for name, data in files.items():
        storage.write_bytes(storage.join(source, *name.split("/")), data)
    if destination_kind == "local":
        destination = str(tmp_path / "copy")
    else:
        destination = f"gs://{request.getfixturevalue('gcs_bucket')}/copy"

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
