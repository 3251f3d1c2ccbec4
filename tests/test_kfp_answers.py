"""What a Kubeflow deployment answers for the Pipelines API, told apart: the API's JSON, a login page, a gateway's refusal.

Each row is an answer as its component sends it: oidc-authservice's and IAP's redirects,
oauth2-proxy's 401 `{}` and sign-in page, Istio's JWT and RBAC texts, ml-pipeline's grpc-gateway
errors (kubeflow/manifests common/oauth2-proxy; kubeflow/pipelines backend/src/apiserver).
"""

from __future__ import annotations

import json

import pytest

from fracdet_pipelines import kfp_answers
from fracdet_pipelines.kfp_answers import Answer, Refusal, refusal

JSON = {"Content-Type": "application/json"}
HTML = {"Content-Type": "text/html; charset=utf-8"}
TEXT = {"Content-Type": "text/plain"}
DENIED = ("Failed to create a run: Failed to authorize with API: PermissionDenied: User 'system:serviceaccount:ci:fracdet' is "
          "not authorized with reason:  (request: &ResourceAttributes{Namespace:team-b,Verb:create,Group:pipelines.kubeflow.org,"
          "Version:v1beta1,Resource:runs,Subresource:,Name:,}): Unauthorized access")
NO_USER = ("Failed to list experiments: Failed to authorize with API: Unauthenticated: Request header error: there is no user "
           "identity header.")


def _answer(status: int, reason: str, headers: dict[str, str], body: str | dict) -> Answer:
    return Answer.of(status, reason, headers, json.dumps(body) if isinstance(body, dict) else body)


@pytest.mark.parametrize(("answer", "expected"), [
    (_answer(302, "Found", {"Location": "/dex/auth?client_id=kubeflow-oidc-authservice&state=x"}, ""),
     Refusal(kfp_answers.LOGIN_PAGE, "302 Found to /dex/auth")),
    (_answer(302, "Found", {"location": "https://accounts.google.com/o/oauth2/v2/auth?client_id=1"}, ""),
     Refusal(kfp_answers.LOGIN_PAGE, "302 Found to https://accounts.google.com/o/oauth2/v2/auth")),
    (_answer(301, "Moved Permanently", {"Location": "https://kubeflow.example.com/pipeline/apis/v2beta1/healthz"}, ""),
     Refusal(kfp_answers.NOT_THE_API, "301 Moved Permanently to https://kubeflow.example.com/pipeline/apis/v2beta1/healthz")),
    (_answer(401, "Unauthorized", JSON, {}), Refusal(kfp_answers.GATEWAY_UNAUTHENTICATED, "401 Unauthorized")),
    (_answer(401, "Unauthorized", TEXT, "Jwt is expired"), Refusal(kfp_answers.GATEWAY_UNAUTHENTICATED,
                                                                   "401 Unauthorized: Jwt is expired")),
    (_answer(403, "Forbidden", TEXT, "RBAC: access denied"), Refusal(kfp_answers.GATEWAY_FORBIDDEN,
                                                                     "403 Forbidden: RBAC: access denied")),
    (_answer(403, "Forbidden", HTML, "<html><title>Sign In</title><a href='/oauth2/start'>Sign in with Dex</a></html>"),
     Refusal(kfp_answers.LOGIN_PAGE, "403 Forbidden: an HTML page titled 'Sign In'")),
    (_answer(200, "OK", HTML, "<!DOCTYPE html><html><head><title>dex</title></head><form><input name=password></form>"),
     Refusal(kfp_answers.LOGIN_PAGE, "200 OK: an HTML page titled 'dex'")),
    (_answer(200, "OK", {}, "<html><head><title>Kubeflow Central Dashboard</title></head></html>"),
     Refusal(kfp_answers.NOT_THE_API, "200 OK: an HTML page titled 'Kubeflow Central Dashboard'")),
    (_answer(200, "OK", TEXT, "ok"), Refusal(kfp_answers.NOT_THE_API, "200 OK: text/plain that is not JSON")),
    (_answer(401, "Unauthorized", JSON, {"error": NO_USER, "code": 16, "message": NO_USER}),
     Refusal(kfp_answers.NO_IDENTITY, f"401 Unauthorized: {NO_USER}")),
    (_answer(403, "Forbidden", JSON, {"error": DENIED, "code": 7, "message": DENIED}),
     Refusal(kfp_answers.NOT_AUTHORIZED, "403 Forbidden: Failed to create a run: Failed to authorize with API: PermissionDenied: "
             "User 'system:serviceaccount:ci:fracdet' is not authorized", "system:serviceaccount:ci:fracdet", "team-b")),
    (_answer(403, "Forbidden", JSON, {"message": "Failed to list runs: Check if you have access to namespace team-c: denied"}),
     Refusal(kfp_answers.NOT_AUTHORIZED,
             "403 Forbidden: Failed to list runs: Check if you have access to namespace team-c: denied",
             "", "team-c")),
    (_answer(400, "Bad Request", JSON, {"message": "Invalid input error: the pipeline spec is invalid\nat line 3", "code": 3}),
     Refusal(kfp_answers.OTHER, "400 Bad Request: Invalid input error: the pipeline spec is invalid")),
    (_answer(404, "Not Found", JSON, {"message": "Run 42 not found", "code": 5}),
     Refusal(kfp_answers.OTHER, "404 Not Found: Run 42 not found")),
    (_answer(404, "Not Found", TEXT, "404 page not found"),
     Refusal(kfp_answers.NOT_THE_API, "404 Not Found: 404 page not found")),
    (_answer(503, "Service Unavailable", TEXT, "no healthy upstream"),
     Refusal(kfp_answers.OTHER, "503 Service Unavailable: no healthy upstream")),
], ids=["redirect-to-dex", "redirect-to-google", "redirect-elsewhere", "oauth2-proxy-401", "istio-jwt-401", "istio-rbac-403",
        "oauth2-proxy-sign-in-page", "login-page-200", "dashboard-200", "text-200", "api-no-identity", "api-not-authorized",
        "api-namespace-in-prose", "api-bad-request", "api-not-found", "no-such-path", "gateway-503"])
def test_each_answer_is_its_kind_of_refusal(answer, expected):
    assert refusal(answer) == expected


def test_the_apis_json_answer_is_no_refusal():
    assert refusal(_answer(200, "OK", JSON, {"commit_sha": "2.5.0", "multi_user": True})) is None


def test_a_long_message_stays_one_short_line():
    said = refusal(_answer(500, "Internal Server Error", JSON, {"message": "x" * 1000 + "\nsecond line"})).said
    assert "\n" not in said and said.endswith("...") and len(said) < 340
