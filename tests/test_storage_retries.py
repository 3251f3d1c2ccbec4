"""The retry policy (`fracdet_core.storage.retries`) against real faults: each storage operation through a faulty proxy."""

from __future__ import annotations

import pytest
import requests
from gcs_fault_proxy import FAULTS, FaultRule
from google.api_core import exceptions as api_errors

from fracdet_core import storage
from fracdet_core.errors import AlreadyExistsError, ConfigError, ConflictError, NotFoundError, StorageUnavailableError
from fracdet_core.storage import retries


def test_the_policy_reads_its_settings_and_checks_them(monkeypatch):
    monkeypatch.setenv(retries.ENVIRONMENT, "deadline=300 timeout=120")
    assert retries.current_policy() == retries.RetryPolicy(deadline=300, timeout=120)
    monkeypatch.delenv(retries.ENVIRONMENT)
    assert retries.current_policy() == retries.RetryPolicy()
    for bad, message in [("deadline=0", "deadline=0.0 must be a positive"), ("patience=3", "unknown setting 'patience=3'"),
                         ("timeout=soon", "'timeout=soon' is not name=number"), ("initial=5 maximum=1", "maximum=1.0 is below")]:
        monkeypatch.setenv(retries.ENVIRONMENT, bad)
        with pytest.raises(ConfigError, match=message):
            retries.current_policy()


def test_backoff_is_jittered_below_an_exponential_cap():
    policy = retries.RetryPolicy(initial=1, maximum=10, multiplier=2)
    for failures, cap in [(1, 1), (2, 2), (3, 4), (4, 8), (5, 10), (9, 10)]:
        pauses = [policy.backoff(failures) for _ in range(200)]
        assert all(0 <= pause <= cap for pause in pauses)
        assert max(pauses) > cap / 2  # full jitter spreads over the whole range, not one value


def _operations(root: str) -> dict:
    """Each storage operation on a prefix holding `a.bin` (b"a" * 1000) and `old.bin`, as (method, path pattern, call)."""
    target = storage.join(root, "a.bin")
    return {
        "read": ("GET", r"/a\.bin", lambda: storage.read_bytes(target) == b"a" * 1000),
        "list": ("GET", r"/o\?", lambda: storage.list_files(root) == [target, storage.join(root, "old.bin")]),
        "exists": ("GET", r"/a\.bin", lambda: storage.exists(target)),
        "overwrite": ("POST", r"name=ops/a\.bin", lambda: storage.write_bytes(target, b"a" * 1000) is None),
        "create_only": ("POST", r"name=ops/new\.bin", lambda: storage.write_bytes(storage.join(root, "new.bin"), b"n",
                                                                              create_only=True) is None),
        "compare_and_swap": ("POST", r"name=ops/a\.bin", lambda: storage.write_if_unchanged(
            target, b"a" * 1000, storage.read_versioned(target)[1]) is None),
        "delete": ("DELETE", r"/old\.bin", lambda: storage.remove(storage.join(root, "old.bin")) is None),
        "copy": ("POST", r"/a\.bin/(copyTo|rewriteTo)/", lambda: storage.copy_tree(root, root.replace("/ops", "/copy")) == 2),
    }


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("operation", ["read", "list", "exists", "overwrite", "create_only", "compare_and_swap", "delete",
                                       "copy"])
def test_every_operation_survives_two_faults_in_a_row(faulty_gcs, fault, operation):
    proxy, bucket = faulty_gcs
    root = f"gs://{bucket}/ops"
    storage.write_bytes(storage.join(root, "a.bin"), b"a" * 1000)
    storage.write_bytes(storage.join(root, "old.bin"), b"old")
    method, path, run = _operations(root)[operation]
    proxy.inject(rules=[FaultRule(fault, path=path, method=method, count=2)])
    assert run()
    done = {fault, "reset_after"} if fault == "truncate" else {fault}  # an empty answer cannot be cut short: reset instead
    assert len(proxy.injected) == 2 and {item.fault for item in proxy.injected} <= done
    proxy.inject()
    assert storage.list_files(root) == sorted(
        [storage.join(root, "a.bin")] + ([] if operation == "delete" else [storage.join(root, "old.bin")])
        + ([storage.join(root, "new.bin")] if operation == "create_only" else []))
    assert storage.read_bytes(storage.join(root, "a.bin")) == b"a" * 1000


