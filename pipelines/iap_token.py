"""ID tokens for Google's Identity-Aware Proxy, minted from Google's application default credentials as they expire.

IAP lets a request through with `Authorization: Bearer <Google ID token>` whose audience is the
OAuth client ID of the IAP-protected backend. google-auth mints one from a service-account key,
an impersonated_service_account file or the metadata server of GCE and GKE (Workload Identity):
`fetch_id_token_credentials`. It does not take Workload Identity Federation's external_account
credentials, which GitHub Actions gets from google-github-actions/auth: there the service account
the federation acts as mints its own ID token through the IAM Credentials API, which needs
roles/iam.serviceAccountOpenIdTokenCreator on itself (docs/kubeflow.md#authentication).
An ID token lives an hour and a run is waited for longer, so every request checks the token
and mints a new one once it has expired: this is kfp.Client's `credentials` hook.
"""

from __future__ import annotations

from kfp.client.token_credentials_base import TokenCredentialsBase

from fracdet_core.errors import ConfigError
from fracdet_pipelines.kfp_answers import SubmitError

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"


class IapTokenCredentials(TokenCredentialsBase):
    """ID tokens for the IAP OAuth client `client_id`, as kfp.Client's `credentials`.

    Raises (from `token` and the hook):
        ConfigError: no Google credentials here can mint an ID token.
        SubmitError: Google refused to mint one, or was out of reach.
    """

    def __init__(self, client_id: str) -> None:
        self.client_id = client_id
        self._credentials = None

    def token(self) -> str:
        """A valid ID token for the client ID, the last one while it lasts."""
        import google.auth.exceptions
        import google.auth.transport.requests

        try:
            if self._credentials is None:
                self._credentials = _id_token_credentials(self.client_id)
            if not self._credentials.valid:
                self._credentials.refresh(google.auth.transport.requests.Request())
        except google.auth.exceptions.DefaultCredentialsError as error:
            raise ConfigError(
                f"no Google credentials here can mint an ID token for the IAP client {self.client_id} ({error}); "
                "use a service account: its key in GOOGLE_APPLICATION_CREDENTIALS, GKE's Workload Identity, or "
                "google-github-actions/auth (docs/kubeflow.md#authentication)"
            ) from error
        except (google.auth.exceptions.RefreshError, google.auth.exceptions.TransportError) as error:
            raise SubmitError(f"could not get an ID token from Google for the IAP client {self.client_id}: {error}") from error
        return self._credentials.token

    def refresh_api_key_hook(self, config) -> None:  # noqa: ANN001 - kfp_server_api.Configuration
        config.api_key["authorization"] = self.token()


def _id_token_credentials(client_id: str):  # noqa: ANN202 - google.auth credentials, imported lazily
    """Credentials that mint ID tokens for `client_id` from the application default credentials."""
    import google.auth
    from google.auth import external_account, impersonated_credentials
    from google.oauth2 import id_token

    credentials, _ = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
    if isinstance(credentials, external_account.Credentials) and credentials.service_account_email:
        account = impersonated_credentials.Credentials(credentials, credentials.service_account_email, [CLOUD_PLATFORM_SCOPE])
        return impersonated_credentials.IDTokenCredentials(account, target_audience=client_id, include_email=True)
    return id_token.fetch_id_token_credentials(client_id)
