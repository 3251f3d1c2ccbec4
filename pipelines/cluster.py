"""The pipeline's Kubernetes settings that are fixed when it is compiled, and how tasks get them.

What is fixed at compile time (`fracdet pipeline compile` options) and why: node selectors,
tolerations, volumes and secrets are static fields of the compiled YAML's Kubernetes platform
spec. kfp-kubernetes 2.17 can also take node selectors and tolerations from pipeline parameters
(`add_node_selector_json`, `add_toleration_json`), but not every backend applies them: the
init-container driver in the kubeflow/pipelines sources skips them with only a log line, and the
training task would land on any node. Static settings are applied by every backend. They
describe the cluster (its GPU node labels and taints, the secret holding a key), not one run, so
a cluster gets its own compiled YAML, as the retrain workflow and `make` do.

The training job API is fixed too: it is what the cluster has installed (Kubeflow Trainer v2's
TrainJob, or Training Operator v1's TFJob). So is the bound on the wait for a job of several
training workers, which must end before the run's deadline, fixed here, stops the launcher: a
launcher stopped from outside cannot delete its job, whose GPUs would stay taken.

What stays a run parameter: everything about the run itself (data, registry, epochs, GPU count and
resource name, the number of training workers, thresholds), and the run's Kubernetes service
account, chosen when submitting.
"""

from __future__ import annotations

import dataclasses
import re

from kfp import dsl, kubernetes

from fracdet_components.worker_jobs import APIS as JOB_APIS
from fracdet_core import defaults
from fracdet_core.errors import ConfigError

GPU_TAINT = "nvidia.com/gpu"  # the taint GKE, EKS and the NVIDIA GPU operator put on GPU nodes
GPU_RESOURCE = "nvidia.com/gpu"  # the resource name the NVIDIA device plugin gives GPUs: the `gpu_type` run parameter's default
SHM_MOUNT = "/dev/shm"
GCS_KEY_FOLDER = "/var/secrets/google"
GCS_KEY_FILE = "key.json"  # `kubectl create secret generic NAME --from-file=key.json=KEY.json`
_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
NO_DEADLINE_WORKERS_TIMEOUT_SECONDS = 24 * 3600  # the wait for training workers in a run without a deadline
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|K|M|G|T)?$")


@dataclasses.dataclass(frozen=True)
class Toleration:
    """A pod toleration: `value` None tolerates the taint `key` whatever its value (operator Exists)."""

    key: str
    effect: str = "NoSchedule"
    value: str | None = None

    def __post_init__(self) -> None:
        if not self.key:
            raise ConfigError("a toleration needs a taint key")
        if self.effect not in _EFFECTS:
            raise ConfigError(f"toleration effect must be one of {', '.join(_EFFECTS)}, got {self.effect!r}")

    @classmethod
    def parse(cls, text: str) -> Toleration:
        """`KEY[=VALUE][:EFFECT]`, e.g. `nvidia.com/gpu:NoSchedule` or `dedicated=ml:NoExecute`."""
        taint, _, effect = text.partition(":")
        key, has_value, value = taint.partition("=")
        return cls(key=key, effect=effect or "NoSchedule", value=value if has_value else None)


