"""Run a multi-worker training job through the Kubernetes API: create or adopt it, follow it, delete it.

Not a component: the launcher that the `train_on_workers` component and `fracdet train-job`
share. KFP v2 has no resource op, so the task itself creates the custom resource and waits;
the cluster's engine (Trainer or the Training Operator) starts, restarts and cleans up the pods.

The job's name is fixed by the caller, so a retried launcher pod adopts the job its first try
started rather than starting a second one; it adopts only a job whose spec digest is its own.
Whatever ends the wait (success, a failed worker, the timeout, an error, a cancelled run's
SIGTERM), the job is deleted, and its pods with it. The API calls it makes are the RBAC the
launcher's service account needs: create, get and delete of the job kind, list of pods, get of
pods/log.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import json
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from fracdet_components.worker_jobs import SPEC_DIGEST_ANNOTATION, WorkerJob, job_object, pod_selector
from fracdet_core.errors import ConfigError, FracdetError

TAIL_LINES = 40  # of a failed worker's log, in the error
LOG_OVERLAP_S = 5  # each log read reaches back this far over the last one; repeated lines are dropped
REQUEST_TIMEOUT_S = 60
SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
_UNKNOWN_TIME = "~"  # sorts after every RFC 3339 time: a failure without a time is not taken for the first
Log = Callable[[str], None]


class WorkerJobError(FracdetError):
    """The training job could not be created, or it ended without a model."""


class WorkerFailedError(WorkerJobError):
    """A worker failed and the engine gave the job up; `worker` is its pod, `last_lines` its own last log lines."""

    def __init__(self, message: str, worker: str | None, last_lines: list[str]) -> None:
        super().__init__(message)
        self.worker = worker
        self.last_lines = last_lines


class WorkerJobTimeoutError(WorkerJobError):
    """The job did not finish within the launcher's bound."""


@dataclasses.dataclass(frozen=True)
class WorkerFailure:
    """A worker pod seen failed: when its container ended, with which exit code, and its last lines."""

    pod: str
    finished_at: str
    exit_code: int | None
    last_lines: list[str]


def cluster_api_client() -> tuple[client.ApiClient, str]:
    """A client of the cluster this process runs in (or its kubeconfig's), and the namespace to use.

    Raises:
        ConfigError: neither an in-cluster service account nor a kubeconfig was found.
    """
    configuration = client.Configuration()
    try:
        config.load_incluster_config(client_configuration=configuration)
        return client.ApiClient(configuration), SERVICE_ACCOUNT_NAMESPACE.read_text().strip()
    except config.ConfigException:
        pass
    # Read KUBECONFIG now: the client reads it once, when it is first imported.
    kubeconfig = os.environ.get("KUBECONFIG", "~/.kube/config")
    try:
        config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
        _, context = config.list_kube_config_contexts(config_file=kubeconfig)
    except (config.ConfigException, OSError) as error:
        raise ConfigError(
            "training on several workers launches a job through the Kubernetes API, and this process is neither in a "
            f"Kubernetes pod nor has a kubeconfig ({error}); run the pipeline on a cluster, or train with 1 worker"
        ) from None
    return client.ApiClient(configuration), context.get("context", {}).get("namespace") or "default"


def run_worker_job(job: WorkerJob, api_client: client.ApiClient, *, timeout_s: float, poll_s: float = 10.0,
                   log: Log = print) -> None:
    """Create (or adopt) `job`, stream its workers' logs into `log`, wait for it to end, and delete it.

    Raises:
        WorkerFailedError: the engine marked the job failed; names the first worker that failed, with its log's end.
        WorkerJobTimeoutError: the job ran longer than `timeout_s`; says which pods were still running.
        WorkerJobError: the API refused the job, or the job vanished while running.
        SystemExit: the process got SIGTERM (a cancelled run, an evicted pod), once the job is deleted.
    """
    jobs = client.CustomObjectsApi(api_client)
    _create_or_adopt(job, jobs, log)
    try:
        with _sigterm_raises():
            _wait(job, jobs, _Workers(job, client.CoreV1Api(api_client), log), timeout_s=timeout_s, poll_s=poll_s)
    except BaseException:
        _delete(job, jobs, log, quiet=True)
        raise
    _delete(job, jobs, log, quiet=False)


