"""A loopback stand-in for the GCE/GKE metadata server's identity endpoint. It is NOT Google.

google-auth finds the metadata server at $GCE_METADATA_IP (its ping) and $GCE_METADATA_HOST (its
paths), read when google.auth is imported: a test points a new process at this server. It
answers the ping (`Metadata-Flavor: Google`), the project ID, the service account and its ID token
for an audience, minted by the test's TokenIssuer with Google's issuer and the account's email,
as GKE's metadata server does for a pod under Workload Identity. Real Google ID tokens are RS256
and checked by IAP against Google's keys; that, IAP itself and IAM are not here.
"""

from __future__ import annotations

import json
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

from loopback_server import LoopbackHandler, LoopbackServer
from token_issuer import GOOGLE_ISSUER, TokenIssuer

ACCOUNT_EMAIL = "fracdet-ci@fracdet-test.iam.gserviceaccount.com"
ACCOUNT_PATH = "/computeMetadata/v1/instance/service-accounts/default/"
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
IDENTITY_PATH = "/computeMetadata/v1/instance/service-accounts/default/identity"


class MetadataStandin(LoopbackServer):
    """The stand-in server (`with MetadataStandin(issuer) as metadata:`); `address` is host:port for the variables.

    Attributes:
        audiences: the audience of every ID token asked for, in order.
    """

    def __init__(self, issuer: TokenIssuer) -> None:
        self.issuer = issuer
        self.audiences: list[str] = []
        super().__init__(_Handler, metadata=self)


class _Handler(LoopbackHandler):
    metadata: ClassVar[MetadataStandin]

    def do_GET(self) -> None:  # noqa: N802 - http.server calls do_<METHOD> by name
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
        self.send_body(status, content_type, text, {"Metadata-Flavor": "Google"})