def test_a_create_whose_answer_was_lost_is_not_mistaken_for_a_loss(faulty_gcs):
    """The emulator created the object, the answer was lost, the repeat meets 412: that 412 is our own success."""
    proxy, bucket = faulty_gcs
    uri = f"gs://{bucket}/claims/1.json"
    proxy.inject(rules=[FaultRule("reset_after", path=r"name=claims/1\.json", method="POST", count=1)])
    storage.write_text(uri, "mine", create_only=True)
    assert [item.fault for item in proxy.injected] == ["reset_after"]
    with pytest.raises(AlreadyExistsError):  # a different writer still loses
        storage.write_text(uri, "theirs", create_only=True)
    assert storage.read_text(uri) == "mine"


def test_a_swap_whose_answer_was_lost_is_settled_and_a_real_conflict_still_found(faulty_gcs):
    proxy, bucket = faulty_gcs
    uri = f"gs://{bucket}/aliases/champion"
    storage.write_text(uri, "1")
    _, token = storage.read_versioned(uri)
    proxy.inject(rules=[FaultRule("stall", path=r"name=aliases/champion", method="POST", count=1)])
    storage.write_if_unchanged(uri, b"2", token)
    assert [item.fault for item in proxy.injected] == ["stall"]
    with pytest.raises(ConflictError):
        storage.write_if_unchanged(uri, b"3", token)
    assert storage.read_text(uri) == "2"


def test_a_delete_whose_answer_was_lost_counts_as_done_but_a_missing_object_is_still_named(faulty_gcs):
    proxy, bucket = faulty_gcs
    uri = f"gs://{bucket}/x.bin"
    storage.write_bytes(uri, b"x")
    proxy.inject(rules=[FaultRule("reset_after", path=r"/x\.bin", method="DELETE", count=1)])
    storage.remove(uri)
    assert proxy.faults_done() == {"reset_after": 1} and not storage.exists(uri)
    with pytest.raises(NotFoundError, match=r"x\.bin"):
        storage.remove(uri)


@pytest.mark.parametrize(("fault", "status"), [
    ("503", "HTTP 503 Service Unavailable$"),
    ("reset", "ConnectionError: .*Connection reset by peer.*"),
    ("stall", "no answer within the 1 s request timeout; the server may have applied it$"),  # the emulator got the upload
])
def test_a_fault_that_does_not_pass_ends_in_an_error_naming_the_operation_uri_and_status(faulty_gcs, monkeypatch, fault,
                                                                                          status):
    proxy, bucket = faulty_gcs
    monkeypatch.setenv(retries.ENVIRONMENT, "initial=0.01 maximum=0.05 deadline=1.5 timeout=1")
    proxy.stall_s = 1.5
    uri = f"gs://{bucket}/stuck/metrics.json"
    proxy.inject(rules=[FaultRule(fault, path=r"stuck/metrics\.json")])
    with pytest.raises(StorageUnavailableError, match=rf"^upload {uri}: gave up after \d+ attempts .*last status: {status}"):
        storage.write_text(uri, "{}")
    assert len(proxy.injected) >= 2
    proxy.inject()
    assert storage.exists(uri) == (fault == "stall")


def test_a_read_cut_short_in_a_large_object_is_resumed_at_the_right_offset(faulty_gcs):
    proxy, bucket = faulty_gcs
    data = bytes(range(256)) * 40_000  # 10 MB: two ranges of the 8 MiB chunk
    uri = f"gs://{bucket}/big.bin"
    storage.write_bytes(uri, data)
    proxy.inject(rules=[FaultRule("truncate", path=r"/big\.bin\?.*alt=media", method="GET", count=3)])
    assert storage.read_bytes(uri) == data
    assert proxy.faults_done() == {"truncate": 3}


def _cut_short_answer() -> Exception:
    """What requests raises when a 200 answer's body ends early: the error carries the response, status and all."""
    response = requests.Response()
    response.status_code = 200
    return requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead", response=response)


@pytest.mark.parametrize(("make_error", "transient"), [
    (lambda: api_errors.TooManyRequests("slow down"), True),
    (lambda: api_errors.ServiceUnavailable("down"), True),
    (lambda: api_errors.NotFound("gone"), False),
    (lambda: api_errors.PreconditionFailed("changed"), False),
    (lambda: api_errors.Forbidden("no"), False),
    (lambda: ConnectionResetError(104, "Connection reset by peer"), True),
    (lambda: requests.exceptions.ReadTimeout("read timed out"), True),
    (_cut_short_answer, True),
    (lambda: retries.ShortRead("3 of 8 bytes"), True),
    (lambda: ValueError("a bug, not a fault"), False),
], ids=["429", "503", "404", "412", "403", "reset", "timeout", "cut short", "short range", "other"])
def test_which_errors_are_transient(make_error, transient):
    assert retries.is_transient(make_error()) is transient
