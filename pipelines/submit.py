"""Submit a compiled pipeline to a Kubeflow Pipelines backend, wait for it, and read its outcome.

CI needs to tell three endings apart: the model was blessed and registered, the run succeeded but
the model was not blessed, and the run failed (or did not finish in time). A run's state gives
only succeeded or failed; the third answer comes from the `outcome.json` that the run's exit
handler wrote under the registry (`fracdet_components.run_records`).
"""

from __future__ import annotations

import dataclasses
import sys
import time
import warnings

from fracdet_components.run_records import FAILED, read_outcome
from fracdet_core.errors import FracdetError

SUCCEEDED = "SUCCEEDED"
FINISHED_STATES = ("SUCCEEDED", "FAILED", "CANCELED", "SKIPPED")  # kfp_server_api V2beta1RuntimeState
SUBMITTED = "submitted"  # outcome of a run not waited for
TIMED_OUT = "timed_out"  # outcome of a run still going when the wait ended


class SubmitError(FracdetError):
    """The backend could not be reached, or refused the run; the message says which."""


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


def connect(host: str):  # noqa: ANN201 - kfp.Client, imported lazily
    """A kfp.Client for `host` (the KFP API, e.g. http://localhost:8080 through a port-forward).

    Raises:
        SubmitError: the backend does not answer its health check.
    """
    import kfp
    from kfp_server_api import ApiException
    from urllib3.exceptions import HTTPError

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="This client only works with Kubeflow Pipeline", category=FutureWarning)
        try:
            return kfp.Client(host=host)
        except (ApiException, HTTPError, OSError, ValueError) as error:  # TimeoutError (an OSError): health check gave up
            raise SubmitError(f"cannot reach the Kubeflow Pipelines API at {host}: {error}") from error


def submit(
    client, host: str, pipeline_file: str, arguments: dict[str, object], *, experiment: str, run_name: str | None,  # noqa: ANN001
    service_account: str | None, namespace: str | None,
) -> RunReport:
    """Create the run; its report has the state the backend gave it at creation.

    Raises:
        SubmitError: the backend refused the experiment or the run.
    """
    from kfp_server_api import ApiException
    from urllib3.exceptions import HTTPError

    try:
        result = client.create_run_from_pipeline_package(
            pipeline_file, arguments=arguments, run_name=run_name, experiment_name=experiment, namespace=namespace,
            service_account=service_account,
        )
    except ApiException as error:
        raise SubmitError(f"the backend refused the run: {error.status} {error.reason}: {(error.body or '').strip()}") from error
    except HTTPError as error:
        raise SubmitError(f"lost the Kubeflow Pipelines API at {host} while submitting: {error}") from error
    state = result.run_info.state or "PENDING"
    return RunReport(result.run_id, str(state), SUBMITTED, run_url(host, result.run_id))


def run_url(host: str, run_id: str) -> str:
    """The run's page in the dashboard served at `host` (the UI and the API share it)."""
    return f"{host.rstrip('/')}/#/runs/details/{run_id}"


def wait(client, report: RunReport, timeout_s: float, poll_s: float = 15.0) -> RunReport:  # noqa: ANN001 - kfp.Client
    """Poll the run until it finishes or `timeout_s` passes; the report then has its final (or last) state.

    Errors while polling (an API restart, a dropped connection) are retried until the timeout:
    the run goes on regardless, and a CI job should not fail for a blip of the API.
    """
    from kfp_server_api import ApiException
    from urllib3.exceptions import HTTPError

    deadline = time.monotonic() + timeout_s
    state = report.state
    while True:
        try:
            state = str(client.get_run(report.run_id).state or state)
        except (ApiException, HTTPError) as error:
            print(f"warning: could not read the state of run {report.run_id} ({error}); retrying", file=sys.stderr, flush=True)
        if state in FINISHED_STATES:
            return dataclasses.replace(report, state=state)
        if time.monotonic() >= deadline:
            return dataclasses.replace(report, state=state, outcome=TIMED_OUT)
        time.sleep(max(0.0, min(poll_s, deadline - time.monotonic())))


def finished_outcome(report: RunReport, registry_uri: str, model_name: str) -> RunReport:
    """The report of a finished run with its outcome: the exit handler's record when it succeeded, else failed."""
    if report.state != SUCCEEDED:
        return dataclasses.replace(report, outcome=FAILED)
    recorded = read_outcome(registry_uri, model_name, report.run_id)
    return dataclasses.replace(report, outcome=recorded["outcome"] if recorded else FAILED)
