"""One line for each refusal of the KFP API: which credential was tried, what the platform answered, what to do.

A "cannot reach the API" would send the user to check the network when the platform wanted a
login, a fresh token or a contributor binding; each kind of refusal (kfp_answers.py) gets its
own advice here, shaped by the credential that was sent (kfp_credentials.py).
"""

from __future__ import annotations

from fracdet_pipelines import kfp_answers
from fracdet_pipelines.kfp_answers import Refusal
from fracdet_pipelines.kfp_credentials import (
    BEARER_TOKEN,
    DEX,
    DEX_PASSWORD_ENV,
    DEX_USERNAME_ENV,
    IAP,
    NONE,
    TOKEN_ENV,
    TOKEN_VOLUME,
    Credential,
    token_claims,
)

DOCS = "docs/kubeflow.md#authentication"
GIVE_ONE = (f"give the platform's credential: a token (--token-file, ${TOKEN_ENV}), a Dex login (${DEX_USERNAME_ENV}, "
            f"${DEX_PASSWORD_ENV}) or IAP's client ID (--iap-client-id); {DOCS}")
NEW_TOKEN = ("kubectl create token ACCOUNT -n NAMESPACE --audience AUDIENCE --duration 5h, with the audience the gateway "
             f"checks and a duration beyond the wait; {DOCS}")


def refusal_message(refusal: Refusal, credential: Credential, host: str, namespace: str | None, doing: str) -> str:
    """The one-line error for `refusal` of `credential` at `host` while `doing` ("creating the run")."""
    tried = _tried(credential)
    if refusal.kind == kfp_answers.NOT_THE_API:
        return (f"{host} does not answer as the Kubeflow Pipelines API while {doing} ({refusal.said}): give --host as the API's "
                "address (through a Kubeflow Platform's gateway, https://KUBEFLOW-HOST/pipeline)")
    if refusal.kind == kfp_answers.NOT_AUTHORIZED:
        return _not_authorized(refusal, tried, namespace, doing)
    if refusal.kind == kfp_answers.OTHER:
        return f"the Kubeflow Pipelines API at {host} refused {doing}: {refusal.said}"
    where = {
        kfp_answers.LOGIN_PAGE: f"the gateway at {host} sent {tried} to its login page",
        kfp_answers.GATEWAY_UNAUTHENTICATED: f"the gateway at {host} refused {tried}",
        kfp_answers.GATEWAY_FORBIDDEN: f"the gateway at {host} let {tried} in but its policy denies it",
        kfp_answers.NO_IDENTITY: f"the Kubeflow Pipelines API at {host} found no user identity with {tried}",
    }[refusal.kind]
    return f"{where} while {doing} ({refusal.said}): {_advice(refusal.kind, credential)}"


def _tried(credential: Credential) -> str:
    """The credential as the message names it, with the token's subject, audience and expiry where it has them."""
    if credential.mode == NONE:
        return "a request without a credential"
    claims = token_claims(credential.bearer_token()) if credential.mode in (BEARER_TOKEN, TOKEN_VOLUME) else ""
    return f"{credential.describe()} [{claims}]" if claims else credential.describe()


def _not_authorized(refusal: Refusal, tried: str, namespace: str | None, doing: str) -> str:
    """The API knows who the credential is, and its access review in the namespace said no."""
    where = refusal.namespace or namespace or "the profile's namespace"
    who = refusal.user or "the identity"
    return (f"the Kubeflow Pipelines API refused {who} ({tried}) in namespace {where} while {doing} ({refusal.said}): make "
            f"{who} a contributor of the profile {where}: a RoleBinding to ClusterRole kubeflow-edit in {where} "
            f"(manifests/components/kubeflow-ci-contributor; {DOCS})")


def _advice(kind: str, credential: Credential) -> str:
    """What to do when the gateway, or the API, did not take `credential`."""
    if kind == kfp_answers.NO_IDENTITY:
        return ("go through the platform's gateway (https://KUBEFLOW-HOST/pipeline), or, to ml-pipeline directly from inside the "
                f"cluster, mount a ServiceAccount token volume for audience pipelines.kubeflow.org; {DOCS}")
    if credential.mode == NONE:
        return f"this is a multi-user Kubeflow; {GIVE_ONE}"
    if kind == kfp_answers.GATEWAY_FORBIDDEN:
        return ("the identity is authenticated but not admitted: ask the platform's admin (an Istio AuthorizationPolicy; on GKE, "
                f"IAP's IAP-secured Web App User role); {DOCS}")
    return {
        TOKEN_VOLUME: f"the volume's token must be for the audience the platform checks (pipelines.kubeflow.org); {DOCS}",
        BEARER_TOKEN: f"make a token the gateway takes: {NEW_TOKEN}",
        DEX: f"the gateway did not take this login's session: is --host behind the gateway that Dex logs in to? {DOCS}",
        IAP: ("the ID token's audience must be the OAuth client ID of the IAP in front of --host, and its account needs IAP's "
              f"IAP-secured Web App User role; {DOCS}"),
    }[credential.mode]
