"""The training job that runs `fracdet train` on several workers: a Trainer TrainJob or a Training Operator TFJob.

Not a component: the object the launcher sends to the Kubernetes API, built from plain values
(Kubernetes JSON for the pod settings, as a KFP `TaskConfig` carries them), so the KFP component
and `fracdet train-job` build the same object. Two engines, one shape of job:

- `trainjob` (Kubeflow Trainer v2.1, `trainer.kubeflow.org/v1alpha1`): `trainer.numNodes`
  indexed pods of the `node` job of the TrainingRuntime `fracdet-tensorflow`, which fracdet's
  manifests ship; the pod settings go in `trainer` (resources, env) and in a
  `podTemplateOverrides` entry for the `node` job (scheduling, volumes), since Trainer refuses
  env for the `node` container there. The worker entrypoint builds `TF_CONFIG` from the pod's index.
- `tfjob` (Training Operator v1.9, `kubeflow.org/v1`): one `Chief` and N-1 `Worker` replicas whose
  container the operator requires to be named `tensorflow`; the operator injects `TF_CONFIG`.
  `cleanPodPolicy: None` keeps a failed worker's pod, and its log, until the launcher has read it
  and deleted the job (which deletes the pods). With a Chief the operator counts the job done when
  the chief exits; `successPolicy: AllWorkers` says the intent, all workers finishing together.

Every worker gets a memory-backed `/dev/shm`: KFP's driver does not forward a task's emptyDir
volumes to `TaskConfig` (its `k8s.go`: "EmptyDirMounts don't apply for passthrough").
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Mapping, Sequence

from fracdet_components.worker_cluster import DEFAULT_WORKER_PORT
from fracdet_core.errors import ConfigError

RUNTIME_NAME = "fracdet-tensorflow"
WORKER_COMMAND = ("fracdet", "train-worker")
SHM_MOUNT = "/dev/shm"
SHM_VOLUME = "dshm"
DEFAULT_SHM_SIZE = "4Gi"
WORKERS_ENV = "FRACDET_WORKERS"
SPEC_DIGEST_ANNOTATION = "fracdet/spec-sha256"  # a retried launcher adopts a job only if it is the one it would send
LABELS = {"app.kubernetes.io/managed-by": "fracdet", "app.kubernetes.io/component": "train-workers"}
ISTIO_OFF = {"sidecar.istio.io/inject": "false"}  # a sidecar keeps a finished worker's pod running
TRAINJOB_NODE = "node"  # Trainer's name for the trainer job of a runtime and its container
TFJOB_CONTAINER = "tensorflow"  # the container name the Training Operator requires
TFJOB_BACKOFF_LIMIT = 3  # as the runtime's JobSet failurePolicy.maxRestarts
# JobSet names a pod `{name}-node-0-{index}-{5 chars}`, which must stay a 63-character DNS label.
MAX_NAME_LENGTH = 40
_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


@dataclasses.dataclass(frozen=True)
class JobApi:
    """Where a job kind lives in the Kubernetes API, and how its pods are found and named."""

    group: str
    version: str
    plural: str
    kind: str
    pod_selector_label: str
    container: str


JOB_APIS = {
    "trainjob": JobApi("trainer.kubeflow.org", "v1alpha1", "trainjobs", "TrainJob", "jobset.sigs.k8s.io/jobset-name",
                       TRAINJOB_NODE),
    "tfjob": JobApi("kubeflow.org", "v1", "tfjobs", "TFJob", "training.kubeflow.org/job-name", TFJOB_CONTAINER),
}
APIS = tuple(JOB_APIS)  # the engines a job can run on, as the compile option and `fracdet train-job` name them


@dataclasses.dataclass(frozen=True)
class WorkerJob:
    """One multi-worker training job: what runs, on how many workers, with which pod settings.

    Attributes:
        api: `trainjob` or `tfjob`.
        name: the job's name: a DNS label of at most 40 characters, so every pod name derived from it fits.
        namespace: where the job runs; a TrainJob's TrainingRuntime must be in the same namespace.
        workers: pods that train together, 2 or more (worker 0 is the chief).
        image: the container image of every worker (the GPU image on a GPU cluster).
        train_args: the `fracdet train` options each worker runs with.
        resources: each worker's container resources (`{"limits": {...}, "requests": {...}}`).
        env: environment variables for every worker, as Kubernetes EnvVar objects.
        node_selector, tolerations, affinity: where the workers' pods may run.
        volumes, volume_mounts: volumes of every worker pod and their mounts in the worker container.
        shm_size: the size of each worker's memory-backed /dev/shm, unless `volume_mounts` mount one.
    """

    api: str
    name: str
    namespace: str
    workers: int
    image: str
    train_args: tuple[str, ...]
    resources: Mapping[str, object] | None = None
    env: tuple[Mapping[str, object], ...] = ()
    node_selector: Mapping[str, str] | None = None
    tolerations: tuple[Mapping[str, object], ...] = ()
    affinity: Mapping[str, object] | None = None
    volumes: tuple[Mapping[str, object], ...] = ()
    volume_mounts: tuple[Mapping[str, object], ...] = ()
    shm_size: str = DEFAULT_SHM_SIZE

    def __post_init__(self) -> None:
        if self.api not in APIS:
            raise ConfigError(f"the training job API must be one of {', '.join(APIS)}, got {self.api!r}")
        check_job_name(self.name)
        if not self.namespace:
            raise ConfigError("a training job needs a namespace")
        if self.workers < 2:
            raise ConfigError(f"a multi-worker training job needs 2 or more workers, got {self.workers}")
        if not self.image:
            raise ConfigError("a training job needs the workers' container image")
        if any(variable.get("name") == WORKERS_ENV for variable in self.env):
            raise ConfigError(f"{WORKERS_ENV} is the launcher's to set (the number of workers), not the task's")
        _check_volumes(self.volumes, self.volume_mounts)

    @property
    def resource(self) -> JobApi:
        """Where the job kind lives in the API, and how its pods are found."""
        return JOB_APIS[self.api]


def check_job_name(name: str) -> None:
    """Refuse a name that is no DNS label or too long for the pod names the engines derive from it.

    Raises:
        ConfigError: naming the bad name and the rule.
    """
    if not _DNS_LABEL.match(name) or len(name) > MAX_NAME_LENGTH:
        raise ConfigError(f"training job name {name!r} must be at most {MAX_NAME_LENGTH} lower-case letters, digits and "
                          "'-', starting with a letter and ending with a letter or digit")


def job_name(seed: str) -> str:
    """A job name that is the same whenever `seed` is: a retried launcher finds the job its first try started."""
    return "fracdet-train-" + hashlib.sha256(seed.encode()).hexdigest()[:12]


def pod_selector(job: WorkerJob) -> str:
    """The label selector of the job's worker pods."""
    return f"{job.resource.pod_selector_label}={job.name}"


def job_object(job: WorkerJob) -> dict:
    """The TrainJob or TFJob to create, with the digest of its spec in an annotation."""
    spec = _trainjob_spec(job) if job.api == "trainjob" else _tfjob_spec(job)
    metadata = {"name": job.name, "namespace": job.namespace, "labels": dict(LABELS),
                "annotations": {SPEC_DIGEST_ANNOTATION: spec_digest(spec)}}
    resource = job.resource
    return {"apiVersion": f"{resource.group}/{resource.version}", "kind": resource.kind, "metadata": metadata, "spec": spec}


def spec_digest(spec: Mapping[str, object]) -> str:
    """The sha256 of a job spec's canonical JSON."""
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def _trainjob_spec(job: WorkerJob) -> dict:
    trainer = {"image": job.image, "command": list(WORKER_COMMAND), "args": list(job.train_args), "numNodes": job.workers,
               "env": _env(job)}
    if job.resources:
        trainer["resourcesPerNode"] = dict(job.resources)
    volumes, mounts = _volumes_with_shm(job)
    override = _present({"nodeSelector": job.node_selector, "tolerations": job.tolerations, "affinity": job.affinity})
    override |= {"volumes": volumes, "containers": [{"name": TRAINJOB_NODE, "volumeMounts": mounts}]}
    return {
        "runtimeRef": {"apiGroup": "trainer.kubeflow.org", "kind": "TrainingRuntime", "name": RUNTIME_NAME},
        "trainer": trainer,
        "podTemplateOverrides": [{"targetJobs": [{"name": TRAINJOB_NODE}], "spec": override}],
    }


def _tfjob_spec(job: WorkerJob) -> dict:
    volumes, mounts = _volumes_with_shm(job)
    container = {"name": TFJOB_CONTAINER, "image": job.image, "command": list(WORKER_COMMAND), "args": list(job.train_args),
                 "env": _env(job), "ports": [{"name": "tfjob-port", "containerPort": DEFAULT_WORKER_PORT}],
                 "volumeMounts": mounts}
    if job.resources:
        container["resources"] = dict(job.resources)
    pod_spec = {"containers": [container], "volumes": volumes}
    pod_spec |= _present({"nodeSelector": job.node_selector, "tolerations": job.tolerations, "affinity": job.affinity})

    def replicas(count: int) -> dict:
        return {"replicas": count, "restartPolicy": "OnFailure",
                "template": {"metadata": {"annotations": dict(ISTIO_OFF)}, "spec": pod_spec}}

    return {
        "runPolicy": {"backoffLimit": TFJOB_BACKOFF_LIMIT, "cleanPodPolicy": "None"},
        "successPolicy": "AllWorkers",
        "tfReplicaSpecs": {"Chief": replicas(1), "Worker": replicas(job.workers - 1)},
    }


def _env(job: WorkerJob) -> list[dict]:
    return [{"name": WORKERS_ENV, "value": str(job.workers)}, *(dict(variable) for variable in job.env)]


def _volumes_with_shm(job: WorkerJob) -> tuple[list[dict], list[dict]]:
    volumes = [dict(volume) for volume in job.volumes]
    mounts = [dict(mount) for mount in job.volume_mounts]
    if not any(mount.get("mountPath") == SHM_MOUNT for mount in mounts):
        volumes.append({"name": SHM_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": job.shm_size}})
        mounts.append({"name": SHM_VOLUME, "mountPath": SHM_MOUNT})
    return volumes, mounts


def _present(fields: Mapping[str, object]) -> dict:
    """The fields that hold something: an API server refuses a null where its schema wants an object or a list."""
    return {key: (list(value) if isinstance(value, tuple) else dict(value) if isinstance(value, Mapping) else value)
            for key, value in fields.items() if value}


def _check_volumes(volumes: Sequence[Mapping[str, object]], mounts: Sequence[Mapping[str, object]]) -> None:
    names = [volume.get("name") for volume in volumes]
    if len(set(names)) != len(names) or (SHM_VOLUME in names and not any(m.get("mountPath") == SHM_MOUNT for m in mounts)):
        raise ConfigError(f"worker volume names must be unique and {SHM_VOLUME!r} is the launcher's /dev/shm, got {names}")
    unknown = sorted({str(mount.get("name")) for mount in mounts} - set(map(str, names)))
    if unknown:
        raise ConfigError(f"worker volume mounts name volumes the job does not have: {', '.join(unknown)}")
