"""Every retry decision of the storage layer: which GCS calls are retried, how long, and what a failure means.

On a cluster transient faults are routine: HTTP 429 and 5xx answers, connections reset, responses
that stall or arrive cut short. Each GCS request fracdet makes runs through `call`, which passes the
client `retry=None` (the client library retries nothing on its own, so no fault is retried twice
over) and a per-request `timeout`, and decides here:

- Transient: 408, 429, 500, 502, 503, 504, connection errors and resets, timeouts (a stalled
  response), a body cut short, a checksum that does not match. Anything else (404, 403, 412, 400)
  is an answer, raised at once for `gcs.Gcs.errors` to name.
- Backoff: exponential with full jitter, `uniform(0, min(maximum, initial * multiplier ** n))`
  seconds before retry n + 1, and no retry starts once `deadline` seconds have passed since the
  first attempt; so an operation takes at most `deadline` plus one request's `timeout`.
- Idempotency, per kind of operation (`Kind`):
  - `READ` (get, list, download a range pinned to one generation): retried.
  - `OVERWRITE` (an unconditional upload or server-side copy): retried. Repeating it writes the
    same bytes to the same name; fracdet overwrites only objects in folders that one run owns,
    and uses the two kinds below wherever writers race.
  - `CONDITIONAL` (a create-only upload, `if_generation_match=0`, or compare-and-swap,
    `if_generation_match=N`): retried, because the precondition makes a repeat harmless. A
    repeat answered 412 after an attempt whose outcome is unknown (reset, stall, cut short: the
    server may have acted) may be that attempt's own success: `settle` (given by the caller)
    reads the object back and accepts the 412 when the object holds exactly the bytes written.
  - `DELETE`: retried; a 404 after an attempt whose outcome is unknown is that attempt's success.
- Failure: when the deadline passes, `StorageUnavailableError` names the operation, the URI, the
  number of attempts and the last status, and says whether the server may have acted.

Nothing is left unretried: every operation fracdet performs on GCS is one of these kinds.

The policy is `RetryPolicy()`'s defaults; the environment variable `FRACDET_GCS_RETRY` overrides
them, e.g. `FRACDET_GCS_RETRY="deadline=300 timeout=120"` for a slow link or
`"initial=0.01 maximum=0.1 deadline=10 timeout=2"` in the tests, which inject faults and must
not wait long. It is read when a storage call first needs it, in each process.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import http
import http.client
import os
import random
import time
from collections.abc import Callable
from typing import TypeVar

from fracdet_core.errors import ConfigError, StorageUnavailableError

ENVIRONMENT = "FRACDET_GCS_RETRY"
Result = TypeVar("Result")
_RETRIED_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_jitter = random.Random()


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How long a storage operation keeps trying.

    Attributes:
        initial: the cap of the first backoff, in seconds.
        maximum: the cap of any one backoff, in seconds.
        multiplier: how much the cap grows after each failed attempt.
        deadline: no retry starts later than this many seconds after the first attempt.
        timeout: seconds one request may wait to connect, or for the next bytes of an answer,
            before it counts as stalled and is retried.
    """

    initial: float = 1.0
    maximum: float = 32.0
    multiplier: float = 2.0
    deadline: float = 120.0
    timeout: float = 60.0

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if not value > 0:
                raise ConfigError(f"{ENVIRONMENT}: {field.name}={value} must be a positive number of seconds")
        if self.multiplier < 1:
            raise ConfigError(f"{ENVIRONMENT}: multiplier={self.multiplier} must be at least 1")
        if self.maximum < self.initial:
            raise ConfigError(f"{ENVIRONMENT}: maximum={self.maximum} is below initial={self.initial}")

    def backoff(self, failures: int) -> float:
        """Seconds to sleep after `failures` failed attempts: full jitter below the exponential cap."""
        return _jitter.uniform(0, min(self.maximum, self.initial * self.multiplier ** (failures - 1)))

    def to_environment(self) -> str:
        """The value of `FRACDET_GCS_RETRY` that gives this policy."""
        return " ".join(f"{field.name}={getattr(self, field.name)}" for field in dataclasses.fields(self))


class Kind(enum.Enum):
    """What repeating a request does; see the module docstring."""

    READ = "read"
    OVERWRITE = "overwrite"
    CONDITIONAL = "conditional"
    DELETE = "delete"


def current_policy() -> RetryPolicy:
    """The policy in force: the defaults, overridden by `FRACDET_GCS_RETRY`.

    Raises:
        ConfigError: the variable names an unknown setting or a bad value.
    """
    return _parse(os.environ.get(ENVIRONMENT, ""))


