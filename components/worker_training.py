"""The `train_on_workers` component's work: the training job from the task's settings, run, and its model described.

Not a component: KFP glue beside them, so the component body stays a few lines and the tests call
it with KFP's artifact and `TaskConfig` classes. The workers run in pods of their own, so they
read the ingest and EDA and write the model straight to the artifacts' `gs://` URIs; the
launcher's own local paths (KFP's FUSE mounts, its copies of MinIO or S3 artifacts) do not
exist in their pods, and a pipeline root they cannot reach is refused before any job starts.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from fracdet_components.artifacts import describe_trained_model, train_component_configs
from fracdet_components.job_runner import Log, cluster_api_client, run_worker_job
from fracdet_components.worker_jobs import DEFAULT_SHM_SIZE, WorkerJob, job_name
from fracdet_core import storage
from fracdet_core.errors import ConfigError

if TYPE_CHECKING:
    from kfp.dsl import TaskConfig

    from fracdet_components.artifacts import _Artifact

POLL_S = 10.0  # between reads of the job's status and its workers' logs


@dataclasses.dataclass(frozen=True)
class TrainSettings:
    """The `fracdet train` settings the component takes, as its inputs name them."""

    model_preset: str = "n"
    epochs: int = 30
    image_size: int = 0
    batch_size: int = 16
    config_uri: str = ""

    def train_args(self, data: str, class_weights: str, out: str) -> tuple[str, ...]:
        """The `fracdet train` options every worker runs with."""
        args = ["--data", data, "--class-weights", class_weights, "--out", out, "--preset", self.model_preset,
                "--epochs", str(self.epochs), "--batch-size", str(self.batch_size)]
        if self.image_size:
            args += ["--image-size", str(self.image_size)]
        if self.config_uri:
            args += ["--config", self.config_uri]
        return tuple(args)


def run_train_workers_component(
    dataset: _Artifact, analysis: _Artifact, model: _Artifact, task_config: TaskConfig | None, settings: TrainSettings, *,
    workers: int, job_api: str, worker_image: str, timeout_s: float, shm_size: str = DEFAULT_SHM_SIZE, log: Log = print,
) -> None:
    """Train `model` on `workers` pods through the cluster's training engine, and describe it as the single task does.

    Raises:
        ConfigError: a bad setting, no cluster, or an artifact the workers cannot reach.
        WorkerJobError: the job failed, timed out, or the API refused it.
    """
    train_component_configs(config_uri=settings.config_uri, model_preset=settings.model_preset, epochs=settings.epochs,
                            image_size=settings.image_size, batch_size=settings.batch_size)
    api_client, namespace = cluster_api_client()
    data, weights_folder, out = (worker_location(artifact, role) for artifact, role in
                                 ((dataset, "dataset"), (analysis, "analysis"), (model, "model")))
    job = WorkerJob(api=job_api, name=job_name(model.uri), namespace=namespace, workers=workers, image=worker_image,
                    train_args=settings.train_args(data, storage.join(weights_folder, "class_weights.json"), out),
                    shm_size=shm_size, **pod_settings(task_config))
    run_worker_job(job, api_client, timeout_s=timeout_s, poll_s=POLL_S, log=log)
    describe_trained_model(model)


def worker_location(artifact: _Artifact, role: str) -> str:
    """Where a worker pod reads or writes `artifact`: its `gs://` URI.

    Raises:
        ConfigError: the artifact is elsewhere (MinIO, S3, a local folder), out of the workers' reach.
    """
    if not storage.is_gcs(artifact.uri):
        raise ConfigError(
            f"the {role} artifact is at {artifact.uri}, which training workers in pods of their own cannot reach: training "
            "on several workers needs a gs:// pipeline root (the pipeline's --pipeline-root); with 1 worker any root works")
    return artifact.uri


def pod_settings(task_config: TaskConfig | None) -> dict[str, object]:
    """`WorkerJob`'s pod settings from what KFP forwards in `task_config` (Kubernetes JSON; None for a field not set)."""
    if task_config is None:
        return {}
    return {
        "resources": task_config.resources or None,
        "env": tuple(task_config.env or ()),
        "node_selector": task_config.node_selector or None,
        "tolerations": tuple(task_config.tolerations or ()),
        "affinity": task_config.affinity or None,
        "volumes": tuple(task_config.volumes or ()),
        "volume_mounts": tuple(task_config.volume_mounts or ()),
    }
