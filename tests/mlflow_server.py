"""A real `mlflow server` on 127.0.0.1 for the tests: SQLite backend store, proxied artifacts in a local folder.

The server runs from its own virtual environment (`.venv-mlflow-server`, made by `make install-mlflow` from
requirements-mlflow-server.lock): mlflow 3.17 needs pyarrow<26, which fracdet's runtime lock does
not allow; fracdet itself talks to it with the client (mlflow-skinny, requirements-mlflow.lock).
`FRACDET_MLFLOW_SERVER` names another `mlflow` executable.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from local_ports import free_ports

REPOSITORY = Path(__file__).resolve().parent.parent
SERVER_VENV = REPOSITORY / ".venv-mlflow-server"
START_TIMEOUT_S = 60.0


def server_executable() -> str | None:
    """The `mlflow` command that can run a server, or None where none is installed."""
    named = os.environ.get("FRACDET_MLFLOW_SERVER")
    if named:
        return named
    for base in (REPOSITORY, Path("/work/main")):
        candidate = base / ".venv-mlflow-server" / "bin" / "mlflow"
        if candidate.exists():
            return str(candidate)
    return None


@dataclasses.dataclass
class MlflowTestServer:
    """One server process; `url` is its tracking URI, `registry` the same server as an `mlflow://` registry."""

    folder: Path
    port: int
    basic_auth: bool = False
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def registry(self) -> str:
        return f"mlflow://127.0.0.1:{self.port}"

    def start(self) -> MlflowTestServer:
        """Start the server (one worker: enough for the tests, and quicker up than four) and wait for /health."""
        executable = server_executable()
        if executable is None:
            raise RuntimeError("no mlflow server installed: run `make install-mlflow` (it makes .venv-mlflow-server)")
        self.folder.mkdir(parents=True, exist_ok=True)
        environment = {**os.environ, "MLFLOW_FLASK_SERVER_SECRET_KEY": "fracdet-tests"}
        command = [executable, "server", "--backend-store-uri", f"sqlite:///{self.folder / 'mlflow.db'}",
                   "--artifacts-destination", str(self.folder / "artifacts"), "--host", "127.0.0.1",
                   "--port", str(self.port), "--workers", "1"]
        if self.basic_auth:
            config = self.folder / "auth.ini"
            config.write_text("[mlflow]\ndefault_permission = READ\nadmin_username = admin\nadmin_password = fracdet-tests-7d2c\n"
                              f"database_uri = sqlite:///{self.folder / 'auth.db'}\n"
                              "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n")
            environment["MLFLOW_AUTH_CONFIG_PATH"] = str(config)
            command += ["--app-name", "basic-auth"]
        log = open(self.folder / "server.log", "wb")  # noqa: SIM115 - the server writes it for its whole life
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment,
                                        start_new_session=True)
        self._wait_healthy()
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mlflow server exited: {(self.folder / 'server.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        log = (self.folder / "server.log").read_text()[-2000:]
        raise RuntimeError(f"mlflow server not healthy after {START_TIMEOUT_S} s: {log}")

    def stop(self) -> None:
        """Stop the server and its workers (its own process group)."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def start_server(folder: Path, *, basic_auth: bool = False) -> MlflowTestServer:
    return MlflowTestServer(folder, free_ports(1)[0], basic_auth=basic_auth).start()