@functools.lru_cache(maxsize=8)
def _parse(text: str) -> RetryPolicy:
    names = {field.name for field in dataclasses.fields(RetryPolicy)}
    settings = {}
    for item in text.split():
        name, _, value = item.partition("=")
        if name not in names:
            raise ConfigError(f"{ENVIRONMENT}: unknown setting {item!r}; expected name=seconds for {sorted(names)}")
        try:
            settings[name] = float(value)
        except ValueError:
            raise ConfigError(f"{ENVIRONMENT}: {item!r} is not name=number") from None
    return RetryPolicy(**settings)


def call(
    operation: str,
    uri: str,
    kind: Kind,
    attempt: Callable[[float], Result],
    *,
    settle: Callable[[BaseException], Result] | None = None,
) -> Result:
    """Run one GCS request, `attempt(timeout)`, retrying transient faults by the policy.

    Args:
        operation: what is done, for the final error ("upload", "read", "list").
        uri: the object or prefix, for the final error.
        kind: what repeating the request does.
        attempt: makes the request with the client's `retry=None` and the given `timeout`.
        settle: for `CONDITIONAL` writes: given the 412 of a repeat after an attempt of unknown
            outcome, returns the result when the earlier attempt did succeed, or raises the 412.

    Raises:
        StorageUnavailableError: the deadline passed with transient faults only.
        Exception: the first error that is not transient, as the client raised it.
    """
    policy = current_policy()
    started = time.monotonic()
    failures = 0
    maybe_applied = False
    while True:
        try:
            return attempt(policy.timeout)
        except Exception as error:  # sorted below: transient ones retried, the rest re-raised
            status = _status(error)
            if maybe_applied and kind is Kind.CONDITIONAL and status == http.HTTPStatus.PRECONDITION_FAILED and settle:
                return settle(error)
            if maybe_applied and kind is Kind.DELETE and status == http.HTTPStatus.NOT_FOUND:
                return None  # type: ignore[return-value] - the earlier attempt deleted it
            if not is_transient(error):
                raise
            failures += 1
            maybe_applied = maybe_applied or (kind is not Kind.READ and status is None)
            pause = policy.backoff(failures)
            if time.monotonic() - started + pause > policy.deadline:
                raise _gave_up(operation, uri, error, failures, time.monotonic() - started, policy, maybe_applied) from error
            time.sleep(pause)


def _gave_up(operation: str, uri: str, error: BaseException, failures: int, elapsed: float, policy: RetryPolicy,
             maybe_applied: bool) -> StorageUnavailableError:
    return StorageUnavailableError(
        f"{operation} {uri}: gave up after {failures} attempts in {elapsed:.1f} s (retry deadline {policy.deadline:g} s); "
        f"last status: {describe(error, policy.timeout)}" + ("; the server may have applied it" if maybe_applied else ""),
        maybe_applied=maybe_applied,
    )


def is_transient(error: BaseException) -> bool:
    """Whether `error` is a fault worth retrying: a retried status, a connection or timeout error, a body cut short."""
    import requests
    import urllib3
    from google.auth.exceptions import TransportError
    from google.cloud.storage.exceptions import DataCorruption

    status = _status(error)
    if status is not None:
        return status in _RETRIED_STATUSES
    if isinstance(error, TransportError):  # google-auth wraps the transport's own error
        return any(isinstance(cause, BaseException) and is_transient(cause) for cause in error.args)
    return isinstance(error, (ShortRead, DataCorruption, ConnectionError, http.client.HTTPException,
                              requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                              urllib3.exceptions.ProtocolError, urllib3.exceptions.TimeoutError,
                              urllib3.exceptions.PoolError, urllib3.exceptions.SSLError))


class ShortRead(Exception):  # noqa: N818 - a fault like ConnectionError, which the policy retries
    """A ranged download returned fewer bytes than the object holds in that range: the answer was cut short."""


def _status(error: BaseException) -> int | None:
    """The error status the server answered with, or None when no error answer came (reset, stall, cut short).

    The API's errors carry it as `code`; the media errors on their `response`, which a body cut
    short also has, with a success status: that is no answer.
    """
    code = getattr(error, "code", None)
    if not isinstance(code, int):
        code = getattr(getattr(error, "response", None), "status_code", None)
    return code if isinstance(code, int) and code >= 400 else None


def describe(error: BaseException, timeout: float) -> str:
    """One line saying what the last attempt met: a status, a reset, a stall, a short body."""
    import requests

    status = _status(error)
    if status is not None:
        return f"HTTP {status} {http.HTTPStatus(status).phrase}"
    if isinstance(error, requests.exceptions.Timeout):
        return f"no answer within the {timeout:g} s request timeout"
    if isinstance(error, (ShortRead, requests.exceptions.ChunkedEncodingError)):
        return f"the answer was cut short ({error})"
    return f"{type(error).__name__}: {error}"