def _create_or_adopt(job: WorkerJob, jobs: client.CustomObjectsApi, log: Log) -> None:
    body = job_object(job)
    resource = job.resource
    try:
        jobs.create_namespaced_custom_object(resource.group, resource.version, job.namespace, resource.plural, body,
                                             field_validation="Strict", _request_timeout=REQUEST_TIMEOUT_S)
        log(f"created {resource.kind} {job.name} in namespace {job.namespace}: {job.workers} workers")
        return
    except ApiException as error:
        if error.status != 409:
            raise _api_error(job, "create", error) from None
    existing = _get(job, jobs)
    if existing is None:  # deleted since: start it afresh
        _create_or_adopt(job, jobs, log)
        return
    digest = body["metadata"]["annotations"][SPEC_DIGEST_ANNOTATION]
    if (existing["metadata"].get("annotations") or {}).get(SPEC_DIGEST_ANNOTATION) != digest:
        raise WorkerJobError(f"a {resource.kind} named {job.name} already exists in namespace {job.namespace} and is not the job "
                             "this launcher would start; delete it (kubectl delete "
                             f"{resource.plural}.{resource.group} {job.name} -n {job.namespace}) or choose another name")
    log(f"adopted {resource.kind} {job.name} in namespace {job.namespace}, which an earlier try of this task started")


