"""`fracdet pipeline submit` on a secured Kubeflow: each way in submits a run and reads its outcome; each refusal is one line.

There is no Kubeflow here. The platform is a loopback stand-in of its gateway
(tests/kubeflow_gateway_standin.py: Dex's login, oauth2-proxy's session cookie and sign-in page,
Istio's JWT checks and AuthorizationPolicy) in front of a multi-user stand-in of the KFP API
(tests/kfp_api_standin.py: the user from the gateway's header or a token review, the access
review per namespace), with tokens from a stand-in issuer (tests/token_issuer.py) and, for IAP,
a stand-in of GKE's metadata server (tests/gce_metadata_standin.py) that google-auth asks for the
ID token. The real `fracdet` command and the real kfp.Client and google-auth talk to them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from gce_metadata_standin import ACCOUNT_EMAIL, MetadataStandin
from kfp_api_standin import EXPERIMENT_ID, RUN_ID, TOKEN_REVIEW_AUDIENCE, KfpApiStandin
from kubeflow_gateway_standin import OAUTH2_PROXY, GatewayStandin
from token_issuer import TokenIssuer

from fracdet import main
from fracdet_components.run_records import record_blessing, write_outcome
from fracdet_pipelines.compile import compile_pipeline
from fracdet_pipelines.kfp_answers import SubmitError
from fracdet_pipelines.kfp_credentials import choose_credential, obtain
from fracdet_pipelines.submit import RunReport, connect, wait

pytestmark = pytest.mark.usefixtures("no_kfp_credentials")

NAMESPACE = "team-a"
USER, PASSWORD = "user@example.com", "12341234"
CI_ACCOUNT = f"system:serviceaccount:{NAMESPACE}:fracdet-ci"
OUTSIDER = f"system:serviceaccount:{NAMESPACE}:default"  # authenticated, but the gateway's policy denies it
GATEWAY_AUDIENCE = "kubeflow.example.com"
IAP_CLIENT_ID = "123-fracdet.apps.googleusercontent.com"
CONTRIBUTORS = {USER: {NAMESPACE}, CI_ACCOUNT: {NAMESPACE}, OUTSIDER: {NAMESPACE}, ACCOUNT_EMAIL: {NAMESPACE}}


@dataclasses.dataclass
class Platform:
    api: KfpApiStandin
    gateway: GatewayStandin
    issuer: TokenIssuer


@pytest.fixture(scope="module")
def pipeline_file(tmp_path_factory) -> str:
    return compile_pipeline(str(tmp_path_factory.mktemp("submit-auth") / "pipeline.yaml"))


@pytest.fixture
def platform(request) -> Iterator[Platform]:
    """A multi-user KFP API behind a gateway; `indirect` parameters are the gateway's options."""
    options = {"audiences": {GATEWAY_AUDIENCE}, **getattr(request, "param", {})}
    issuer = TokenIssuer()
    with KfpApiStandin(contributors=CONTRIBUTORS, issuer=issuer) as api, \
            GatewayStandin(api.url, issuer, users={USER: PASSWORD}, denied={OUTSIDER}, **options) as gateway:
        yield Platform(api, gateway, issuer)


@pytest.fixture
def registry(tmp_path) -> Path:
    """A registry in which the run has recorded that its model was blessed, as its evaluate and exit tasks would."""
    folder = tmp_path / "registry"
    record_blessing(str(folder), "fracdet", RUN_ID, True)
    write_outcome(str(folder), "fracdet", RUN_ID, "SUCCEEDED", None)
    return folder


def _submit(capsys, host: str, pipeline_file: str, registry: Path, *extra: str,
            namespace: str = NAMESPACE) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of `fracdet pipeline submit --wait` of a run into `namespace`."""
    code = main(["pipeline", "submit", "--host", host, "--experiment", "retrain", "--pipeline-file", pipeline_file,
                 "--namespace", namespace, "--wait", "--timeout", "60", *extra,
                 "data_uri=gs://bucket/xr", f"registry_uri={registry}"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _assert_submitted_as(platform: Platform, out: str, user: str) -> None:
    """The run was created in the namespace and waited for, every request reaching the API as `user`."""
    assert "outcome: blessed" in out and f"run: {RUN_ID}" in out
    (experiment,) = [body for method, path, body in platform.api.requests if method == "POST" and path.endswith("/experiments")]
    assert experiment["namespace"] == NAMESPACE
    assert f"GET /apis/v2beta1/runs/{RUN_ID}" in {f"{method} {path}" for method, path, _ in platform.api.requests}
    assert set(platform.api.users) == {user}


def _one_line(err: str) -> str:
    """The error's line; fails the test on a traceback or anything else on stderr."""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fracdet pipeline: error: "), err
    return lines[0]


# The ways in.

@pytest.mark.parametrize("platform", [{}, {"unauthenticated": OAUTH2_PROXY}, {"approval_screen": True}], indirect=True,
                         ids=["oidc-authservice-redirect", "oauth2-proxy-sign-in-page", "dex-approval-screen"])
def test_a_dex_login_submits_a_run_and_reads_its_outcome(capsys, monkeypatch, platform, pipeline_file, registry):
    monkeypatch.setenv("KFP_DEX_USERNAME", USER)
    monkeypatch.setenv("KFP_DEX_PASSWORD", PASSWORD)
    code, out, err = _submit(capsys, platform.gateway.url, pipeline_file, registry)
    assert code == 0, out + err
    assert f"auth: a Dex login as {USER} ($KFP_DEX_USERNAME, $KFP_DEX_PASSWORD)" in out.splitlines()
    assert platform.gateway.logins == [USER]
    _assert_submitted_as(platform, out, USER)
    assert PASSWORD not in out + err


def test_a_dex_login_through_a_port_forward_to_localhost_keeps_its_cookie(capsys, monkeypatch, platform, pipeline_file,
                                                                         registry):
    """`kubectl port-forward svc/istio-ingressgateway 8080:80`, then http://localhost:8080/pipeline: a host without a dot."""
    monkeypatch.setenv("KFP_DEX_USERNAME", USER)
    monkeypatch.setenv("KFP_DEX_PASSWORD", PASSWORD)
    code, out, err = _submit(capsys, platform.gateway.url.replace("127.0.0.1", "localhost"), pipeline_file, registry)
    assert code == 0, out + err
    _assert_submitted_as(platform, out, USER)


def test_a_token_file_submits_a_run_and_reads_its_outcome(capsys, platform, pipeline_file, registry, tmp_path):
    token = platform.issuer.mint(CI_ACCOUNT, GATEWAY_AUDIENCE)
    (tmp_path / "kfp.jwt").write_text(token + "\n")
    code, out, err = _submit(capsys, platform.gateway.url, pipeline_file, registry, "--token-file", str(tmp_path / "kfp.jwt"))
    assert code == 0, out + err
    assert f"auth: the Bearer token from --token-file {tmp_path / 'kfp.jwt'}" in out.splitlines()
    _assert_submitted_as(platform, out, CI_ACCOUNT)
    assert token not in out + err


def test_a_token_in_the_environment_submits_a_run(capsys, monkeypatch, platform, pipeline_file, registry):
    token = platform.issuer.mint(CI_ACCOUNT, GATEWAY_AUDIENCE)
    monkeypatch.setenv("KFP_EXISTING_TOKEN", token)
    code, out, err = _submit(capsys, platform.gateway.url, pipeline_file, registry)
    assert code == 0, out + err
    assert "auth: the Bearer token from $KFP_EXISTING_TOKEN" in out.splitlines()
    _assert_submitted_as(platform, out, CI_ACCOUNT)
    assert token not in out + err


def test_inside_the_cluster_the_token_volume_goes_straight_to_the_api(capsys, monkeypatch, platform, pipeline_file, registry,
                                                                      tmp_path):
    """A pod reaches ml-pipeline without the gateway; the API reviews the volume's token for its own audience."""
    (tmp_path / "token").write_text(platform.issuer.mint(CI_ACCOUNT, TOKEN_REVIEW_AUDIENCE))
    monkeypatch.setenv("KF_PIPELINES_SA_TOKEN_PATH", str(tmp_path / "token"))
    code, out, err = _submit(capsys, platform.api.url, pipeline_file, registry)
    assert code == 0, out + err
    assert f"auth: the ServiceAccount token volume {tmp_path / 'token'} ($KF_PIPELINES_SA_TOKEN_PATH)" in out.splitlines()
    _assert_submitted_as(platform, out, CI_ACCOUNT)
    assert platform.gateway.forwarded == []


@pytest.mark.parametrize("platform", [{"audiences": {IAP_CLIENT_ID}}], indirect=True)
def test_iap_gets_its_id_token_from_the_metadata_server_and_submits(platform, pipeline_file, registry, tmp_path):
    """GKE with Workload Identity: google-auth asks the metadata server for an ID token for the IAP client ID.

    The client ID comes in kfp.Client's own variable, as the retrain workflow gives it, which must
    not start the SDK's IAP flow instead. google-auth reads the metadata server's address when it
    is imported, so the command runs in a process of its own, pointed at the stand-in; no other
    Google credentials are in its way.
    """
    with MetadataStandin(platform.issuer) as metadata:
        environment = {**os.environ, "GCE_METADATA_HOST": metadata.address, "GCE_METADATA_IP": metadata.address,
                       "CLOUDSDK_CONFIG": str(tmp_path / "gcloud"), "HOME": str(tmp_path),
                       "KF_PIPELINES_IAP_OAUTH2_CLIENT_ID": IAP_CLIENT_ID}
        for name in ("GOOGLE_APPLICATION_CREDENTIALS", "KFP_EXISTING_TOKEN", "KFP_DEX_USERNAME", "KF_PIPELINES_SA_TOKEN_PATH"):
            environment.pop(name, None)
        result = subprocess.run(
            [sys.executable, "-m", "fracdet", "pipeline", "submit", "--host", platform.gateway.url, "--experiment", "retrain",
             "--pipeline-file", pipeline_file, "--namespace", NAMESPACE, "--wait",
             "--timeout", "60", "data_uri=gs://bucket/xr", f"registry_uri={registry}"],
            capture_output=True, text=True, timeout=300, env=environment,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (f"auth: an IAP ID token for the client {IAP_CLIENT_ID} ($KF_PIPELINES_IAP_OAUTH2_CLIENT_ID, from Google's "
            "application default credentials)") in result.stdout.splitlines()
    assert metadata.audiences == [IAP_CLIENT_ID]  # one token, reused while it lasts
    _assert_submitted_as(platform, result.stdout, ACCOUNT_EMAIL)


# The refusals: one line each, exit 1, saying what to do.

@pytest.mark.parametrize(("platform", "said"), [
    ({}, "(302 Found to /dex/auth): this is a multi-user Kubeflow; give the platform's credential"),
    ({"unauthenticated": OAUTH2_PROXY}, "(401 Unauthorized): this is a multi-user Kubeflow; give the platform's credential"),
], indirect=["platform"], ids=["redirect-to-dex", "oauth2-proxy-401"])
def test_no_credential_is_sent_to_log_in_not_to_check_the_network(capsys, platform, pipeline_file, registry, said):
    code, out, err = _submit(capsys, platform.gateway.url, pipeline_file, registry)
    assert code == 1
    assert "auth: no credential (a standalone Kubeflow Pipelines needs none)" in out.splitlines()
    line = _one_line(err)
    assert line.startswith(f"fracdet pipeline: error: the gateway at {platform.gateway.url}")
    assert "a request without a credential" in line and said in line and "cannot reach" not in line
    assert "--token-file" in line and "$KFP_DEX_USERNAME" in line and "--iap-client-id" in line
    assert platform.api.requests == []


@pytest.mark.parametrize(("lifetime_s", "audience", "said", "advice"), [
    (-60, GATEWAY_AUDIENCE, "(401 Unauthorized: Jwt is expired)", "expired at"),
    (3600, "https://kubernetes.default.svc", "(401 Unauthorized: Audiences in Jwt are not allowed)",
     "audience https://kubernetes.default.svc"),
], ids=["expired", "another-audience"])
def test_a_token_the_gateway_rejects_says_why_and_how_to_make_one(capsys, platform, pipeline_file, registry, tmp_path,
                                                                  lifetime_s, audience, said, advice):
    (tmp_path / "kfp.jwt").write_text(platform.issuer.mint(CI_ACCOUNT, audience, lifetime_s=lifetime_s))
    code, _, err = _submit(capsys, platform.gateway.url, pipeline_file, registry, "--token-file", str(tmp_path / "kfp.jwt"))
    assert code == 1
    line = _one_line(err)
    assert f"the gateway at {platform.gateway.url} refused the Bearer token from --token-file" in line
    assert f"subject {CI_ACCOUNT}" in line and advice in line and said in line
    assert "kubectl create token ACCOUNT -n NAMESPACE --audience AUDIENCE --duration" in line
    assert platform.api.requests == []


def test_an_identity_the_gateway_denies_is_told_to_ask_the_admin(capsys, platform, pipeline_file, registry, tmp_path):
    (tmp_path / "kfp.jwt").write_text(platform.issuer.mint(OUTSIDER, GATEWAY_AUDIENCE))
    code, _, err = _submit(capsys, platform.gateway.url, pipeline_file, registry, "--token-file", str(tmp_path / "kfp.jwt"))
    assert code == 1
    line = _one_line(err)
    assert "let the Bearer token from --token-file" in line and "in but its policy denies it" in line
    assert "(403 Forbidden: RBAC: access denied)" in line and "AuthorizationPolicy" in line


def test_a_wrong_dex_password_is_refused_without_showing_it(capsys, monkeypatch, platform, pipeline_file, registry):
    monkeypatch.setenv("KFP_DEX_USERNAME", USER)
    monkeypatch.setenv("KFP_DEX_PASSWORD", "not-the-password")
    code, out, err = _submit(capsys, platform.gateway.url, pipeline_file, registry)
    assert code == 1
    line = _one_line(err)
    assert f"Dex refused the login of {USER}" in line and "wrong user name or password" in line
    assert "not-the-password" not in out + err
    assert platform.api.requests == []


def test_a_user_without_a_contributor_binding_is_told_which_namespace(capsys, platform, pipeline_file, registry, tmp_path):
    (tmp_path / "kfp.jwt").write_text(platform.issuer.mint(CI_ACCOUNT, GATEWAY_AUDIENCE))
    code, _, err = _submit(capsys, platform.gateway.url, pipeline_file, registry, "--token-file", str(tmp_path / "kfp.jwt"),
                           namespace="team-b")
    assert code == 1
    line = _one_line(err)
    assert f"the Kubeflow Pipelines API refused {CI_ACCOUNT} (the Bearer token from --token-file" in line
    assert "in namespace team-b while creating the run (403 Forbidden: Failed to list experiments" in line
    assert f"make {CI_ACCOUNT} a contributor of the profile team-b: a RoleBinding to ClusterRole kubeflow-edit" in line


@pytest.mark.parametrize(("token_audience", "said"), [
    (None, "there is no user identity header"),
    (GATEWAY_AUDIENCE, "Failed to authenticate token review: Audiences in Jwt are not allowed"),
], ids=["no-token", "token-for-the-gateway"])
def test_the_api_finding_no_identity_says_where_to_send_what(capsys, monkeypatch, platform, pipeline_file, registry, tmp_path,
                                                             token_audience, said):
    """Straight to ml-pipeline, as from inside the cluster: no token, or one made for the gateway, gives the API no user."""
    if token_audience:
        (tmp_path / "token").write_text(platform.issuer.mint(CI_ACCOUNT, token_audience))
        monkeypatch.setenv("KF_PIPELINES_SA_TOKEN_PATH", str(tmp_path / "token"))
    code, _, err = _submit(capsys, platform.api.url, pipeline_file, registry)
    assert code == 1
    line = _one_line(err)
    assert f"the Kubeflow Pipelines API at {platform.api.url} found no user identity with" in line
    assert "while creating the run (401 Unauthorized: Failed to list experiments" in line and said in line
    assert "pipelines.kubeflow.org" in line


def test_a_host_that_is_not_the_api_is_named_not_parsed(capsys, platform, pipeline_file, registry, tmp_path):
    """The dashboard's HTML page where the API's JSON was expected: --host lacks /pipeline."""
    (tmp_path / "kfp.jwt").write_text(platform.issuer.mint(CI_ACCOUNT, GATEWAY_AUDIENCE))
    host = platform.gateway.url.removesuffix("/pipeline")
    code, _, err = _submit(capsys, host, pipeline_file, registry, "--token-file", str(tmp_path / "kfp.jwt"))
    assert code == 1
    line = _one_line(err)
    assert f"{host} does not answer as the Kubeflow Pipelines API while checking its health" in line
    assert "(200 OK: an HTML page titled 'Kubeflow Central Dashboard')" in line and "https://KUBEFLOW-HOST/pipeline" in line


def test_a_token_that_expires_during_the_wait_ends_it_with_its_reason(platform, tmp_path):
    """The run goes on; waiting on with a refused credential would only print warnings until the timeout."""
    platform.api.final_state = "RUNNING"
    platform.api.experiment_namespaces[EXPERIMENT_ID] = NAMESPACE  # the run was created in the profile's namespace
    (tmp_path / "kfp.jwt").write_text(platform.issuer.mint(CI_ACCOUNT, GATEWAY_AUDIENCE, lifetime_s=2))
    credential = obtain(choose_credential(str(tmp_path / "kfp.jwt"), None, {}), platform.gateway.url, {})
    connection = connect(platform.gateway.url, credential, NAMESPACE)
    report = RunReport(RUN_ID, "PENDING", "submitted", "")
    with pytest.raises(SubmitError) as raised:
        wait(connection, report, timeout_s=60, poll_s=0.5)
    assert f"while waiting for run {RUN_ID} (the run goes on) (401 Unauthorized: Jwt is expired)" in str(raised.value)


# A credential given wrong: nothing is sent, exit 2.

@pytest.mark.parametrize(("variables", "flags", "message"), [
    ({"KFP_DEX_USERNAME": USER}, [], "a Dex login takes $KFP_DEX_USERNAME and $KFP_DEX_PASSWORD; $KFP_DEX_PASSWORD is not set"),
    ({"KFP_EXISTING_TOKEN": "t"}, ["--iap-client-id", IAP_CLIENT_ID],
     "more than one credential for the Kubeflow Pipelines API: $KFP_EXISTING_TOKEN and --iap-client-id; give one"),
    ({}, ["--token-file", "/nonexistent/kfp.jwt"], "--token-file /nonexistent/kfp.jwt: cannot read the token: No such file"),
    ({"KF_PIPELINES_SA_TOKEN_PATH": "/nonexistent/token"}, [],
     "$KF_PIPELINES_SA_TOKEN_PATH is /nonexistent/token, which is no file"),
    ({"GOOGLE_APPLICATION_CREDENTIALS": "/nonexistent/key.json"}, ["--iap-client-id", IAP_CLIENT_ID],
     f"no Google credentials here can mint an ID token for the IAP client {IAP_CLIENT_ID}"),
], ids=["half-a-dex-login", "two-credentials", "missing-token-file", "missing-token-volume", "no-google-credentials"])
def test_a_credential_given_wrong_exits_2_before_anything_is_sent(capsys, monkeypatch, platform, pipeline_file, registry,
                                                                  variables, flags, message):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    code, _, err = _submit(capsys, platform.gateway.url, pipeline_file, registry, *flags)
    assert code == 2
    assert message in _one_line(err)
    assert platform.gateway.forwarded == [] and platform.api.requests == []


def test_workload_identity_federation_credentials_that_google_does_not_take_exit_1(capsys, monkeypatch, platform,
                                                                                  pipeline_file, registry, tmp_path):
    """GitHub Actions' external_account credentials: the service account mints its ID token through Google's STS and IAM.

    Neither is here: the file's STS address is a closed local port, so the exchange fails; what is
    checked is that the federation's path is taken and that its failure is one line.
    """
    (tmp_path / "oidc-token").write_text("github-oidc-token")
    (tmp_path / "adc.json").write_text(json.dumps({
        "type": "external_account",
        "audience": "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/github/providers/github",
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt", "token_url": "http://127.0.0.1:9/v1/token",
        "service_account_impersonation_url":
            f"https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/{ACCOUNT_EMAIL}:generateAccessToken",
        "credential_source": {"file": str(tmp_path / "oidc-token")},
    }))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "adc.json"))
    code, _, err = _submit(capsys, platform.gateway.url, pipeline_file, registry, "--iap-client-id", IAP_CLIENT_ID)
    assert code == 1
    line = _one_line(err)
    assert f"could not get an ID token from Google for the IAP client {IAP_CLIENT_ID}" in line and "port=9" in line
