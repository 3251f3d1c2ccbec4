"""What a Kubeflow deployment answered a request for the Pipelines API, and which kind of refusal it was.

On a multi-user Kubeflow Platform the API sits behind a gateway: Istio with oauth2-proxy and Dex
(oidc-authservice before Kubeflow 1.9), or Google's Identity-Aware Proxy on GKE. A request the
gateway does not let through never reaches the API: it is redirected to a login page, or answered
401 or 403 in the gateway's own words, often an HTML page. The API answers its own refusals as
JSON: no user identity in the request, or a user not authorized in a namespace. Each calls for a
different fix, so they are told apart here; an HTML page is never read as an API answer.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping

from fracdet_core.errors import FracdetError

HEALTH_CHECK_PATH = "/apis/v2beta1/healthz"
MAX_BODY_BYTES = 64 * 1024  # enough for any error; a login page is read no further

# The kinds of refusal: each has its own advice (kfp_refusals.py).
LOGIN_PAGE = "login_page"  # a redirect to, or an HTML page of, the platform's sign-in
GATEWAY_UNAUTHENTICATED = "gateway_unauthenticated"  # 401 from the gateway: no credential, or one it rejects
GATEWAY_FORBIDDEN = "gateway_forbidden"  # 403 from the gateway: an identity its policy does not admit
NO_IDENTITY = "no_identity"  # the API found no user in the request
NOT_AUTHORIZED = "not_authorized"  # the API's access review for a namespace said no
NOT_THE_API = "not_the_api"  # another page or service answered: --host is not the API's address
OTHER = "other"  # any other error, in the API's words

_LOGIN_LOCATION = re.compile(r"/dex/|/oauth2/|/auth(/|\?|$)|login|signin|accounts\.google\.com", re.IGNORECASE)
_LOGIN_PAGE_WORDS = re.compile(r"log ?in|sign ?in|password", re.IGNORECASE)
_USER = re.compile(r"User '([^']+)'")
_NAMESPACES = (  # as an access review's attributes name it, then as the API's prose does
    re.compile(r"Namespace:([a-z0-9][-a-z0-9]*)"),
    re.compile(r"namespace '?([a-z0-9][-a-z0-9]*[a-z0-9])'?(?=[\s:;,.]|$)"),
)


class SubmitError(FracdetError):
    """The backend could not be reached, or refused the credential or the run; the message says which and what to do."""


@dataclasses.dataclass(frozen=True)
class Answer:
    """One HTTP answer, as much of it as tells a refusal apart.

    Attributes:
        status: the HTTP status code.
        reason: the status line's reason phrase ("Found", "Unauthorized").
        content_type: the Content-Type header, "" without one.
        location: the Location header of a redirect, "" without one.
        text: the body's start, decoded.
    """

    status: int
    reason: str
    content_type: str = ""
    location: str = ""
    text: str = ""

    @classmethod
    def of(cls, status: int, reason: str, headers: Mapping[str, str] | None, body: bytes | str | None) -> Answer:
        """The answer of a status line, its headers (any case) and its body."""
        found = {key.lower(): value for key, value in (headers or {}).items()}
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
        return cls(status, reason or "", found.get("content-type", ""), found.get("location", ""), text[:MAX_BODY_BYTES])

    @functools.cached_property
    def json_object(self) -> dict | None:
        """The body as a JSON object, or None where it is not one; parsed once, as several checks read it."""
        try:
            parsed = json.loads(self.text)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None

    @property
    def is_html(self) -> bool:
        return "html" in self.content_type.lower() or self.text.lstrip()[:15].lower().startswith(("<!doctype html", "<html"))


@dataclasses.dataclass(frozen=True)
class Refusal:
    """What kind of refusal an answer was, and the platform's own words for it, in one line.

    Attributes:
        kind: one of the kinds above.
        said: the status and what came with it: "302 Found to /dex/auth?...", "401 Unauthorized: Jwt is expired".
        user: the user the API names in a refusal, "" where it names none.
        namespace: the namespace the API names in a refusal, "" where it names none.
    """

    kind: str
    said: str
    user: str = ""
    namespace: str = ""


def read_health_check(host: str, headers: Mapping[str, str], timeout_s: float = 30.0) -> Answer:
    """GET the API's health check with `headers`, as kfp.Client's first request, without following a redirect.

    Raises:
        SubmitError: nothing answered at `host`.
    """
    opener = urllib.request.build_opener(_KeepRedirects)
    request = urllib.request.Request(host.rstrip("/") + HEALTH_CHECK_PATH, headers={"Accept": "application/json", **headers})
    try:
        with opener.open(request, timeout=timeout_s) as response:
            return Answer.of(response.status, response.reason, dict(response.headers), response.read(MAX_BODY_BYTES))
    except urllib.error.HTTPError as error:
        with error:
            return Answer.of(error.code, str(error.reason), dict(error.headers or {}), error.read(MAX_BODY_BYTES))
    except (urllib.error.URLError, OSError) as error:  # TimeoutError is an OSError
        raise SubmitError(f"cannot reach the Kubeflow Pipelines API at {host}: {getattr(error, 'reason', error)}") from error


class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    """Hands a redirect back as it came: where it points is what tells a login page apart."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def refusal(answer: Answer) -> Refusal | None:
    """The refusal `answer` is, or None when it is the API's own successful JSON answer."""
    if 200 <= answer.status < 300:
        return None if answer.json_object is not None else _page_refusal(answer)
    if 300 <= answer.status < 400:
        kind = LOGIN_PAGE if _LOGIN_LOCATION.search(answer.location) else NOT_THE_API
        location = urllib.parse.urlsplit(answer.location)._replace(query="", fragment="").geturl()  # its query: state, noise
        return Refusal(kind, f"{answer.status} {answer.reason} to {location or '(no Location)'}")
    message = _api_message(answer)
    if message is not None:
        return _api_refusal(answer, message)
    if answer.is_html and (answer.status in (401, 403) or _LOGIN_PAGE_WORDS.search(answer.text)):
        return _page_refusal(answer)
    kind = {401: GATEWAY_UNAUTHENTICATED, 403: GATEWAY_FORBIDDEN, 404: NOT_THE_API}.get(answer.status, OTHER)
    words = "" if answer.json_object == {} else _first_line(answer.text)  # oauth2-proxy's 401 to an API call is `{}`
    return Refusal(kind, _status_and_words(answer, words))


