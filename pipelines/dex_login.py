"""Logging in to a Kubeflow Platform through Dex with a user name and password, as a browser does, for its session cookie.

The Kubeflow Platform's gateway (Istio with oauth2-proxy; oidc-authservice before Kubeflow 1.9)
sends a browser without a session to Dex's login form; after the form, Dex redirects back to the
gateway, which sets its session cookie (`oauth2_proxy_kubeflow`; `authservice_session` before
1.9). kfp.Client then sends that cookie with every request (`cookies=`). The steps follow the
Kubeflow documentation's example ("Connect the SDK to the API", Kubeflow Platform, outside the
cluster): start at the pipelines page, take oauth2-proxy's sign-in page to its start URL, choose
Dex's `local` (static password) connector where Dex offers several, post the form, and approve
where Dex asks to.
"""

from __future__ import annotations

import dataclasses
import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request

from fracdet_pipelines.kfp_answers import SubmitError

CONNECTOR = "local"  # Dex's static-password connector, the one Kubeflow's manifests configure
_LOGIN_FORM_PATH = re.compile(r"/auth/[^/]+/login$")


@dataclasses.dataclass(frozen=True)
class _Page:
    """Where a request ended after its redirects, and what it found there."""

    url: str
    status: int
    text: str


def dex_session_cookies(host: str, username: str, password: str, timeout_s: float = 30.0) -> str:
    """Log `username` in at the gateway in front of `host`; the session cookies, as kfp.Client's `cookies` takes them.

    Args:
        host: the pipelines' address behind the gateway, e.g. https://kubeflow.example.com/pipeline.
        username: the Dex user (on Kubeflow's manifests, an email address).
        password: the user's password.

    Returns:
        The cookies the gateway set, "name=value; name=value".

    Raises:
        SubmitError: the gateway or Dex could not be reached, showed no login form, or refused the login.
    """
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = _login_form(opener, host, timeout_s)
    page = _open(opener, form.url, timeout_s, {"login": username, "password": password})
    if urllib.parse.urlsplit(page.url).path == urllib.parse.urlsplit(form.url).path:
        raise SubmitError(f"Dex refused the login of {username} at {_without_query(form.url)} ({page.status}, the login form "
                          f"again): wrong user name or password")
    if urllib.parse.urlsplit(page.url).path.endswith("/approval"):
        _open(opener, page.url, timeout_s, {"approval": "approve"})
    cookies = _cookies_of(jar, host)
    if not cookies:
        raise SubmitError(f"Dex accepted the login of {username}, but the gateway in front of {host} set no session cookie")
    return cookies


def _cookies_of(jar: http.cookiejar.CookieJar, host: str) -> str:
    """The Cookie header the jar's rules give a request to `host`: Dex's own cookies, on another host, stay there."""
    request = urllib.request.Request(host)
    jar.add_cookie_header(request)
    return request.get_header("Cookie") or ""


def _login_form(opener: urllib.request.OpenerDirector, host: str, timeout_s: float) -> _Page:
    """Follow the gateway's redirects from `host` to Dex's login form."""
    page = _open(opener, host, timeout_s)
    if page.status == 403 and "/oauth2/" in page.text:  # oauth2-proxy's sign-in page, before its "Sign in with Dex" button
        start = urllib.parse.urlsplit(page.url)
        page = _open(opener, urllib.parse.urljoin(page.url, "/oauth2/start?" + urllib.parse.urlencode({"rd": start.path})),
                     timeout_s)
    if urllib.parse.urlsplit(page.url).path.endswith("/auth"):  # Dex's connector choice
        parts = urllib.parse.urlsplit(page.url)
        page = _open(opener, parts._replace(path=f"{parts.path}/{CONNECTOR}").geturl(), timeout_s)
    if page.status == 200 and _LOGIN_FORM_PATH.search(urllib.parse.urlsplit(page.url).path):
        return page
    if page.url.rstrip("/") == host.rstrip("/"):
        raise SubmitError(f"{host} answered {page.status} without sending to a login page: no Dex login to do there "
                          "(a standalone Kubeflow Pipelines needs no login)")
    raise SubmitError(f"{host} sent to {_without_query(page.url)} ({page.status}), not to a Dex login form")


def _open(opener: urllib.request.OpenerDirector, url: str, timeout_s: float, form: dict[str, str] | None = None) -> _Page:
    """GET `url`, or POST `form` to it, following redirects; an error status is a page like any other."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    try:
        with opener.open(url, data=data, timeout=timeout_s) as response:
            return _Page(response.geturl(), response.status, response.read().decode("utf-8", "replace"))
    except urllib.error.HTTPError as error:
        with error:
            return _Page(error.geturl(), error.code, error.read().decode("utf-8", "replace"))
    except (urllib.error.URLError, OSError) as error:
        raise SubmitError(f"cannot reach {_without_query(url)} to log in: {getattr(error, 'reason', error)}") from error


def _without_query(url: str) -> str:
    """`url` without its query, which holds Dex's state and the redirect back: noise in a message."""
    return urllib.parse.urlsplit(url)._replace(query="", fragment="").geturl()