@dataclasses.dataclass(frozen=True)
class ClusterConfig:
    """How the compiled pipeline runs on Kubernetes.

    Attributes:
        task_retries: retries (with exponential backoff from 30 s) of every task; 0 for local runs,
            where a failure is a deterministic input error.
        gpu_node_selector: node labels the training pod must match, e.g.
            `{"cloud.google.com/gke-accelerator": "nvidia-l4"}` to pick a GPU type on GKE.
        gpu_tolerations: taints the training pod tolerates; `nvidia.com/gpu` always, since GPU
            nodes carry it to keep other pods off.
        shm_size: size of the memory-backed `/dev/shm` of the training pod. Containers get 64 MiB,
            which NCCL (all-reduce between GPUs of one node) and tf.data's shared-memory buffers outgrow.
        gcs_secret: a Kubernetes secret holding a service-account key as `key.json`, mounted into
            every task with GOOGLE_APPLICATION_CREDENTIALS pointing at it. None: tasks use the
            pod's identity (Workload Identity through the run's service account), the better way.
        deadline_seconds: the whole run's deadline (Argo's activeDeadlineSeconds); 0 for none.
        ingest_parts: 0 or 1 ingests in one task; more fans ingest out into that many parallel
            tasks of whole shards (`pipelines/ingest_stage.py`), for datasets too large for one pod.
            Fixed at compile time because KFP compiles a loop's parallelism into the YAML.
        training_job_api: what a run with `train_workers` > 1 creates: "trainjob" (Kubeflow
            Trainer v2, on the `fracdet-tensorflow` TrainingRuntime of `manifests/`) or "tfjob"
            (Training Operator v1).
        train_workers_timeout_seconds: how long the train step waits for its training workers
            before it fails and deletes their job; 0: nine tenths of the run's deadline, or 24
            hours in a run without one. Shorter than the deadline, so the launcher itself deletes the job.
    """

    task_retries: int = 2
    gpu_node_selector: tuple[tuple[str, str], ...] = ()
    gpu_tolerations: tuple[Toleration, ...] = (Toleration(GPU_TAINT),)
    shm_size: str = "4Gi"
    gcs_secret: str | None = None
    deadline_seconds: int = defaults.DEADLINE_SECONDS
    ingest_parts: int = defaults.INGEST_PARTS
    training_job_api: str = defaults.TRAINING_JOB_API
    train_workers_timeout_seconds: int = 0

    def __post_init__(self) -> None:
        if self.task_retries < 0:
            raise ConfigError(f"task retries must be 0 or more, got {self.task_retries}")
        if self.ingest_parts < 0:
            raise ConfigError(f"ingest parts must be 0 (one ingest task) or more, got {self.ingest_parts}")
        if self.deadline_seconds < 0:
            raise ConfigError(f"the run deadline must be 0 (none) or more seconds, got {self.deadline_seconds}")
        if not _QUANTITY.match(self.shm_size):
            raise ConfigError(f"/dev/shm size must be a Kubernetes quantity such as 4Gi, got {self.shm_size!r}")
        for key, value in self.gpu_node_selector:
            if not key or not value:
                raise ConfigError(f"a node selector needs KEY=VALUE, got {key!r}={value!r}")
        if self.gcs_secret is not None and not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", self.gcs_secret):
            raise ConfigError(f"{self.gcs_secret!r} is not a Kubernetes secret name (lower-case letters, digits, '-', '.')")
        self._check_training_workers()

    def _check_training_workers(self) -> None:
        if self.training_job_api not in JOB_APIS:
            raise ConfigError(f"the training job API must be {' or '.join(JOB_APIS)}, got {self.training_job_api!r}")
        if self.train_workers_timeout_seconds < 0:
            raise ConfigError(f"the training workers' timeout must be 0 (from the deadline) or more seconds, "
                              f"got {self.train_workers_timeout_seconds}")
        if self.deadline_seconds and self.train_workers_timeout_seconds >= self.deadline_seconds:
            raise ConfigError(f"the training workers' timeout ({self.train_workers_timeout_seconds} s) must be shorter than the "
                              f"run's deadline ({self.deadline_seconds} s), so that the train step deletes their job itself")

    def workers_timeout_seconds(self) -> int:
        """How long the train step waits for its training workers: the set timeout, else from the deadline."""
        if self.train_workers_timeout_seconds:
            return self.train_workers_timeout_seconds
        return self.deadline_seconds * 9 // 10 if self.deadline_seconds else NO_DEADLINE_WORKERS_TIMEOUT_SECONDS

    def pipeline_config(self) -> dsl.PipelineConfig:
        """The run-level settings: its deadline."""
        return dsl.PipelineConfig(active_deadline_seconds=self.deadline_seconds or None)


def place_on_gpu_nodes(task: dsl.PipelineTask, cluster: ClusterConfig) -> None:
    """Node selector, tolerations and a memory-backed /dev/shm for the training task."""
    schedule_on_gpu_nodes(task, cluster)
    kubernetes.empty_dir_mount(task, volume_name="dshm", mount_path=SHM_MOUNT, medium="Memory", size_limit=cluster.shm_size)


def schedule_on_gpu_nodes(task: dsl.PipelineTask, cluster: ClusterConfig) -> None:
    """The node selector and tolerations that put a pod on the GPU nodes."""
    for key, value in cluster.gpu_node_selector:
        kubernetes.add_node_selector(task, label_key=key, label_value=value)
    for toleration in cluster.gpu_tolerations:
        kubernetes.add_toleration(
            task, key=toleration.key, operator="Exists" if toleration.value is None else "Equal", value=toleration.value,
            effect=toleration.effect,
        )


def give_gcs_credentials(task: dsl.PipelineTask, cluster: ClusterConfig) -> None:
    """Mount the key secret and point Google's client libraries at it; nothing under Workload Identity."""
    if cluster.gcs_secret is None:
        return
    kubernetes.use_secret_as_volume(task, secret_name=cluster.gcs_secret, mount_path=GCS_KEY_FOLDER)
    task.set_env_variable("GOOGLE_APPLICATION_CREDENTIALS", f"{GCS_KEY_FOLDER}/{GCS_KEY_FILE}")