def _wait(job: WorkerJob, jobs: client.CustomObjectsApi, workers: _Workers, *, timeout_s: float, poll_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        current = _get(job, jobs)
        if current is None:
            raise WorkerJobError(f"{job.resource.kind} {job.name} in namespace {job.namespace} was deleted while it ran, "
                                 "by someone other than this launcher")
        pods = workers.follow()
        state, message = job_state(job.api, current)
        if state == "succeeded":
            return
        if state == "failed":
            raise workers.failure_error(message)
        left = deadline - time.monotonic()
        if left <= 0:
            raise WorkerJobTimeoutError(
                f"{job.resource.kind} {job.name} in namespace {job.namespace} did not finish within {timeout_s:g} s; "
                f"still running: {_still_running(pods, current)}; the job is deleted")
        time.sleep(min(poll_s, left))


def job_state(api: str, job: dict) -> tuple[str, str]:
    """`running`, `succeeded` or `failed` from the engine's conditions, with the condition's reason and message.

    Trainer v2.1 copies its JobSet's `Completed` / `Failed` conditions as `Complete` / `Failed`; the
    Training Operator sets `Succeeded` / `Failed`.
    """
    done = "Complete" if api == "trainjob" else "Succeeded"
    for condition in job.get("status", {}).get("conditions", []):
        if condition.get("status") != "True":
            continue
        reason = f"{condition.get('reason', '')}: {condition.get('message', '')}".strip(": ")
        if condition.get("type") == "Failed":
            return "failed", reason
        if condition.get("type") == done:
            return "succeeded", reason
    return "running", ""


class _Workers:
    """The job's worker pods, followed: their new log lines streamed, their failures kept with their last lines."""

    def __init__(self, job: WorkerJob, core: client.CoreV1Api, log: Log) -> None:
        self._job, self._core, self._log = job, core, log
        self._last_read: dict[str, tuple[float, set[str]]] = {}
        self._recent: dict[str, collections.deque[str]] = {}
        self.failures: dict[str, WorkerFailure] = {}

    def follow(self) -> list[dict]:
        """Stream what every started pod logged since the last call; note each newly failed pod. Returns the pods."""
        try:
            pods = self._core.list_namespaced_pod(self._job.namespace, label_selector=pod_selector(self._job),
                                                  _request_timeout=REQUEST_TIMEOUT_S).to_dict()["items"]
        except ApiException as error:
            raise _api_error(self._job, "list the pods of", error) from None
        for pod in sorted(pods, key=lambda pod: pod["metadata"]["name"]):
            if pod["status"].get("phase") != "Pending":
                self._stream(pod["metadata"]["name"])
            failure = _container_failure(pod, self._job.resource.container)
            if failure and pod["metadata"]["name"] not in self.failures:
                self.failures[pod["metadata"]["name"]] = self._failure(pod["metadata"]["name"], *failure)
        return pods

    def _stream(self, pod: str) -> None:
        now = time.monotonic()
        last = self._last_read.get(pod)
        since = None if last is None else math.ceil(now - last[0]) + LOG_OVERLAP_S
        text = self._read_log(pod, timestamps=True, since_seconds=since)
        if text is None:
            return
        lines = text.splitlines()
        seen = last[1] if last else set()
        recent = self._recent.setdefault(pod, collections.deque(maxlen=TAIL_LINES))
        for line in lines:
            if line not in seen:
                message = _without_timestamp(line)
                recent.append(message)
                self._log(f"[{pod}] {message}")
        self._last_read[pod] = (now, set(lines))

    def _failure(self, pod: str, finished_at: str, exit_code: int | None, previous: bool) -> WorkerFailure:
        # Timestamped, as every read: the client would parse a log that happens to be one JSON value.
        text = self._read_log(pod, tail_lines=TAIL_LINES, previous=previous, timestamps=True)
        lines = list(self._recent.get(pod, ())) if text is None else [_without_timestamp(line) for line in text.splitlines()]
        return WorkerFailure(pod, finished_at, exit_code, lines)

    def _read_log(self, pod: str, **options: object) -> str | None:
        try:
            return self._core.read_namespaced_pod_log(pod, self._job.namespace, container=self._job.resource.container,
                                                      _request_timeout=REQUEST_TIMEOUT_S, **options)
        except ApiException as error:
            if error.status in (400, 404):  # not started yet, restarted without a previous log, or gone
                return None
            raise _api_error(self._job, f"read the log of pod {pod} of", error) from None

    def failure_error(self, reason: str) -> WorkerFailedError:
        """The error for a failed job: the first worker to fail, with its own last log lines.

        Call it after a `follow` that came after the read of the job's failed state, so every failure is noted.
        """
        kind, name, namespace = self._job.resource.kind, self._job.name, self._job.namespace
        head = f"{kind} {name} in namespace {namespace} failed ({reason or 'no reason given'})"
        if not self.failures:
            return WorkerFailedError(f"{head}; no worker pod was seen failing. The job is deleted.", None, [])
        first = min(self.failures.values(), key=lambda failure: failure.finished_at)
        code = f"exit code {first.exit_code}" if first.exit_code is not None else "no exit code"
        tail = "\n".join(f"  {line}" for line in first.last_lines) or "  (its log is empty)"
        return WorkerFailedError(f"{head}; the first worker to fail was pod {first.pod} ({code}). Its last lines:\n{tail}\n"
                                 "The job is deleted.", first.pod, first.last_lines)


def _container_failure(pod: dict, container: str) -> tuple[str, int | None, bool] | None:
    """(finished at, exit code, whether the log is the previous container's) when the pod's worker container failed.

    A worker with restartPolicy Never fails for good (phase Failed); one with OnFailure (a TFJob's)
    is restarted in place, so its failed run shows as the container's last state. Other containers
    (a sidecar injected all the same) are not the worker's.
    """
    for status in pod["status"].get("container_statuses") or []:
        if status.get("name") != container:
            continue
        for state, previous in ((status.get("state") or {}, False), (status.get("last_state") or {}, True)):
            ended = state.get("terminated")
            if ended and ended.get("exit_code") != 0:
                return _timestamp(ended.get("finished_at")), ended.get("exit_code"), previous
    if pod["status"].get("phase") == "Failed":
        return _UNKNOWN_TIME, None, False
    return None


def _without_timestamp(line: str) -> str:
    """A log line as the worker wrote it: the API puts an RFC 3339 time and a space before it when asked."""
    return line.partition(" ")[2]


def _timestamp(moment: object) -> str:
    """A sortable UTC time: the API's RFC 3339 seconds, as the client parses them or as text."""
    if moment is None:
        return _UNKNOWN_TIME
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if hasattr(moment, "strftime") else str(moment)


def _still_running(pods: list[dict], job: dict) -> str:
    """The pods not yet ended, each with its phase (and why the scheduler left it pending); else the job's conditions."""
    phases = []
    for pod in pods:
        phase = pod["status"].get("phase")
        if phase in ("Pending", "Running"):
            unscheduled = [condition.get("message") for condition in pod["status"].get("conditions") or []
                           if condition.get("type") == "PodScheduled" and condition.get("status") == "False"]
            phases.append(f"pod {pod['metadata']['name']} ({phase}{': ' + unscheduled[0] if unscheduled else ''})")
    if phases:
        return ", ".join(sorted(phases))
    conditions = [f"{condition.get('type')}={condition.get('status')} {condition.get('reason', '')}".strip()
                  for condition in job.get("status", {}).get("conditions", [])]
    return "no worker pod; the job's conditions: " + (", ".join(conditions) or "none yet")


def _get(job: WorkerJob, jobs: client.CustomObjectsApi) -> dict | None:
    resource = job.resource
    try:
        return jobs.get_namespaced_custom_object(resource.group, resource.version, job.namespace, resource.plural, job.name,
                                                 _request_timeout=REQUEST_TIMEOUT_S)
    except ApiException as error:
        if error.status == 404:
            return None
        raise _api_error(job, "read", error) from None


def _delete(job: WorkerJob, jobs: client.CustomObjectsApi, log: Log, *, quiet: bool) -> None:
    """Delete the job and, through their owner references, its pods; `quiet` logs a failure rather than raising it."""
    resource = job.resource
    try:
        jobs.delete_namespaced_custom_object(resource.group, resource.version, job.namespace, resource.plural, job.name,
                                             propagation_policy="Background", _request_timeout=REQUEST_TIMEOUT_S)
        log(f"deleted {resource.kind} {job.name}")
    except ApiException as error:
        if error.status == 404:
            return
        if not quiet:
            raise _api_error(job, "delete", error) from None
        log(f"could not delete {resource.kind} {job.name} in namespace {job.namespace}: {error.status} {error.reason}")


def _api_error(job: WorkerJob, action: str, error: ApiException) -> WorkerJobError:
    resource = job.resource
    what = f"{action} {resource.kind} {job.name} in namespace {job.namespace}"
    if error.status == 403 and "admission webhook" in _api_message(error):
        return WorkerJobError(f"the cluster refused to {what}: {_api_message(error)}")
    if error.status == 403:
        return WorkerJobError(f"not allowed to {what}: {_api_message(error)} (a missing RBAC rule: the service account "
                              "needs those of the docs' 'Training on several machines')")
    if error.status == 404 and action == "create":
        engine = "Kubeflow Trainer" if job.api == "trainjob" else "the Training Operator"
        return WorkerJobError(f"cannot {what}: {_api_message(error)} (no namespace {job.namespace}, or the cluster serves no "
                              f"{resource.plural}.{resource.group}: is {engine} installed?)")
    return WorkerJobError(f"cannot {what}: {error.status} {error.reason}: {_api_message(error)}")


def _api_message(error: ApiException) -> str:
    try:
        status = json.loads(error.body or "{}")
    except ValueError:
        return str(error.body)
    message = status.get("message", "")
    causes = [f"{cause['field']}: {cause.get('message', '')}" if cause.get("field") else cause.get("message", "")
              for cause in (status.get("details") or {}).get("causes", [])]
    return "; ".join([message, *(cause for cause in causes if cause and cause not in message)])


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """Turn SIGTERM (a cancelled run, an evicted pod) into SystemExit, so the job is deleted on the way out."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def leave(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, leave)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
