"""The connection to an MLflow server: its URI in fracdet's terms, a client, and every call under the storage retry policy.

Registry URIs name the server the way the file registry names a folder:

    mlflow://HOST[:PORT][/PATH]        the server at http://HOST[:PORT][/PATH]
    mlflow+https://HOST[:PORT][/PATH]  the same over TLS
    mlflow://                          the server MLflow's client is configured with (MLFLOW_TRACKING_URI)

A tracking URI is MLflow's own (`http://...`, `https://...`). Credentials come the way MLflow
takes them (MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD or MLFLOW_TRACKING_TOKEN), never
in a URI, which is logged and recorded.

Retries: MLflow's client retries every request itself, POSTs included, up to about four minutes;
a retried create may then make a second model version of one registration. So its own retries
are turned off (MLFLOW_HTTP_REQUEST_MAX_RETRIES=0 in this process), and `call` retries under
fracdet's storage policy (`fracdet_core.storage.retries`: the same deadline and backoff as GCS
calls), only what the caller says is safe to repeat.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

from fracdet_core.errors import AccessDeniedError, ConfigError, FracdetError, StorageUnavailableError, first_line
from fracdet_core.storage.retries import current_policy

if TYPE_CHECKING:
    from mlflow import MlflowClient

SCHEMES = {"mlflow://": "http://", "mlflow+https://": "https://"}
Result = TypeVar("Result")
_TRANSIENT_CODES = frozenset({"TEMPORARILY_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED", "INTERNAL_ERROR"})
_DENIED_CODES = frozenset({"UNAUTHENTICATED", "PERMISSION_DENIED"})


class MlflowUnavailableError(StorageUnavailableError):
    """The MLflow server did not answer (refused, reset, 5xx) within the storage retry policy's deadline."""


def is_mlflow_registry(uri: str) -> bool:
    return uri.startswith(tuple(SCHEMES))


def tracking_uri_of(registry_uri: str) -> str | None:
    """The tracking URI of an `mlflow://` registry URI; None for `mlflow://` alone (MLflow's configured server).

    Raises:
        ConfigError: not an `mlflow://` or `mlflow+https://` URI.
    """
    for scheme, web in SCHEMES.items():
        if registry_uri.startswith(scheme):
            rest = registry_uri[len(scheme):].rstrip("/")
            return f"{web}{rest}" if rest else None
    raise ConfigError(f"{registry_uri}: an MLflow registry reads mlflow://HOST:PORT, mlflow+https://HOST or mlflow://")


def registry_uri_of(tracking_uri: str) -> str:
    """The `mlflow://` registry URI of an http(s) tracking URI.

    Raises:
        ConfigError: a tracking URI that is not http:// or https:// (a local mlruns folder has no registry to share).
    """
    for scheme, web in SCHEMES.items():
        if tracking_uri.startswith(web):
            return scheme + tracking_uri[len(web):].rstrip("/")
    raise ConfigError(f"{tracking_uri}: an MLflow tracking server's URI starts with http:// or https://")


@dataclasses.dataclass(frozen=True)
class MlflowServer:
    """A client of one MLflow server, and the server's URI (named in every error)."""

    client: MlflowClient
    uri: str

    def call(self, what: str, operation: Callable[[], Result], *, repeatable: bool = True,
             before_retry: Callable[[], Result | None] | None = None) -> Result:
        """`call` on this server."""
        return call(self, what, operation, repeatable=repeatable, before_retry=before_retry)


def connect(tracking_uri: str | None) -> MlflowServer:
    """The server at `tracking_uri` (None: MLFLOW_TRACKING_URI), with MLflow's own retries off (see above).

    Raises:
        ConfigError: the MLflow client is not installed, or no server is named.
    """
    try:
        import mlflow
    except ImportError as error:
        raise ConfigError("MLflow tracking and the mlflow:// registry need the MLflow client: pip install 'fracdet[mlflow]' "
                          "(or -r requirements-mlflow.lock)") from error
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        raise ConfigError("mlflow:// names MLflow's configured server, but MLFLOW_TRACKING_URI is not set; name the server "
                          "(mlflow://HOST:PORT) or set MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
    os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = str(max(1, math.ceil(current_policy().timeout)))
    return MlflowServer(mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri), uri)


def call(server: MlflowServer, what: str, operation: Callable[[], Result], *, repeatable: bool = True,
         before_retry: Callable[[], Result | None] | None = None) -> Result:
    """`operation()`, retried on transient failures until the storage retry policy's deadline.

    Args:
        server: whose server the operation talks to (named in errors).
        what: the operation in words, for errors ("create a version of fracdet").
        operation: one MLflow call.
        repeatable: whether repeating it after an attempt whose outcome is unknown is harmless; if not, it is
            not retried unless `before_retry` says it did not happen.
        before_retry: called before each retry; a result other than None is the first attempt's own effect
            (found on the server), returned instead of trying again.

    Raises:
        MlflowUnavailableError: the server did not answer in time; the message says whether it may have acted.
        AccessDeniedError: the server refused the credentials (HTTP 401 or 403), at once.
        FracdetError: any other answer of the server, with its message.
    """
    policy, started, failures = current_policy(), time.monotonic(), 0
    while True:
        try:
            with translated(server.uri, what):
                return operation()
        except MlflowUnavailableError as error:
            failures += 1
            elapsed = time.monotonic() - started
            if (not repeatable and before_retry is None) or elapsed >= policy.deadline:
                raise MlflowUnavailableError(
                    f"{error} (after {failures} attempts in {elapsed:.0f} s; FRACDET_GCS_RETRY sets the policy)",
                    maybe_applied=error.maybe_applied) from error.__cause__
            time.sleep(policy.backoff(failures))
            if before_retry is not None:
                found = before_retry()
                if found is not None:
                    return found


@contextlib.contextmanager
def translated(server: str, what: str) -> Iterator[None]:
    """MLflow's and requests' exceptions as fracdet's errors, each naming the server and the operation."""
    import requests
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlflowException as error:
        if error.error_code in _DENIED_CODES:
            raise AccessDeniedError(
                f"{what}: the MLflow server {server} refused the credentials ({error.error_code}): check "
                "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN)") from error
        if _is_transient(error):
            raise MlflowUnavailableError(f"{what}: the MLflow server {server} did not answer: {first_line(error)}",
                                         maybe_applied=True) from error
        raise FracdetError(f"{what}: the MLflow server {server} answered {error.error_code}: {first_line(error)}") from error
    except requests.exceptions.RequestException as error:
        raise MlflowUnavailableError(f"{what}: the MLflow server {server} did not answer: {first_line(error)}",
                                     maybe_applied=True) from error


def _is_transient(error: Exception) -> bool:
    """A failure to reach the server or a 5xx/429 answer: worth another try. Anything else is the server's answer."""
    status = getattr(error, "get_http_status_code", lambda: None)()
    message = str(error)
    return (getattr(error, "error_code", None) in _TRANSIENT_CODES or status in (429, 500, 502, 503, 504)
            or "failed with exception" in message or "Max retries exceeded" in message)