def _page_refusal(answer: Answer) -> Refusal:
    """An HTML page where the API answers JSON: a sign-in page, or another service (the dashboard)."""
    title = re.search(r"<title[^>]*>(.*?)</title>", answer.text, re.IGNORECASE | re.DOTALL)
    words = f"an HTML page titled {html.unescape(title[1]).strip()!r}" if title else "an HTML page"
    if not answer.is_html:
        words = f"{answer.content_type or 'a body'} that is not JSON"
    kind = LOGIN_PAGE if _LOGIN_PAGE_WORDS.search(answer.text) else NOT_THE_API
    return Refusal(kind, _status_and_words(answer, words))


def _api_refusal(answer: Answer, message: str) -> Refusal:
    """The API's own error: grpc-gateway's JSON, whose `code` is the gRPC status (16 unauthenticated, 7 denied)."""
    code = (answer.json_object or {}).get("code")
    said = _status_and_words(answer, message)
    if answer.status == 401 or code == 16 or "user identity" in message:
        return Refusal(NO_IDENTITY, said)
    if answer.status == 403 or code == 7 or "not authorized" in message:
        user = _USER.search(message)
        short = _status_and_words(answer, message.partition(" with reason:")[0])  # the access review's attributes: the rest
        return Refusal(NOT_AUTHORIZED, short, user[1] if user else "", _namespace(message))
    return Refusal(OTHER, said)  # the API answered, in its own words (a run not found, a spec it rejects)


def _namespace(message: str) -> str:
    """The namespace an access review names: `Namespace:NS` in its attributes, else "namespace NS" in the prose."""
    for pattern in _NAMESPACES:
        found = pattern.search(message)
        if found:
            return found[1]
    return ""


def _api_message(answer: Answer) -> str | None:
    """The message of the API's JSON error, or None where the body is not one."""
    parsed = answer.json_object
    if parsed is None:
        return None
    message = parsed.get("message") or parsed.get("error")
    return _first_line(str(message)) if message else None


def _status_and_words(answer: Answer, words: str) -> str:
    head = f"{answer.status} {answer.reason}".strip()
    return f"{head}: {words}" if words else head


def _first_line(text: str, limit: int = 300) -> str:
    """The first non-blank line of `text`, cut to `limit` characters: the message stays one line."""
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return line if len(line) <= limit else line[: limit - 3] + "..."
