"""A loopback stand-in for a Kubeflow Platform's gateway, in front of the KFP API stand-in. It is NOT Istio, oauth2-proxy or Dex.

An HTTP server on 127.0.0.1, in a thread, serves the pipelines under /pipeline (so `--host` is
http://127.0.0.1:PORT/pipeline, as https://KUBEFLOW-HOST/pipeline is) and does what the
platform's gateway does before a request reaches ml-pipeline:

- A Bearer token is verified as Istio's RequestAuthentication does (signature, expiry, and the
  audience when `audiences` names any; IAP likewise checks its client ID): a bad one gets 401
  with Istio's words ("Jwt is expired", "Audiences in Jwt are not allowed").
- A session cookie (`oauth2_proxy_kubeflow`) from a Dex login stands for its user.
- A request with neither: `unauthenticated="redirect"` (oidc-authservice, Kubeflow before 1.9)
  redirects it to Dex's login; `"oauth2-proxy"` (1.9 and later) answers a JSON or API request 401
  with `{}`, and shows any other its sign-in page (403, HTML), as oauth2-proxy with
  skip_provider_button false does.
- Dex's login: /dex/auth -> the `local` connector -> its login form; a right user name and password
  redirect (through Dex's approval page, when `approval_screen`) to /oauth2/callback, which sets
  the session cookie and redirects back; a wrong one shows the form again.
- An identity in `denied` gets 403 "RBAC: access denied", as an Istio AuthorizationPolicy answers.
- A request under /pipeline is passed on to `upstream` with the identity in `kubeflow-userid`
  (the header Istio sets from the token's claim, or oauth2-proxy from the session), any such
  header the client sent dropped; any other path gets the central dashboard's HTML page.

What it cannot show: the real components' configuration, TLS and key handling, and a browser's
session; the platform itself is not here.
"""

from __future__ import annotations

import html
import http.cookies
import secrets
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit

from loopback_server import LoopbackHandler, LoopbackServer
from token_issuer import TokenIssuer, TokenRejectedError

PREFIX = "/pipeline"
SESSION_COOKIE = "oauth2_proxy_kubeflow"
REDIRECT = "redirect"
OAUTH2_PROXY = "oauth2-proxy"


class GatewayStandin(LoopbackServer):
    """The stand-in gateway; `url` is the pipelines' address behind it once started (`with GatewayStandin(...) as gateway:`).

    Attributes:
        forwarded: the `kubeflow-userid` of every request passed on, in order.
        logins: the user name of every login form posted, in order.
    """

    def __init__(self, upstream: str, issuer: TokenIssuer, *, users: Mapping[str, str] | None = None,
                 audiences: set[str] | None = None, denied: set[str] | None = None, unauthenticated: str = REDIRECT,
                 approval_screen: bool = False) -> None:
        self.upstream = upstream
        self.issuer = issuer
        self.users = dict(users or {})
        self.audiences = set(audiences or ())
        self.denied = set(denied or ())
        self.unauthenticated = unauthenticated
        self.approval_screen = approval_screen
        self.forwarded: list[str] = []
        self.logins: list[str] = []
        self.sessions: dict[str, str] = {}  # cookie value -> user
        self.pending: dict[str, str] = {}  # Dex request id -> where to go back to after the login
        self.codes: dict[str, str] = {}  # authorization code -> user
        super().__init__(_Handler, gateway=self)

    @property
    def url(self) -> str:
        return f"http://{self.address}{PREFIX}"


