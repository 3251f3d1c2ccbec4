"""The credential `fracdet pipeline submit` sends to the KFP API: chosen from flags and the environment, then obtained.

Each deployment expects its own (docs/kubeflow.md#authentication):

- a pod inside the cluster: the projected ServiceAccount token volume that the KFP SDK reads
  ($KF_PIPELINES_SA_TOKEN_PATH, default /var/run/secrets/kubeflow/pipelines/token), used whenever
  it is there and nothing else is given;
- outside, through the Kubeflow Platform's gateway: a Bearer token, such as a Kubernetes
  ServiceAccount token from `kubectl create token`, from `--token-file` or $KFP_EXISTING_TOKEN
  (the variable the kfp CLI reads for its --existing-token);
- a Dex user, $KFP_DEX_USERNAME and $KFP_DEX_PASSWORD: fracdet logs in and sends the session cookie;
- Kubeflow on GKE behind Identity-Aware Proxy: an ID token for the IAP OAuth client ID, from
  `--iap-client-id` or $KF_PIPELINES_IAP_OAUTH2_CLIENT_ID (the variable kfp.Client reads).

A standalone Kubeflow Pipelines needs none. Secrets come from files and the environment, never
from the command line, where the shell history and `ps` would keep them; what is printed names
the credential and where it came from, never its value. The platform's own mechanisms do the
sending: kfp.Client's `existing_token`, `cookies` and `credentials` (its
ServiceAccountTokenVolumeCredentials reads a token file again for every request, as the kubelet
rotates the volume's token).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime

from kfp.client import KF_PIPELINES_SA_TOKEN_ENV, KF_PIPELINES_SA_TOKEN_PATH, ServiceAccountTokenVolumeCredentials
from kfp.client.client import KF_PIPELINES_IAP_OAUTH2_CLIENT_ID_ENV
from kfp.client.token_credentials_base import read_token_from_file

from fracdet_core.errors import ConfigError
from fracdet_pipelines.dex_login import dex_session_cookies
from fracdet_pipelines.iap_token import IapTokenCredentials

TOKEN_ENV = "KFP_EXISTING_TOKEN"
DEX_USERNAME_ENV = "KFP_DEX_USERNAME"
DEX_PASSWORD_ENV = "KFP_DEX_PASSWORD"
VARIABLES = (KF_PIPELINES_SA_TOKEN_ENV, TOKEN_ENV, DEX_USERNAME_ENV, DEX_PASSWORD_ENV, KF_PIPELINES_IAP_OAUTH2_CLIENT_ID_ENV)

# The ways in.
NONE = "none"
TOKEN_VOLUME = "token_volume"
BEARER_TOKEN = "bearer_token"
DEX = "dex"
IAP = "iap"


@dataclasses.dataclass(frozen=True)
class Credential:
    """One way in to the KFP API: chosen (no secret read yet), then obtained (`obtain`) with what it sends.

    Attributes:
        mode: NONE, TOKEN_VOLUME, BEARER_TOKEN, DEX or IAP.
        source: where it was given, as messages name it: "--token-file ci.jwt", "$KFP_EXISTING_TOKEN".
        name: what identifies it and is no secret: the token file, the Dex user, the IAP client ID.
        token_file: a file holding a Bearer token, read for every request.
        token: a Bearer token (obtained; never printed).
        cookies: the session cookies of a Dex login (obtained; never printed).
        iap: the ID-token minter of IAP (obtained).
    """

    mode: str
    source: str = ""
    name: str = ""
    token_file: str | None = None
    token: str | None = dataclasses.field(default=None, repr=False)
    cookies: str | None = dataclasses.field(default=None, repr=False)
    iap: IapTokenCredentials | None = dataclasses.field(default=None, repr=False)

    def describe(self) -> str:
        """What is used, for the `auth:` line and the error messages; never the secret itself."""
        return {
            NONE: "no credential (a standalone Kubeflow Pipelines needs none)",
            TOKEN_VOLUME: f"the ServiceAccount token volume {self.name} ({self.source})",
            BEARER_TOKEN: f"the Bearer token from {self.source}",
            DEX: f"a Dex login as {self.name} ({self.source})",
            IAP: f"an IAP ID token for the client {self.name} ({self.source}, from Google's application default credentials)",
        }[self.mode]

    def bearer_token(self) -> str | None:
        """The Bearer token sent now, or None where the credential sends none."""
        if self.token_file:
            return read_token_from_file(self.token_file)
        return self.iap.token() if self.iap else self.token

    def headers(self) -> dict[str, str]:
        """The credential as HTTP headers, for a request made without kfp.Client."""
        token = self.bearer_token()
        if token:
            return {"Authorization": f"Bearer {token}"}
        return {"Cookie": self.cookies} if self.cookies else {}

    def client_options(self) -> dict[str, object]:
        """The credential as kfp.Client's keyword arguments."""
        if self.token_file:
            return {"credentials": ServiceAccountTokenVolumeCredentials(self.token_file)}
        if self.iap:
            return {"credentials": self.iap}
        if self.token:
            return {"existing_token": self.token}
        return {"cookies": self.cookies} if self.cookies else {}


