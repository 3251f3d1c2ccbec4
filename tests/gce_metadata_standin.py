"""A loopback stand-in for the GCE/GKE metadata server's identity endpoint. It is NOT Google.

google-auth finds the metadata server at $GCE_METADATA_IP (its ping) and $GCE_METADATA_HOST (its
paths), read when google.auth is imported: a test points a new process at this server. It
answers the ping (`Metadata-Flavor: Google`), the project ID, the service account and its ID token
for an audience, minted by the test's TokenIssuer with Google's issuer and the account's email,
as GKE's metadata server does for a pod under Workload Identity. Real Google ID tokens are RS256
and checked by IAP against Google's keys; that, IAP itself and IAM are not here.
"""

from __future__ import annotations

import http.server
import json
import threading
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

from token_issuer import GOOGLE_ISSUER, TokenIssuer

ACCOUNT_EMAIL = "fracdet-ci@fracdet-test.iam.gserviceaccount.com"
ACCOUNT_PATH = "/computeMetadata/v1/instance/service-accounts/default/"
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
IDENTITY_PATH = "/computeMetadata/v1/instance/service-accounts/default/identity"


class MetadataStandin:
    """The stand-in server (`with MetadataStandin(issuer) as metadata:`); `address` is host:port for the variables.

    Attributes:
        audiences: the audience of every ID token asked for, in order.
    """

    def __init__(self, issuer: TokenIssuer) -> None:
        self.issuer = issuer
        self.audiences: list[str] = []
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (_Handler,), {"metadata": self}))

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> MetadataStandin:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Handler(http.server.BaseHTTPRequestHandler):
    metadata: ClassVar[MetadataStandin]

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if self.headers.get("Metadata-Flavor") != "Google":
            self._send(403, "Missing Metadata-Flavor:Google header.")
        elif parts.path == "/":
            self._send(200, "computeMetadata/")
        elif parts.path == "/computeMetadata/v1/project/project-id":
            self._send(200, "fracdet-test")
        elif parts.path == ACCOUNT_PATH:  # what google-auth reads of the account before it asks for tokens
            self._send(200, json.dumps({"aliases": ["default"], "email": ACCOUNT_EMAIL, "scopes": [CLOUD_PLATFORM_SCOPE]}),
                       "application/json")
        elif parts.path == IDENTITY_PATH:
            audience = parse_qs(parts.query)["audience"][0]
            self.metadata.audiences.append(audience)
            self._send(200, self.metadata.issuer.mint("117" * 7, audience, issuer=GOOGLE_ISSUER, email=ACCOUNT_EMAIL))
        else:
            self._send(404, "not found")

    def _send(self, status: int, text: str, content_type: str = "application/text") -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Metadata-Flavor", "Google")
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass
