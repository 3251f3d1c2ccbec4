"""A stand-in for the issuers of the JWTs a Kubeflow platform checks: Kubernetes' ServiceAccount tokens and Google's ID tokens.

Tokens are real JWTs (header, claims, signature, base64url), signed with HMAC-SHA256 under a key
of this process: the stand-in gateway and API verify them as Istio's RequestAuthentication, IAP
and ml-pipeline's TokenReview do (signature, issuer, expiry, audience) and refuse them with the
words those give. What they cannot show is the real issuers' key handling (RS256, JWKS).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time

CLUSTER_ISSUER = "https://kubernetes.default.svc.cluster.local"
GOOGLE_ISSUER = "https://accounts.google.com"


class TokenRejectedError(Exception):
    """A token the verifier does not take; the message is the one Istio's JWT filter answers with 401."""


class TokenIssuer:
    """Mints and verifies HS256 JWTs under one random key."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def mint(self, subject: str, audience: str | list[str], *, lifetime_s: float = 3600, issuer: str = CLUSTER_ISSUER,
             **claims: object) -> str:
        """A token for `subject` and `audience`, expiring `lifetime_s` from now (negative: already expired)."""
        now = int(time.time())
        payload = {"iss": issuer, "sub": subject, "aud": audience, "iat": now, "exp": int(now + lifetime_s), **claims}
        signed = f"{_encode({'alg': 'HS256', 'typ': 'JWT'})}.{_encode(payload)}"
        return f"{signed}.{_b64(hmac.new(self._key, signed.encode(), hashlib.sha256).digest())}"

    def verify(self, token: str, audiences: set[str]) -> dict:
        """The token's claims, if it is signed here, unexpired and for one of `audiences` (an empty set: any).

        Raises:
            TokenRejectedError: with Istio's words for what is wrong.
        """
        try:
            header, payload, signature = token.split(".")
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except ValueError:
            raise TokenRejectedError("Jwt is not in the form of Header.Payload.Signature") from None
        expected = _b64(hmac.new(self._key, f"{header}.{payload}".encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(signature, expected):
            raise TokenRejectedError("Jwt verification fails")
        if claims.get("exp", 0) <= time.time():
            raise TokenRejectedError("Jwt is expired")
        audience = claims.get("aud")
        if audiences and not audiences & set(audience if isinstance(audience, list) else [audience]):
            raise TokenRejectedError("Audiences in Jwt are not allowed")
        return claims


def _encode(value: dict) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
