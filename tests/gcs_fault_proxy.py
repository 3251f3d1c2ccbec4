"""A fault-injecting HTTP proxy in front of fake-gcs-server: the transient faults of a real bucket, on demand.

The storage client is pointed at the proxy with STORAGE_EMULATOR_HOST; the proxy forwards each
request to the emulator and, by rule or at a seeded rate, answers with one of these faults instead:

| fault         | what the client sees                          | did the emulator act? |
| ------------- | --------------------------------------------- | --------------------- |
| `429`, `503`  | that status, with a GCS-style JSON error      | no                    |
| `reset`       | the connection reset before any answer        | no                    |
| `reset_after` | the connection reset after the emulator acted | yes: the answer is lost |
| `stall`       | no answer for `stall_s` seconds, then a reset | yes: the answer is lost |
| `truncate`    | the full headers and half the body, then EOF  | yes                   |

A rule (`FaultRule`) picks requests by method and a regular expression on the decoded path and
query (uploads name their object in the body: `&name=<object>` is added for matching), for its
first `count` matches or for all of them; the rate picks any request with probability `rate` from
a `random.Random(seed)` and draws the fault from `faults`. Every fault done is recorded in
`injected`, so a test can show that faults really fired.

URLs of the emulator in answers (the media links and resumable-upload sessions it hands out) are
rewritten to the proxy's, so follow-up requests pass through it too.
"""

from __future__ import annotations

import dataclasses
import http.client
import http.server
import json
import random
import re
import socket
import struct
import threading
import time
import urllib.parse
from collections.abc import Sequence

FAULTS = ("429", "503", "reset", "reset_after", "stall", "truncate")
_HOP_HEADERS = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "content-length", "host"}


@dataclasses.dataclass(frozen=True)
class FaultRule:
    """Answer matching requests with `fault`: those with `method` ("*": any) whose path and query match `path`.

    `count`: only the first so many matches; None: every one.
    """

    fault: str
    path: str = ".*"
    method: str = "*"
    count: int | None = None

    def __post_init__(self) -> None:
        if self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}; expected one of {FAULTS}")

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method) and re.search(self.path, path) is not None


@dataclasses.dataclass(frozen=True)
class Injected:
    """One fault done: the request's method and decoded path, and the fault."""

    method: str
    path: str
    fault: str


class FaultProxy:
    """The proxy: a threaded HTTP server on 127.0.0.1 and a free port, forwarding to `upstream`."""

    def __init__(self, upstream: str, *, stall_s: float = 5.0) -> None:
        self.upstream = upstream.rstrip("/")
        self.stall_s = stall_s
        self.requests = 0
        self.injected: list[Injected] = []
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._hits: dict[int, int] = {}
        self._rate = 0.0
        self._faults: Sequence[str] = FAULTS
        self._random = random.Random(0)
        handler = type("Handler", (_ProxyHandler,), {"proxy": self})
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False  # a stalled answer must not hold up shutdown
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def inject(self, *, rules: Sequence[FaultRule] = (), rate: float = 0.0, seed: int = 0,
               faults: Sequence[str] = FAULTS) -> None:
        """Replace the faults to inject, and forget those recorded and the request count."""
        unknown = set(faults) - set(FAULTS)
        if unknown or not 0 <= rate <= 1:
            raise ValueError(f"faults {sorted(unknown)} unknown or rate {rate} outside [0, 1]")
        with self._lock:
            self._rules, self._hits = list(rules), {}
            self._rate, self._faults, self._random = rate, tuple(faults), random.Random(seed)
            self.injected, self.requests = [], 0

    def choose(self, method: str, path: str) -> str | None:
        """The fault for this request, or None to forward it untouched."""
        with self._lock:
            self.requests += 1
            for index, rule in enumerate(self._rules):
                if rule.matches(method, path) and (rule.count is None or self._hits.get(index, 0) < rule.count):
                    self._hits[index] = self._hits.get(index, 0) + 1
                    return rule.fault
            if self._rate and self._random.random() < self._rate:
                return self._random.choice(self._faults)
            return None

    def record(self, method: str, path: str, fault: str) -> None:
        with self._lock:
            self.injected.append(Injected(method, path, fault))

    def faults_done(self) -> dict[str, int]:
        """How many times each fault was done."""
        with self._lock:
            counts: dict[str, int] = {}
            for item in self.injected:
                counts[item.fault] = counts.get(item.fault, 0) + 1
            return counts


def _target(path: str, body: bytes) -> str:
    """What rules match: the path and query, with `&name=<object>` added for an upload, which names its object in the body."""
    if path.startswith("/upload/") and "name=" not in path:
        named = re.search(rb'"name"\s*:\s*"([^"]+)"', body[:4096])
        if named:
            return f"{path}&name={named[1].decode()}"
    return path


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    proxy: FaultProxy
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle's algorithm and the
        # client's delayed ACK hold each answer's body back for tens of milliseconds.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _handle(self) -> None:
        body = self._request_body()
        path = _target(urllib.parse.unquote(self.path), body)
        fault = self.proxy.choose(self.command, path)
        if fault in ("429", "503"):
            self.proxy.record(self.command, path, fault)
            self._send(int(fault), {"Content-Type": "application/json"},
                       json.dumps({"error": {"code": int(fault), "message": f"injected {fault}"}}).encode())
            return
        if fault == "reset":
            self.proxy.record(self.command, path, fault)
            self._reset()
            return
        status, headers, answer = self._forward(body)
        if fault == "truncate" and len(answer) < 2:
            fault = "reset_after"  # nothing to cut short
        if fault is not None:
            self.proxy.record(self.command, path, fault)
        if fault == "reset_after":
            self._reset()
        elif fault == "stall":
            time.sleep(self.proxy.stall_s)
            self._reset()
        elif fault == "truncate":
            self._send(status, headers, answer, cut=len(answer) // 2)
        else:
            self._send(status, headers, answer)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle  # noqa: N815 - http.server dispatches to do_<METHOD>

    def _request_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while (size := int(self.rfile.readline().split(b";")[0], 16)) > 0:
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _forward(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        upstream = urllib.parse.urlsplit(self.proxy.upstream)
        connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
        try:
            headers = {name: value for name, value in self.headers.items() if name.lower() not in _HOP_HEADERS}
            connection.request(self.command, self.path, body=body, headers=headers | {"Content-Length": str(len(body))})
            response = connection.getresponse()
            answer = response.read().replace(self.proxy.upstream.encode(), self.proxy.url.encode())
            kept = {name: value.replace(self.proxy.upstream, self.proxy.url) for name, value in response.getheaders()
                    if name.lower() not in _HOP_HEADERS}
            return response.status, kept, answer
        finally:
            connection.close()

    def _send(self, status: int, headers: dict[str, str], body: bytes, *, cut: int | None = None) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if cut is not None:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body if cut is None else body[:cut])
        self.wfile.flush()
        if cut is not None:
            self.close_connection = True

    def _reset(self) -> None:
        """Close the connection with a TCP reset, as a dropped connection looks to the client."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass
