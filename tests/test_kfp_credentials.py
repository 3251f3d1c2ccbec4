"""Which credential flags and environment give `fracdet pipeline submit`, what it sends, and that no secret is printed."""

from __future__ import annotations

import pytest
from token_issuer import TokenIssuer

from fracdet_core.errors import ConfigError
from fracdet_pipelines import kfp_credentials
from fracdet_pipelines.kfp_credentials import Credential, choose_credential, obtain, token_claims

SECRET = "s3cr3t-value"


@pytest.mark.parametrize(("token_file", "iap_client_id", "environ", "mode", "described"), [
    (None, None, {}, kfp_credentials.NONE, "no credential (a standalone Kubeflow Pipelines needs none)"),
    ("ci.jwt", None, {}, kfp_credentials.BEARER_TOKEN, "the Bearer token from --token-file ci.jwt"),
    (None, None, {"KFP_EXISTING_TOKEN": SECRET}, kfp_credentials.BEARER_TOKEN, "the Bearer token from $KFP_EXISTING_TOKEN"),
    (None, None, {"KFP_DEX_USERNAME": "user@example.com", "KFP_DEX_PASSWORD": SECRET}, kfp_credentials.DEX,
     "a Dex login as user@example.com ($KFP_DEX_USERNAME, $KFP_DEX_PASSWORD)"),
    (None, "1-a.apps.googleusercontent.com", {}, kfp_credentials.IAP,
     "an IAP ID token for the client 1-a.apps.googleusercontent.com (--iap-client-id, from Google's application default "
     "credentials)"),
    (None, None, {"KF_PIPELINES_IAP_OAUTH2_CLIENT_ID": "2-b.apps.googleusercontent.com"}, kfp_credentials.IAP,
     "an IAP ID token for the client 2-b.apps.googleusercontent.com ($KF_PIPELINES_IAP_OAUTH2_CLIENT_ID, from Google's "
     "application default credentials)"),
    (None, None, {"KFP_EXISTING_TOKEN": " ", "KFP_DEX_USERNAME": "", "KFP_DEX_PASSWORD": ""}, kfp_credentials.NONE,
     "no credential (a standalone Kubeflow Pipelines needs none)"),
], ids=["none", "token-file", "token-variable", "dex", "iap-flag", "iap-variable", "empty-variables-are-unset"])
def test_the_given_credential_is_chosen_and_named_without_its_secret(token_file, iap_client_id, environ, mode, described):
    credential = choose_credential(token_file, iap_client_id, environ)
    assert (credential.mode, credential.describe()) == (mode, described)
    assert SECRET not in repr(credential)


def test_the_token_volume_is_used_where_it_is_and_nothing_else_is_given(tmp_path):
    (tmp_path / "token").write_text("volume-token\n")
    credential = choose_credential(None, None, {"KF_PIPELINES_SA_TOKEN_PATH": str(tmp_path / "token")})
    assert credential.describe() == f"the ServiceAccount token volume {tmp_path / 'token'} ($KF_PIPELINES_SA_TOKEN_PATH)"
    assert credential.headers() == {"Authorization": "Bearer volume-token"}
    (tmp_path / "token").write_text("rotated-token\n")  # the kubelet rotates it: every request reads it again
    assert credential.headers() == {"Authorization": "Bearer rotated-token"}
    options = credential.client_options()
    assert list(options) == ["credentials"] and options["credentials"]._token_path == str(tmp_path / "token")
    given = choose_credential(None, None, {"KF_PIPELINES_SA_TOKEN_PATH": str(tmp_path / "token"), "KFP_EXISTING_TOKEN": "t"})
    assert given.mode == kfp_credentials.BEARER_TOKEN


@pytest.mark.parametrize(("token_file", "iap_client_id", "environ", "message"), [
    ("a.jwt", None, {"KFP_DEX_USERNAME": "u", "KFP_DEX_PASSWORD": "p"},
     "more than one credential for the Kubeflow Pipelines API: --token-file a.jwt and $KFP_DEX_USERNAME, $KFP_DEX_PASSWORD"),
    (None, None, {"KFP_DEX_PASSWORD": "p"},
     "a Dex login takes $KFP_DEX_USERNAME and $KFP_DEX_PASSWORD; $KFP_DEX_USERNAME is not set"),
    (None, None, {"KF_PIPELINES_SA_TOKEN_PATH": "/nonexistent"}, "$KF_PIPELINES_SA_TOKEN_PATH is /nonexistent, which is no file"),
])
def test_a_credential_given_wrong_is_a_config_error(token_file, iap_client_id, environ, message):
    with pytest.raises(ConfigError) as raised:
        choose_credential(token_file, iap_client_id, environ)
    assert message in str(raised.value)


def test_an_empty_token_file_is_refused_before_anything_is_sent(tmp_path):
    (tmp_path / "empty.jwt").write_text("\n")
    with pytest.raises(ConfigError, match=r"--token-file .*empty\.jwt: the file is empty, not a token"):
        obtain(choose_credential(str(tmp_path / "empty.jwt"), None, {}), "http://unused", {})


def test_a_token_from_the_environment_is_sent_as_kfp_sends_an_existing_token():
    credential = obtain(choose_credential(None, None, {"KFP_EXISTING_TOKEN": f" {SECRET}\n"}), "http://unused",
                        {"KFP_EXISTING_TOKEN": f" {SECRET}\n"})
    assert credential.headers() == {"Authorization": f"Bearer {SECRET}"}
    assert credential.client_options() == {"existing_token": SECRET}
    assert SECRET not in repr(credential) and SECRET not in credential.describe()


def test_a_dex_session_is_sent_as_cookies():
    credential = Credential(kfp_credentials.DEX, "$KFP_DEX_USERNAME, $KFP_DEX_PASSWORD", "u", cookies="oauth2_proxy_kubeflow=abc")
    assert credential.headers() == {"Cookie": "oauth2_proxy_kubeflow=abc"}
    assert credential.client_options() == {"cookies": "oauth2_proxy_kubeflow=abc"}
    assert "abc" not in repr(credential)


def test_token_claims_say_who_for_whom_and_until_when():
    issuer = TokenIssuer()
    expired = issuer.mint("system:serviceaccount:ci:fracdet", ["kubeflow", "api"], lifetime_s=-10)
    assert token_claims(expired).startswith("subject system:serviceaccount:ci:fracdet, audience kubeflow, api, expired at ")
    assert " expires at " in token_claims(issuer.mint("u", "kubeflow"))
    assert token_claims("not-a-jwt") == "" and token_claims(None) == "" and token_claims("a.!!!.c") == ""