def choose_credential(token_file: str | None, iap_client_id: str | None, environ: Mapping[str, str]) -> Credential:
    """The credential that flags and environment give; the token volume when none does and it is there.

    An empty variable counts as unset (GitHub Actions passes an unset secret as "").

    Raises:
        ConfigError: more than one credential is given, half a Dex login, or a token volume path that is no file.
    """
    given = [credential for credential in (_from_token_file(token_file), _from_token_variable(environ), _from_dex(environ),
                                           _from_iap(iap_client_id, environ)) if credential]
    if len(given) > 1:
        raise ConfigError("more than one credential for the Kubeflow Pipelines API: "
                          f"{' and '.join(credential.source for credential in given)}; give one")
    return given[0] if given else _from_token_volume(environ)


def obtain(credential: Credential, host: str, environ: Mapping[str, str]) -> Credential:
    """`credential` with what it sends: the token checked or read, the Dex login done, the first IAP ID token minted.

    Raises:
        ConfigError: the token file cannot be read or is empty, or no Google credentials can mint an ID token.
        SubmitError: Dex or Google refused.
    """
    if credential.token_file:
        _check_token_file(credential)
        return credential
    if credential.mode == BEARER_TOKEN:
        return dataclasses.replace(credential, token=environ[TOKEN_ENV].strip())
    if credential.mode == DEX:
        return dataclasses.replace(credential, cookies=dex_session_cookies(host, credential.name, environ[DEX_PASSWORD_ENV]))
    if credential.mode == IAP:
        iap = IapTokenCredentials(credential.name)
        iap.token()
        return dataclasses.replace(credential, iap=iap)
    return credential


def token_claims(token: str | None) -> str:
    """Who a JWT is for and until when ("subject S, audience A, expired at T"); "" for what is no JWT.

    Read without checking the signature: it only helps a message say why a gateway refused the token.
    """
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (AttributeError, IndexError, ValueError):
        return ""
    audience = claims.get("aud")
    parts = [f"subject {claims['sub']}" if claims.get("sub") else "",
             f"audience {', '.join(audience) if isinstance(audience, list) else audience}" if audience else ""]
    if isinstance(claims.get("exp"), int | float):
        expiry = datetime.fromtimestamp(claims["exp"], UTC)
        parts.append(f"{'expired' if expiry <= datetime.now(UTC) else 'expires'} at {expiry:%Y-%m-%d %H:%M:%S} UTC")
    return ", ".join(part for part in parts if part)


def _from_token_file(token_file: str | None) -> Credential | None:
    return Credential(BEARER_TOKEN, f"--token-file {token_file}", token_file, token_file=token_file) if token_file else None


def _from_token_variable(environ: Mapping[str, str]) -> Credential | None:
    return Credential(BEARER_TOKEN, f"${TOKEN_ENV}") if environ.get(TOKEN_ENV, "").strip() else None


def _from_dex(environ: Mapping[str, str]) -> Credential | None:
    username, password = environ.get(DEX_USERNAME_ENV, ""), environ.get(DEX_PASSWORD_ENV, "")
    if bool(username) != bool(password):
        missing = DEX_PASSWORD_ENV if username else DEX_USERNAME_ENV
        raise ConfigError(f"a Dex login takes ${DEX_USERNAME_ENV} and ${DEX_PASSWORD_ENV}; ${missing} is not set")
    return Credential(DEX, f"${DEX_USERNAME_ENV}, ${DEX_PASSWORD_ENV}", username) if username else None


def _from_iap(iap_client_id: str | None, environ: Mapping[str, str]) -> Credential | None:
    if iap_client_id:
        return Credential(IAP, "--iap-client-id", iap_client_id)
    from_environment = environ.get(KF_PIPELINES_IAP_OAUTH2_CLIENT_ID_ENV, "")
    return Credential(IAP, f"${KF_PIPELINES_IAP_OAUTH2_CLIENT_ID_ENV}", from_environment) if from_environment else None


def _from_token_volume(environ: Mapping[str, str]) -> Credential:
    """The token volume where its file is, else no credential; a path set in the environment must be a file."""
    path = environ.get(KF_PIPELINES_SA_TOKEN_ENV) or KF_PIPELINES_SA_TOKEN_PATH
    source = f"${KF_PIPELINES_SA_TOKEN_ENV}" if environ.get(KF_PIPELINES_SA_TOKEN_ENV) else "the KFP SDK's default path"
    if os.path.isfile(path):
        return Credential(TOKEN_VOLUME, source, path, token_file=path)
    if environ.get(KF_PIPELINES_SA_TOKEN_ENV):
        raise ConfigError(f"${KF_PIPELINES_SA_TOKEN_ENV} is {path}, which is no file: mount the ServiceAccount token volume "
                          "there (a projected serviceAccountToken for audience pipelines.kubeflow.org), or unset it")
    return Credential(NONE)


def _check_token_file(credential: Credential) -> None:
    """Read the token file once now, so that a missing or empty one fails before anything is sent."""
    try:
        token = read_token_from_file(credential.token_file)
    except OSError as error:
        raise ConfigError(f"{credential.source}: cannot read the token: {error.strerror or error}") from error
    if not token:
        raise ConfigError(f"{credential.source}: the file is empty, not a token")