class _Handler(LoopbackHandler):
    gateway: ClassVar[GatewayStandin]

    def do_GET(self) -> None:  # noqa: N802 - http.server calls do_<METHOD> by name
        self._route()

    def do_POST(self) -> None:  # noqa: N802 - http.server calls do_<METHOD> by name
        self._route()

    def _route(self) -> None:
        path = urlsplit(self.path).path
        query = {key: values[0] for key, values in parse_qs(urlsplit(self.path).query).items()}
        if path.startswith("/dex/"):
            self._dex(path, query)
        elif path == "/oauth2/start":
            self._redirect(302, "/dex/auth?" + urlencode({"client_id": "kubeflow-oidc-authservice", "response_type": "code",
                                                          "redirect_uri": "/oauth2/callback", "state": query.get("rd", "/")}))
        elif path == "/oauth2/callback":
            self._callback(query)
        else:
            self._behind_the_gateway(path)

    # The gateway in front of the pipelines and the dashboard.

    def _behind_the_gateway(self, path: str) -> None:
        """Let an authenticated, admitted request through: to the pipelines under /pipeline, else the dashboard."""
        user = self._identity()
        if user is None:
            return
        if user in self.gateway.denied:
            self.send_body(403, "text/plain", "RBAC: access denied")
        elif path == PREFIX or path.startswith(PREFIX + "/"):
            self.gateway.forwarded.append(user)
            self._forward(self.path[len(PREFIX):] or "/", user)
        else:  # the central dashboard's single-page app answers every other path with its page
            self.send_body(200, "text/html", "<html><head><title>Kubeflow Central Dashboard</title></head><body></body></html>")

    def _identity(self) -> str | None:
        """The request's user from its token or session; None when the gateway has answered the request itself."""
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        if scheme == "Bearer":
            try:
                claims = self.gateway.issuer.verify(token, self.gateway.audiences)
            except TokenRejectedError as rejected:
                self.send_body(401, "text/plain", str(rejected))
                return None
            return str(claims.get("email") or claims["sub"])
        cookie = http.cookies.SimpleCookie(self.headers.get("Cookie", "")).get(SESSION_COOKIE)
        if cookie is not None and cookie.value in self.gateway.sessions:
            return self.gateway.sessions[cookie.value]
        self._unauthenticated()
        return None

    def _unauthenticated(self) -> None:
        if self.gateway.unauthenticated == REDIRECT:
            self._redirect(302, "/dex/auth?" + urlencode({"client_id": "kubeflow-oidc-authservice", "state": self.path}))
        elif "application/json" in self.headers.get("Accept", "") or "/apis/" in self.path:
            self.send_body(401, "application/json", "{}")
        else:
            start = html.escape("/oauth2/start?" + urlencode({"rd": self.path}))
            self.send_body(403, "text/html", f'<html><head><title>Sign In</title></head><body><form action="{start}">'
                                         '<button type="submit">Sign in with Dex</button></form></body></html>')

    def _forward(self, path_and_query: str, user: str) -> None:
        """Pass the request on to the API with the user the gateway found; hand its answer back as it is."""
        length = int(self.headers.get("Content-Length") or 0)
        headers = {key: value for key, value in self.headers.items()
                   if key.lower() in ("content-type", "accept", "authorization")}
        request = urllib.request.Request(self.gateway.upstream + path_and_query, data=self.rfile.read(length) if length else None,
                                         headers={**headers, "kubeflow-userid": user}, method=self.command)
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                self.send_body(answer.status, answer.headers.get("Content-Type", ""), answer.read().decode())
        except urllib.error.HTTPError as error:
            with error:
                self.send_body(error.code, error.headers.get("Content-Type", ""), error.read().decode())

    # Dex and oauth2-proxy's login.

    def _dex(self, path: str, query: dict[str, str]) -> None:
        if path == "/dex/auth":
            self._redirect(302, "/dex/auth/local?" + urlencode(query))
        elif path == "/dex/auth/local":
            request_id = secrets.token_hex(8)
            self.gateway.pending[request_id] = query.get("state", "/")
            self._redirect(302, "/dex/auth/local/login?" + urlencode({"back": "", "state": request_id}))
        elif path == "/dex/auth/local/login":
            self._login(query.get("state", ""))
        elif path == "/dex/approval":
            self._approval(query.get("req", ""))
        else:
            self.send_body(404, "text/plain", "Not Found")

    def _login(self, request_id: str) -> None:
        if self.command == "GET":
            self.send_body(200, "text/html", _login_form(request_id, invalid=False))
            return
        form = {key: values[0] for key, values in parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()).items()}
        user = form.get("login", "")
        self.gateway.logins.append(user)
        if user not in self.gateway.users or self.gateway.users[user] != form.get("password"):
            self.send_body(200, "text/html", _login_form(request_id, invalid=True))
            return
        code = secrets.token_hex(8)
        self.gateway.codes[code] = user
        if self.gateway.approval_screen:
            self._redirect(303, "/dex/approval?" + urlencode({"req": f"{request_id}:{code}"}))
        else:
            self._redirect(303, "/oauth2/callback?" + urlencode({"code": code, "state": self.gateway.pending[request_id]}))

    def _approval(self, request: str) -> None:
        request_id, _, code = request.partition(":")
        if self.command == "GET":
            self.send_body(200, "text/html", '<form method="post"><button name="approval" value="approve">Grant</button></form>')
        else:
            self._redirect(303, "/oauth2/callback?" + urlencode({"code": code, "state": self.gateway.pending[request_id]}))

    def _callback(self, query: dict[str, str]) -> None:
        """oauth2-proxy's callback: redeem the code, set the session cookie, go back where the login started."""
        user = self.gateway.codes.pop(query.get("code", ""), None)
        if user is None:
            self.send_body(403, "text/plain", "invalid code")
            return
        session = secrets.token_urlsafe(16)
        self.gateway.sessions[session] = user
        self._redirect(302, query.get("state") or "/", cookie=f"{SESSION_COOKIE}={session}; Path=/; HttpOnly")

    def _redirect(self, status: int, location: str, cookie: str | None = None) -> None:
        self.send_body(status, "text/html", "", {"Location": location, **({"Set-Cookie": cookie} if cookie else {})})


def _login_form(request_id: str, *, invalid: bool) -> str:
    """Dex's password form; shown again, with its error, after a wrong user name or password."""
    action = html.escape("/dex/auth/local/login?" + urlencode({"back": "", "state": request_id}))
    error = '<div id="login-error">Invalid Email Address and password.</div>' if invalid else ""
    return (f'<html><head><title>dex</title></head><body><h2>Log in to Your Account</h2>{error}<form method="post" '
            f'action="{action}"><input name="login" placeholder="email address"><input name="password" type="password">'
            '<button type="submit">Login</button></form></body></html>')
