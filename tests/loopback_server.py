"""What the stand-in servers of the platform share: an HTTP server on 127.0.0.1 that serves in a thread during a `with`."""

from __future__ import annotations

import http.server
import threading
from typing import Self


class LoopbackHandler(http.server.BaseHTTPRequestHandler):
    """A quiet request handler that answers a whole body at once."""

    def send_body(self, status: int, content_type: str, text: str, headers: dict[str, str] | None = None) -> None:
        data = text.encode()
        self.send_response(status)
        for name, value in {"Content-Type": content_type, **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


class LoopbackServer:
    """Serves `handler` on 127.0.0.1 and a free port; `attributes` become the handler's class attributes (its server)."""

    def __init__(self, handler: type[LoopbackHandler], **attributes: object) -> None:
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (handler,), attributes))

    @property
    def address(self) -> str:
        """host:port."""
        return f"127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> Self:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
