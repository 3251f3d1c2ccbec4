"""A local stand-in for the few Kubernetes API calls fracdet's training launcher makes. It is NOT a cluster.

An HTTP server on 127.0.0.1, in a thread, answers the REST paths the launcher uses: create, get,
list and delete of `trainjobs.trainer.kubeflow.org` and `tfjobs.kubeflow.org`, list of pods by
label selector, and `pods/<name>/log`. Nothing here schedules, runs or restarts a pod, and no
Trainer, JobSet or Training Operator controller runs. What it does:

- It validates every TrainJob and TFJob it receives against the pinned CRD schemas
  (tests/crd_schemas.py, strictly: an unknown field fails), answering 422 Invalid with the errors
  as an API server does under strict field validation; a TrainJob also meets its CRD's CEL rule
  on the name (422 too) and the checks of Trainer v2.1's admission webhook (runtime, target jobs,
  no env in the `node` override), refused with 403 as the API server relays a webhook's denial.
- It plays the controllers' part by a scripted scenario, one step per GET of the job: it makes
  the worker pods as Trainer v2.1 + JobSet v0.10.1 or Training Operator v1.9 would name, label
  and configure them from the job (tests/kube_standin_engines.py: runtime template, trainer
  fields, pod template overrides; TF_CONFIG for a TFJob), gives them log lines, and sets the status conditions with the types,
  reasons and messages those controllers' sources set. Scenarios: `success`, `failed-worker`
  (one worker's container exits 1 with its own log), `never-finishes` (for the launcher's
  timeout), `unschedulable` (the pods stay pending, as with no GPU node free), `suspended` (a
  TrainJob held back, as a queue such as Kueue does, so no pod starts) and `deleted` (someone
  else deletes the job mid-run). Deleting a job deletes its pods.
  One more, `processes` (TFJob only), runs each pod's container command as a local process with
  the pod's env and TF_CONFIG's addresses on localhost, and derives the pods' and the job's
  status from the processes' exit codes (no restarts).
- It records every request as (verb, group, resource): the RBAC the launcher needs; `forbidden`
  ones are refused with 403, as an API server does for a service account without that rule.

What passing against it shows: the objects are valid for the pinned CRDs and the launcher
handles each status the engines report. What it cannot show: that a real cluster schedules,
networks and restarts the workers; the kind workflow runs that.
"""

from __future__ import annotations

import copy
import dataclasses
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import yaml
from crd_schemas import crd_errors
from kube_standin_engines import jobs_status, now, rfc3339_nano, tfjob_condition, tfjob_pods, trainjob_pods
from local_ports import free_ports

SCENARIOS = ("success", "failed-worker", "never-finishes", "unschedulable", "suspended", "deleted", "processes")
UNSCHEDULABLE = "0/3 nodes are available: 3 Insufficient nvidia.com/gpu. preemption: 0/3 nodes are available."
RUNTIME_NAME = "fracdet-tensorflow"
FAILING_WORKER = 1
FAILURE_LINE = "tensorflow.python.framework.errors_impl.InternalError: worker 1 ran out of GPU memory"
KINDS = {  # (group, version, plural) -> kind, as the API serves them
    ("trainer.kubeflow.org", "v1alpha1", "trainjobs"): "TrainJob",
    ("kubeflow.org", "v1", "tfjobs"): "TFJob",
}
CONTAINER = {"TrainJob": "node", "TFJob": "tensorflow"}
_CUSTOM_PATH = re.compile(r"^/apis/([^/]+)/([^/]+)/namespaces/([^/]+)/([^/]+)(?:/([^/]+))?$")
_POD_PATH = re.compile(r"^/api/v1/namespaces/([^/]+)/pods(?:/([^/]+)(/log)?)?$")
_TRAINJOB_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")  # the TrainJob CRD's CEL rule on metadata.name


class ApiError(Exception):
    """An answer other than success: the HTTP code and the Status object an API server sends."""

    def __init__(self, code: int, reason: str, message: str, causes: list[dict] | None = None) -> None:
        super().__init__(message)
        self.status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
                       "reason": reason, "code": code, "details": {"causes": causes or []}}
        self.code = code


@dataclasses.dataclass
class _Pod:
    obj: dict
    container: str
    log: list[tuple[datetime, str]] = dataclasses.field(default_factory=list)
    previous_log: list[tuple[datetime, str]] | None = None
    process: subprocess.Popen | None = None


@dataclasses.dataclass
class _Job:
    kind: str
    obj: dict
    steps: int = 0
    pods: dict[str, _Pod] = dataclasses.field(default_factory=dict)


class KubeApiStandIn:
    """The stand-in server (see the module docstring); use it as a context manager.

    Attributes:
        requests: every request, as (verb, group, resource), in order.
        created: every object a create accepted, as received.
        pods_made: every pod the stand-in made, as first made (before any status change).
        create_queries: the query parameters of every create (the launcher asks for strict field validation).
    """

    def __init__(self, scenario: str = "success", *, namespace: str = "default", runtimes: tuple[str, ...] = (RUNTIME_NAME,),
                 on_success: Callable[[dict], None] | None = None,
                 forbidden: frozenset[tuple[str, str, str]] = frozenset()) -> None:
        assert scenario in SCENARIOS, scenario
        self.scenario, self.namespace, self.runtimes, self.on_success = scenario, namespace, runtimes, on_success
        self.forbidden = forbidden  # (verb, group, resource) the service account's RBAC leaves out
        self.requests: list[tuple[str, str, str]] = []
        self.created: list[dict] = []
        self.pods_made: list[dict] = []
        self.create_queries: list[dict[str, list[str]]] = []
        self.jobs: dict[tuple[str, str, str], _Job] = {}  # (plural, namespace, name)
        self._lock = threading.Lock()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> KubeApiStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        for job in list(self.jobs.values()):
            _stop_processes(job)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def write_kubeconfig(self, path: Path) -> Path:
        """A kubeconfig whose current context is this stand-in and its namespace."""
        path.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "standin",
            "clusters": [{"name": "standin", "cluster": {"server": self.url}}],
            "users": [{"name": "standin", "user": {"token": "not-a-secret"}}],
            "contexts": [{"name": "standin", "context": {"cluster": "standin", "user": "standin", "namespace": self.namespace}}],
        }))
        return path

    def live_pods(self) -> list[dict]:
        with self._lock:
            return [pod.obj for job in self.jobs.values() for pod in job.pods.values()]

    # The REST calls, each under the lock; ApiError is the API's refusal.

    def create(self, kind: str, plural: str, namespace: str, body: dict) -> dict:
        self._check_kind(kind, plural, namespace, body)
        errors = crd_errors(body) + (_cel_errors(body) if kind == "TrainJob" else [])
        if errors:
            raise ApiError(422, "Invalid", f"{kind}.{body['apiVersion'].split('/')[0]} \"{body['metadata'].get('name')}\" is "
                           f"invalid: {'; '.join(errors)}", [{"reason": "FieldValueInvalid", "message": e} for e in errors])
        denials = self._webhook_errors(body) if kind == "TrainJob" else []
        if denials:  # Trainer's webhook returns an aggregate error: controller-runtime answers it as Denied, 403
            raise ApiError(403, "Forbidden", 'admission webhook "validator.trainjob.trainer.kubeflow.org" denied the request: '
                           + ", ".join(denials))
        key = (plural, namespace, body["metadata"]["name"])
        if key in self.jobs:
            raise ApiError(409, "AlreadyExists", f'{plural} "{key[2]}" already exists')
        self.created.append(copy.deepcopy(body))
        obj = copy.deepcopy(body)
        obj["metadata"] |= {"uid": str(uuid.uuid4()), "resourceVersion": "1", "generation": 1,
                            "creationTimestamp": now().strftime("%Y-%m-%dT%H:%M:%SZ")}
        created = tfjob_condition("Created", f"TFJob {key[2]} is created.")
        obj["status"] = {"conditions": [created]} if kind == "TFJob" else {}
        self.jobs[key] = _Job(kind, obj)
        return obj

    def get(self, plural: str, namespace: str, name: str) -> dict:
        job = self.jobs.get((plural, namespace, name))
        if job is None:
            raise ApiError(404, "NotFound", f'{plural} "{name}" not found')
        self._step(job)
        if (plural, namespace, name) not in self.jobs:
            raise ApiError(404, "NotFound", f'{plural} "{name}" not found')
        return job.obj

    def delete(self, plural: str, namespace: str, name: str) -> dict:
        job = self.jobs.pop((plural, namespace, name), None)
        if job is None:
            raise ApiError(404, "NotFound", f'{plural} "{name}" not found')
        _stop_processes(job)
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": {"name": name}}

    def list_pods(self, namespace: str, selector: str) -> dict:
        wanted = dict(part.replace("==", "=").split("=", 1) for part in selector.split(",") if part)
        items = [pod.obj for job in self.jobs.values() for pod in job.pods.values()
                 if pod.obj["metadata"]["namespace"] == namespace
                 and all(pod.obj["metadata"]["labels"].get(key) == value for key, value in wanted.items())]
        return {"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": items}

    def pod_log(self, namespace: str, name: str, query: dict[str, list[str]]) -> str:
        pod = next((pod for job in self.jobs.values() for pod in job.pods.values() if pod.obj["metadata"]["name"] == name
                    and pod.obj["metadata"]["namespace"] == namespace), None)
        if pod is None:
            raise ApiError(404, "NotFound", f'pods "{name}" not found')
        container = query.get("container", [pod.container])[0]
        if container != pod.container:
            raise ApiError(400, "BadRequest", f"container {container} is not valid for pod {name}")
        if pod.obj["status"]["phase"] == "Pending":
            raise ApiError(400, "BadRequest", f'container "{container}" in pod "{name}" is waiting to start: ContainerCreating')
        previous = _flag(query, "previous")
        if previous and pod.previous_log is None:
            raise ApiError(400, "BadRequest", f'previous terminated container "{container}" in pod "{name}" not found')
        lines = pod.previous_log if previous else pod.log
        if "sinceSeconds" in query:
            since = now() - timedelta(seconds=int(query["sinceSeconds"][0]))
            lines = [(moment, line) for moment, line in lines if moment >= since]
        if "tailLines" in query:
            lines = lines[-int(query["tailLines"][0]):]
        stamped = _flag(query, "timestamps")
        return "".join(f"{rfc3339_nano(moment)} {line}\n" if stamped else f"{line}\n" for moment, line in lines)

    # The checks an API server and Trainer's webhook make beyond the CRD's OpenAPI schema.

    def _check_kind(self, kind: str, plural: str, namespace: str, body: dict) -> None:
        if body.get("kind") != kind:
            raise ApiError(400, "BadRequest", f"the body's kind {body.get('kind')!r} does not match the resource {plural}")
        if body.get("metadata", {}).get("namespace", namespace) != namespace:
            raise ApiError(400, "BadRequest",
                           "the namespace of the provided object does not match the namespace sent on the request")

    def _webhook_errors(self, body: dict) -> list[str]:
        """What Trainer v2.1's TrainJob webhook checks: the runtime exists, the overrides name its job and containers."""
        spec, errors = body.get("spec", {}), []
        if spec.get("runtimeRef", {}).get("kind") != "TrainingRuntime" or spec["runtimeRef"].get("name") not in self.runtimes:
            errors.append("spec.runtimeRef: specified trainingRuntime must be created before the TrainJob is created: "
                          f"{spec.get('runtimeRef')}")
        for override in spec.get("podTemplateOverrides", []):
            if any(target["name"] != "node" for target in override["targetJobs"]):
                errors.append("spec.podTemplateOverrides: must not have targetJob that doesn't exist in the runtime job template")
            for container in override.get("spec", {}).get("containers", []):
                if container["name"] != "node":
                    errors.append("spec.podTemplateOverrides: must not have container that doesn't exist in the runtime job node")
                elif container.get("env"):
                    errors.append("spec.podTemplateOverrides: must not have envs for the dataset-initializer, "
                                  "model-initializer, node containers")
        return errors

    # The controllers' part.

    def _step(self, job: _Job) -> None:
        job.steps += 1
        step, kind = job.steps, job.kind
        if self.scenario == "suspended":  # Trainer's setSuspendedCondition
            job.obj["status"]["conditions"] = [{"type": "Suspended", "status": "True", "reason": "Suspended",
                                                "message": "TrainJob is suspended"}]
            return
        if step == 1:
            for pod in (trainjob_pods(job.obj) if kind == "TrainJob" else tfjob_pods(job.obj)):
                job.pods[pod["metadata"]["name"]] = _Pod(pod, CONTAINER[kind])
                self.pods_made.append(copy.deepcopy(pod))
            if self.scenario == "processes":
                _start_processes(job)
            return
        if self.scenario == "processes":
            _follow_processes(job)
            return
        if self.scenario == "unschedulable":
            for pod in job.pods.values():
                pod.obj["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                                    "message": UNSCHEDULABLE}]
            return
        if step == 3 and self.scenario == "deleted":
            self.jobs.pop(next(key for key, value in self.jobs.items() if value is job))
            return
        if step == 3 and self.scenario == "failed-worker":
            self._fail_worker(job)
        if step == 4 and self.scenario in ("success", "failed-worker"):
            self._finish(job)
            return
        for index, pod in enumerate(sorted(job.pods.values(), key=_pod_index)):
            if pod.obj["status"]["phase"] != "Failed":
                _run(pod, f"worker {index}: epoch {step - 1} done")
        _set_running(job)

    def _fail_worker(self, job: _Job) -> None:
        pod = sorted(job.pods.values(), key=_pod_index)[FAILING_WORKER]
        _run(pod, "Traceback (most recent call last):")
        _run(pod, FAILURE_LINE)
        ended = {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": now().strftime("%Y-%m-%dT%H:%M:%SZ")}}
        status = pod.obj["status"]["containerStatuses"][0]
        if job.kind == "TrainJob":  # restartPolicy Never: the pod fails for good
            pod.obj["status"]["phase"] = "Failed"
            status |= {"state": ended, "ready": False}
        else:  # restartPolicy OnFailure: the kubelet restarts the container in place
            pod.previous_log, pod.log = pod.log, [(now(), "worker restarted: waiting for the cluster")]
            status |= {"lastState": ended, "restartCount": status["restartCount"] + 1}

    def _finish(self, job: _Job) -> None:
        kind, metadata = job.kind, job.obj["metadata"]
        if self.scenario == "failed-worker":
            job.obj["status"].setdefault("conditions", []).append(
                {"type": "Failed", "status": "True", "reason": "ReachedMaxRestarts",
                 "message": "jobset failed due to reaching max number of restarts"} if kind == "TrainJob" else
                tfjob_condition("Failed",
                                 f"Job {metadata['name']} has failed because it has reached the specified backoff limit"))
            return
        for pod in job.pods.values():
            _run(pod, f"{pod.obj['metadata']['name']}: training done")
            pod.obj["status"]["phase"] = "Succeeded"
            pod.obj["status"]["containerStatuses"][0] |= {"ready": False, "state": {"terminated": {
                "exitCode": 0, "reason": "Completed", "finishedAt": now().strftime("%Y-%m-%dT%H:%M:%SZ")}}}
        if self.on_success is not None:
            self.on_success(job.obj)
        if kind == "TrainJob":
            job.obj["status"] = {"conditions": [{"type": "Complete", "status": "True", "reason": "AllJobsCompleted",
                                                 "message": "jobset completed successfully"}],
                                 "jobsStatus": [jobs_status(succeeded=len(job.pods))]}
        else:
            for condition in job.obj["status"]["conditions"]:
                if condition["type"] == "Running":
                    condition["status"] = "False"
            job.obj["status"]["conditions"].append(
                tfjob_condition("Succeeded", f"TFJob {metadata['namespace']}/{metadata['name']} successfully completed."))


def _cel_errors(body: dict) -> list[str]:
    """The TrainJob CRD's CEL rules on its name, which the OpenAPI schema does not carry."""
    name = body["metadata"]["name"]
    return [] if _TRAINJOB_NAME.match(name) and len(name) <= 63 else ["metadata.name must match RFC 1035 DNS label format"]


def _run(pod: _Pod, line: str) -> None:
    """The pod running (started if it was pending), with `line` added to its log."""
    if pod.obj["status"]["phase"] == "Pending":
        pod.obj["status"]["phase"] = "Running"
        pod.obj["status"]["containerStatuses"][0] |= {"ready": True, "state": {"running": {
            "startedAt": now().strftime("%Y-%m-%dT%H:%M:%SZ")}}}
    pod.log.append((now(), line))


def _start_processes(job: _Job) -> None:
    """Each TFJob pod's container command as a local process: the pod's env, TF_CONFIG's cluster on localhost ports."""
    assert job.kind == "TFJob", "the processes scenario plays the Training Operator, which injects TF_CONFIG"
    pods = sorted(job.pods.values(), key=_pod_index)
    ports = iter(free_ports(len(pods)))
    cluster: dict[str, list[str]] = {}
    for pod in pods:
        labels = pod.obj["metadata"]["labels"]
        cluster.setdefault(labels["training.kubeflow.org/replica-type"], []).append(f"localhost:{next(ports)}")
    for pod in pods:
        container = pod.obj["spec"]["containers"][0]
        env = {variable["name"]: variable["value"] for variable in container.get("env", []) if "value" in variable}
        tf_config = json.loads(env["TF_CONFIG"]) | {"cluster": cluster}
        command = [str(Path(sys.executable).with_name(container["command"][0])), *container["command"][1:],
                   *container.get("args", [])]
        pod.process = subprocess.Popen(command, env={**os.environ, **env, "TF_CONFIG": json.dumps(tf_config),
                                                     "CUDA_VISIBLE_DEVICES": "-1"},
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=_collect_output, args=(pod,), daemon=True).start()
        _run(pod, f"started: {' '.join(command[1:3])}")


def _collect_output(pod: _Pod) -> None:
    for line in pod.process.stdout:
        pod.log.append((now(), line.rstrip("\n")))


def _follow_processes(job: _Job) -> None:
    """Each pod's phase from its process; the job Succeeded when all exited 0, Failed when one exited otherwise."""
    metadata = job.obj["metadata"]
    codes = []
    for pod in job.pods.values():
        code = pod.process.poll()
        codes.append(code)
        if code is not None and pod.obj["status"]["phase"] == "Running":
            pod.obj["status"]["phase"] = "Succeeded" if code == 0 else "Failed"
            pod.obj["status"]["containerStatuses"][0] |= {"ready": False, "state": {"terminated": {
                "exitCode": code, "reason": "Completed" if code == 0 else "Error",
                "finishedAt": now().strftime("%Y-%m-%dT%H:%M:%SZ")}}}
    conditions, subject = job.obj["status"]["conditions"], f"TFJob {metadata['namespace']}/{metadata['name']}"
    if any(condition["type"] in ("Failed", "Succeeded") for condition in conditions):
        return
    if any(code not in (None, 0) for code in codes):
        conditions.append(tfjob_condition("Failed", f"{subject} has failed because a replica failed."))
    elif all(code == 0 for code in codes):
        conditions.append(tfjob_condition("Succeeded", f"{subject} successfully completed."))
    else:
        _set_running(job)


def _stop_processes(job: _Job) -> None:
    for pod in job.pods.values():
        if pod.process is not None and pod.process.poll() is None:
            pod.process.kill()
            pod.process.wait()


def _set_running(job: _Job) -> None:
    if job.kind == "TrainJob":
        job.obj["status"]["jobsStatus"] = [jobs_status(active=len(job.pods))]
    elif not any(condition["type"] == "Running" for condition in job.obj["status"]["conditions"]):
        metadata = job.obj["metadata"]
        message = f"TFJob {metadata['namespace']}/{metadata['name']} is running."
        job.obj["status"]["conditions"].append(tfjob_condition("Running", message))


def _pod_index(pod: _Pod) -> tuple[int, int]:
    labels = pod.obj["metadata"]["labels"]
    if "batch.kubernetes.io/job-completion-index" in labels:
        return 0, int(labels["batch.kubernetes.io/job-completion-index"])
    role = 0 if labels["training.kubeflow.org/replica-type"] == "chief" else 1
    return role, int(labels["training.kubeflow.org/replica-index"])


def _flag(query: dict[str, list[str]], name: str) -> bool:
    """A boolean query parameter as the API server parses it (Go's strconv.ParseBool; the Python client sends `True`)."""
    return query.get(name, ["false"])[0] in ("1", "t", "T", "TRUE", "true", "True")


def _handler_for(standin: KubeApiStandIn) -> type[http.server.BaseHTTPRequestHandler]:
    """The request handler: routes a REST call to the stand-in, records it, and answers JSON (or a log's text)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # http.server dispatches on the method's name
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

        def _serve(self, method: str) -> None:
            url = urlparse(self.path)
            query = parse_qs(url.query)
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            try:
                with standin._lock:
                    answer = self._route(method, url.path, query, body)
                code = 201 if method == "POST" else 200
            except ApiError as error:
                answer, code = error.status, error.code
            data = answer.encode() if isinstance(answer, str) else json.dumps(answer).encode()
            self.send_response(code)
            self.send_header("Content-Type", "text/plain" if isinstance(answer, str) else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _record(self, verb: str, group: str, resource: str, namespace: str) -> None:
            standin.requests.append((verb, group, resource))
            if (verb, group, resource) in standin.forbidden:
                plural, _, sub = resource.partition("/")
                user = f"system:serviceaccount:{namespace}:pipeline-runner"
                raise ApiError(403, "Forbidden", f'{plural} is forbidden: User "{user}" cannot {verb} resource "{plural}"'
                               f'{f" subresource {sub!r}" if sub else ""} in API group "{group}" in the namespace "{namespace}"')

        def _route(self, method: str, path: str, query: dict, body: dict | None) -> dict | str:
            if match := _POD_PATH.match(path):
                namespace, name, log = match.groups()
                if method == "GET" and name and log:
                    self._record("get", "", "pods/log", namespace)
                    return standin.pod_log(namespace, name, query)
                if method == "GET" and not name:
                    self._record("list", "", "pods", namespace)
                    return standin.list_pods(namespace, query.get("labelSelector", [""])[0])
            if match := _CUSTOM_PATH.match(path):
                group, version, namespace, plural, name = match.groups()
                verb = {"POST": "create", "DELETE": "delete"}.get(method, "get" if name else "list")
                self._record(verb, group, plural, namespace)
                kind = KINDS.get((group, version, plural))
                if kind is not None:
                    return self._custom(verb, kind, plural, namespace, name, query, body)
            raise ApiError(404, "NotFound", "the server could not find the requested resource")

        def _custom(self, verb: str, kind: str, plural: str, namespace: str, name: str | None, query: dict,
                    body: dict | None) -> dict:
            if verb == "create":
                standin.create_queries.append(query)
                return standin.create(kind, plural, namespace, body or {})
            if verb == "get":
                return standin.get(plural, namespace, name)
            if verb == "delete":
                return standin.delete(plural, namespace, name)
            return {"apiVersion": "v1", "kind": f"{kind}List", "metadata": {},
                    "items": [job.obj for (p, ns, _), job in standin.jobs.items() if p == plural and ns == namespace]}

        def log_message(self, *args: object) -> None:
            pass

    return Handler
