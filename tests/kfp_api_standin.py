"""A loopback stand-in for the KFP v2beta1 REST calls kfp.Client makes to create a run and follow it. It is NOT Kubeflow.

An HTTP server on 127.0.0.1, in a thread, answers the five calls `fracdet pipeline submit` makes
(health, experiment lookup and creation, run creation, run state) and records each request with
its JSON body, so that tests assert on what kfp sent.

Single-user by default, as a standalone Kubeflow Pipelines. Multi-user (`contributors` given), it
plays ml-pipeline on a Kubeflow Platform: the user of a request is the `kubeflow-userid` header
that the platform's gateway sets (tests/kubeflow_gateway_standin.py), or, for a request that
reached it directly from inside the cluster, the subject of a Bearer token it reviews for the
audience pipelines.kubeflow.org (ml-pipeline's TokenReviewAuthenticator). Without either it
answers 401 "there is no user identity header"; a user who is no contributor of the namespace
gets 403 PermissionDenied; both in the API's grpc-gateway JSON, with its words (kubeflow/pipelines
backend/src/apiserver: auth/, resource/resource_manager.go). No run ever runs: a run's state is
`final_state`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

from loopback_server import LoopbackHandler, LoopbackServer
from token_issuer import TokenIssuer, TokenRejectedError

RUN_ID = "4f6c1f7e-0000-4000-8000-000000000001"
EXPERIMENT_ID = "exp-1"
TOKEN_REVIEW_AUDIENCE = "pipelines.kubeflow.org"  # ml-pipeline's TOKEN_REVIEW_AUDIENCE
NO_IDENTITY = "Request header error: there is no user identity header."


class KfpApiStandin(LoopbackServer):
    """The stand-in server; `url` is its address once started (`with KfpApiStandin() as api:`).

    Attributes:
        final_state: the state every poll of the run reads.
        requests: (method, path, JSON body or None) of every request, in order.
        users: the user each multi-user request was made as ("" where none was found).
    """

    def __init__(self, *, contributors: Mapping[str, set[str]] | None = None, issuer: TokenIssuer | None = None) -> None:
        self.contributors = contributors
        self.issuer = issuer
        self.final_state = "SUCCEEDED"
        self.requests: list[tuple[str, str, dict | None]] = []
        self.users: list[str] = []
        self.experiment_namespaces: dict[str, str] = {}
        super().__init__(_Handler, api=self)

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def user_of(self, headers: Mapping[str, str]) -> tuple[str, list[str]]:
        """The request's user, or "" and why none was found: the header first, then a Bearer token's review."""
        errors = [NO_IDENTITY]
        if headers.get("kubeflow-userid"):
            return headers["kubeflow-userid"], []
        scheme, _, token = headers.get("Authorization", "").partition(" ")
        if scheme == "Bearer" and self.issuer is not None:
            try:
                return self.issuer.verify(token, {TOKEN_REVIEW_AUDIENCE})["sub"], []
            except TokenRejectedError as rejected:
                errors.append(f"Authentication failure: Failed to authenticate token review: {rejected}")
        return "", errors


class _Handler(LoopbackHandler):
    api: ClassVar[KfpApiStandin]

    def do_GET(self) -> None:  # noqa: N802 - http.server calls do_<METHOD> by name
        path, query = self._path_and_query()
        self.api.requests.append(("GET", self.path, None))
        if path == "/apis/v2beta1/healthz":
            self._answer(200, {"commit_sha": "2.5.0", "multi_user": self.api.contributors is not None})
        elif path == "/apis/v2beta1/experiments":
            if self._authorized("list experiments", "list", "experiments", query.get("namespace", [""])[0]):
                self._answer(200, {})  # no experiment by that name yet
        elif path == f"/apis/v2beta1/runs/{RUN_ID}":
            if self._authorized("get a run", "get", "runs", self.api.experiment_namespaces.get(EXPERIMENT_ID, "")):
                self._answer(200, {"run_id": RUN_ID, "state": self.api.final_state})
        else:
            self._answer(404, {"error": "Not Found", "code": 5, "message": "Not Found"})

    def do_POST(self) -> None:  # noqa: N802 - http.server calls do_<METHOD> by name
        path, _ = self._path_and_query()
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.api.requests.append(("POST", self.path, body))
        if path == "/apis/v2beta1/experiments":
            if self._authorized("create an experiment", "create", "experiments", body.get("namespace", "")):
                self.api.experiment_namespaces[EXPERIMENT_ID] = body.get("namespace", "")
                self._answer(200, {"experiment_id": EXPERIMENT_ID, "display_name": body["display_name"]})
        elif path == "/apis/v2beta1/runs":
            namespace = self.api.experiment_namespaces.get(body["experiment_id"], "")
            if self._authorized("create a run", "create", "runs", namespace):
                self._answer(200, {"run_id": RUN_ID, "experiment_id": body["experiment_id"], "state": "PENDING"})
        else:
            self._answer(404, {"error": "Not Found", "code": 5, "message": "Not Found"})

    def _authorized(self, action: str, verb: str, resource: str, namespace: str) -> bool:
        """On a multi-user API: find the user, then review their access to the namespace; answer a refusal."""
        if self.api.contributors is None:
            return True
        user, errors = self.api.user_of(self.headers)
        self.api.users.append(user)
        if not user:
            message = f"Failed to {action}: Failed to authorize with API: Unauthenticated: [{', '.join(errors)}]"
            self._answer(401, {"error": message, "code": 16, "message": message, "details": []})
            return False
        if namespace not in self.api.contributors.get(user, set()):
            attributes = (f"&ResourceAttributes{{Namespace:{namespace},Verb:{verb},Group:pipelines.kubeflow.org,Version:v1beta1,"
                          f"Resource:{resource},Subresource:,Name:,}}")
            message = (f"Failed to {action}: Failed to authorize with API: PermissionDenied: User '{user}' is not authorized "
                       f"with reason:  (request: {attributes}): Unauthorized access")
            self._answer(403, {"error": message, "code": 7, "message": message, "details": []})
            return False
        return True

    def _path_and_query(self) -> tuple[str, dict[str, list[str]]]:
        parts = urlsplit(self.path)
        return parts.path, parse_qs(parts.query)

    def _answer(self, status: int, body: dict) -> None:
        self.send_body(status, "application/json", json.dumps(body))
