"""Submit a compiled pipeline to a Kubeflow Pipelines backend, wait for it, and read its outcome.

CI needs to tell three endings apart: the model was blessed and registered, the run succeeded but
the model was not blessed, and the run failed (or did not finish in time). A run's state gives
only succeeded or failed; the third answer comes from the `outcome.json` that the run's exit
handler wrote under the registry (`fracdet_components.run_records`).

The backend may sit behind a Kubeflow Platform's gateway, which wants a credential
(kfp_credentials.py). Before kfp.Client is made, its first request is made once by hand
(kfp_answers.py): kfp.Client would retry a refused health check for half a minute and then report
a timeout. kfp.Client itself follows no redirect here, so a gateway's redirect to its login page
comes back as an error that says so, never as an HTML page read as the API's answer.
"""

from __future__ import annotations

import dataclasses
import sys
import time
import warnings

import kfp
from kfp_server_api import ApiException
from urllib3.exceptions import HTTPError
from urllib3.util.retry import Retry

from fracdet_components.run_records import FAILED, read_outcome
from fracdet_pipelines import kfp_answers
from fracdet_pipelines.kfp_answers import Answer, Refusal, SubmitError, read_health_check, refusal
from fracdet_pipelines.kfp_credentials import Credential
from fracdet_pipelines.kfp_refusals import refusal_message

SUCCEEDED = "SUCCEEDED"
FINISHED_STATES = ("SUCCEEDED", "FAILED", "CANCELED", "SKIPPED")  # kfp_server_api V2beta1RuntimeState
SUBMITTED = "submitted"  # outcome of a run not waited for
TIMED_OUT = "timed_out"  # outcome of a run still going when the wait ended


@dataclasses.dataclass(frozen=True)
class RunReport:
    """What `fracdet pipeline submit` reports and writes to `--outcome-file`.

    Attributes:
        run_id: the KFP run ID.
        state: the run's last known state (SUCCEEDED, FAILED, RUNNING, ...).
        outcome: "blessed", "not_blessed", "failed", "timed_out", or "submitted" when not waited for.
        url: the run's page in the Kubeflow dashboard.
    """

    run_id: str
    state: str
    outcome: str
    url: str


@dataclasses.dataclass(frozen=True)
class Connection:
    """A kfp.Client of the API at `host`, and the credential it sends, which error messages name."""

    client: kfp.Client
    host: str
    credential: Credential
    namespace: str | None = None

    def refused(self, found: Refusal, doing: str) -> SubmitError:
        """The error for `found` while `doing`, in one line that says what to do."""
        return SubmitError(refusal_message(found, self.credential, self.host, self.namespace, doing))


class _NoRedirectClient(kfp.Client):
    """kfp.Client that sends only the credential fracdet chose, and hands a redirect back instead of following it.

    kfp.Client takes no option for either; its `_load_config(host, client_id, ...)` makes the
    configuration that every request uses (the Kubeflow documentation's Dex example adjusts the same
    method). kfp.Client passes it $KF_PIPELINES_IAP_OAUTH2_CLIENT_ID as `client_id`, which would
    start the SDK's own IAP flow ahead of the `credentials` given; fracdet's IAP credential already
    mints the tokens, from more kinds of Google credentials.
    """

    def _load_config(self, host: str | None, client_id: str | None, *args: object):  # noqa: ANN202 - kfp_server_api.Configuration
        config = super()._load_config(host, None, *args)
        config.retries = Retry(3, redirect=False)
        return config


def connect(host: str, credential: Credential, namespace: str | None = None) -> Connection:
    """A kfp.Client for `host` (the KFP API, e.g. http://localhost:8080 through a port-forward) sending `credential`.

    Raises:
        SubmitError: the backend does not answer its health check, or refuses the credential.
    """
    found = refusal(read_health_check(host, credential.headers()))
    if found:
        raise SubmitError(refusal_message(found, credential, host, namespace, "checking its health"))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="This client only works with Kubeflow Pipeline", category=FutureWarning)
        try:
            return Connection(_NoRedirectClient(host=host, **credential.client_options()), host, credential, namespace)
        except (ApiException, HTTPError, OSError, ValueError) as error:  # TimeoutError (an OSError): health check gave up
            raise SubmitError(f"cannot reach the Kubeflow Pipelines API at {host}: {error}") from error


def submit(
    connection: Connection, pipeline_file: str, arguments: dict[str, object], *, experiment: str, run_name: str | None,
    service_account: str | None,
) -> RunReport:
    """Create the run in the connection's namespace; its report has the state the backend gave it at creation.

    Raises:
        SubmitError: the backend refused the credential, the experiment or the run.
    """
    try:
        result = connection.client.create_run_from_pipeline_package(
            pipeline_file, arguments=arguments, run_name=run_name, experiment_name=experiment, namespace=connection.namespace,
            service_account=service_account,
        )
    except ApiException as error:
        raise connection.refused(_refusal_of(error), "creating the run") from error
    except HTTPError as error:
        raise SubmitError(f"lost the Kubeflow Pipelines API at {connection.host} while submitting: {error}") from error
    state = result.run_info.state or "PENDING"
    return RunReport(result.run_id, str(state), SUBMITTED, run_url(connection.host, result.run_id))


def run_url(host: str, run_id: str) -> str:
    """The run's page in the dashboard served at `host` (the UI and the API share it)."""
    return f"{host.rstrip('/')}/#/runs/details/{run_id}"


def wait(connection: Connection, report: RunReport, timeout_s: float, poll_s: float = 15.0) -> RunReport:
    """Poll the run until it finishes or `timeout_s` passes; the report then has its final (or last) state.

    Errors while polling (an API restart, a dropped connection) are retried until the timeout:
    the run goes on regardless, and a CI job should not fail for a blip of the API. A refused
    credential is no blip (a token that expired during the wait): it ends the wait.

    Raises:
        SubmitError: the platform refused the credential while polling; the run goes on.
    """
    deadline = time.monotonic() + timeout_s
    state = report.state
    while True:
        try:
            state = str(connection.client.get_run(report.run_id).state or state)
        except ApiException as error:
            found = _refusal_of(error)
            if found.kind != kfp_answers.OTHER:
                raise connection.refused(found, f"waiting for run {report.run_id} (the run goes on)") from error
            print(f"warning: could not read the state of run {report.run_id} ({error.status} {error.reason}); retrying",
                  file=sys.stderr, flush=True)
        except HTTPError as error:
            print(f"warning: could not read the state of run {report.run_id} ({error}); retrying", file=sys.stderr, flush=True)
        if state in FINISHED_STATES:
            return dataclasses.replace(report, state=state)
        if time.monotonic() >= deadline:
            return dataclasses.replace(report, state=state, outcome=TIMED_OUT)
        time.sleep(max(0.0, min(poll_s, deadline - time.monotonic())))


def _refusal_of(error: ApiException) -> Refusal:
    """What kind of refusal kfp_server_api's error was; a connection error (status 0) is of kind OTHER."""
    status = f"{error.status} {error.reason or ''}".strip()
    return refusal(Answer.of(error.status, error.reason, error.headers, error.body)) or Refusal(kfp_answers.OTHER, status)


def finished_outcome(report: RunReport, registry_uri: str, model_name: str) -> RunReport:
    """The report of a finished run with its outcome: the exit handler's record when it succeeded, else failed."""
    if report.state != SUCCEEDED:
        return dataclasses.replace(report, outcome=FAILED)
    recorded = read_outcome(registry_uri, model_name, report.run_id)
    return dataclasses.replace(report, outcome=recorded["outcome"] if recorded else FAILED)
