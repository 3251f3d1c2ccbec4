"""The fracdet DAG. This module only wires components; compiling and running live elsewhere.

dsl.ExitHandler(record_outcome):
    fingerprint -> ingest (one task, or plan -> ParallelFor(parts) -> merge) -> eda
    -> dsl.If(train_workers == 1) train, dsl.Else() train_on_workers (a TrainJob or TFJob)
    -> evaluate -> dsl.If(blessed) -> register (-> champion when `promote`)

Evaluate and register take the model of whichever train branch ran (`dsl.OneOf`). The exit
handler's task runs last whatever happened and records the run's outcome (blessed, not blessed,
failed) for CI. KFP allows no pipeline outputs from inside an exit handler, so the
pipeline returns none: every artifact is a task output, shown on its task in the dashboard.
"""

from kfp import dsl
from kfp.dsl.graph_component import GraphComponent
from kfp.dsl.pipeline_channel import PipelineChannel

from fracdet_components.eda import eda
from fracdet_components.evaluate import evaluate
from fracdet_components.fingerprint import fingerprint
from fracdet_components.image import FRACDET_GPU_IMAGE
from fracdet_components.ingest import ingest
from fracdet_components.record_outcome import record_outcome
from fracdet_components.register import register
from fracdet_components.train import train
from fracdet_components.train_workers import train_on_workers
from fracdet_core import defaults
from fracdet_pipelines.cluster import GPU_RESOURCE, ClusterConfig, place_on_gpu_nodes, schedule_on_gpu_nodes
from fracdet_pipelines.ingest_stage import create_ingest_fanout
from fracdet_pipelines.tasks import TaskSettings, configured, pipeline_function

PIPELINE_NAME = "fracdet"
DESCRIPTION = "Bone-fracture detection on X-rays: YOLO dataset to a trained, evaluated, registered detector."
RUN_ID = dsl.PIPELINE_JOB_ID_PLACEHOLDER

# Each task's settings, in the order the tasks run. A task is cached where its inputs hold
# everything its outputs depend on.
# Not cached: it must list the data as it is now.
FINGERPRINT = TaskSettings("Fingerprint the data", cache=False, cpu="0.5", memory="1G")
# Cached: its key holds the data fingerprint, so changed data under the same URI runs it again.
INGEST = TaskSettings("Ingest YOLO dataset", cache=True, cpu="2", memory="4G")
EDA = TaskSettings("EDA, class weights and data checks", cache=True, cpu="1", memory="2G")
TRAIN = TaskSettings("Train detector", cache=True, cpu="4", memory="16G")
# Cached as training is: the worker count is an input, so a cached model came from as many workers.
# Its task passes its resources through to the job (KFP's TaskConfig), so these are each worker's
# requests, as the single training pod's; the launcher's own pod gets none.
TRAIN_ON_WORKERS = TaskSettings("Train detector on several machines", cache=True, cpu="4", memory="16G")
# Not cached: the champion it compares against may have moved.
EVALUATE = TaskSettings("Evaluate and bless", cache=False, cpu="2", memory="4G")
# Not cached: a registry write is never skipped.
REGISTER = TaskSettings("Register model", cache=False, cpu="1", memory="2G")
# Not cached: every run records its own outcome.
OUTCOME = TaskSettings("Record run outcome", cache=False, cpu="0.5", memory="1G")


def create_pipeline(
    cluster: ClusterConfig = ClusterConfig(),  # noqa: B008 - a frozen dataclass, never mutated
    worker_image: str = FRACDET_GPU_IMAGE,
) -> GraphComponent:
    """The pipeline function, with the Kubernetes settings of `cluster` and the training workers' image compiled in.

    A local run (kfp.local) takes the same DAG with `task_retries=0`: there a failure is a
    deterministic input error, and retrying would only delay its message; the Kubernetes
    settings do nothing there.
    """
    ingest_fanout = create_ingest_fanout(cluster, parallelism=cluster.ingest_parts) if cluster.ingest_parts > 1 else None
    return dsl.pipeline(
        pipeline_function(wire_pipeline, cluster, ingest_fanout, worker_image),
        name=PIPELINE_NAME, description=DESCRIPTION, pipeline_config=cluster.pipeline_config(),
    )


def wire_pipeline(
    cluster: ClusterConfig,
    ingest_fanout: GraphComponent | None,
    worker_image: str,
    /,
    data_uri: str,
    registry_uri: str,
    model_name: str = defaults.MODEL_NAME,
    promote: bool = False,
    shards: int = defaults.SHARDS,
    max_side: int = defaults.MAX_SIDE,
    eda_baseline: str = "",
    class_weighting: str = defaults.CLASS_WEIGHTING,
    max_quarantine_share: float = defaults.MAX_QUARANTINE_SHARE,
    model_preset: str = defaults.MODEL_PRESET,
    epochs: int = defaults.EPOCHS,
    image_size: int = defaults.IMAGE_SIZE_OF_MODEL,
    batch_size: int = defaults.BATCH_SIZE,
    train_config_uri: str = "",
    gpu_count: int = 0,
    gpu_type: str = GPU_RESOURCE,
    train_workers: int = defaults.TRAIN_WORKERS,
    thresholds_uri: str = "",
    target_sensitivity: float = defaults.TARGET_SENSITIVITY,
    target_specificity: float = defaults.TARGET_SPECIFICITY,
    target_in_scope_kept: float = defaults.TARGET_IN_SCOPE_KEPT,
    mlflow_tracking_uri: str = "",
    kfp_dashboard_url: str = "",
) -> None:
    """Train a fracture detector from a YOLO dataset.

    `create_pipeline` binds `cluster`, `ingest_fanout` and `worker_image` when it compiles; the
    rest are the run parameters, with their descriptions below (the dashboard shows them).

    Args:
        data_uri: Ultralytics data.yaml, or the folder or gs:// prefix holding one.
        registry_uri: the model registry: a folder or gs:// prefix (fracdet's own), or an MLflow registry
            (mlflow://HOST:PORT); its champion is the model to beat.
        model_name: the model's name in the registry.
        promote: make a blessed, registered model the champion.
        shards: TFRecord shards per split; 0 makes one per 1000 images.
        max_side: downscale images whose longer side exceeds this many pixels at ingest; 0 keeps sizes.
        eda_baseline: an earlier EDA output (the champion's) to measure drift against; empty for none.
        class_weighting: class weights from the EDA, "balanced" or "effective".
        max_quarantine_share: stop the run when a larger share of the files was quarantined.
        model_preset: the model's size: n (the demo's), s or m (docs/training.md, "Model presets"); train_config_uri's
            'model:' section and image_size override its fields.
        epochs: training passes over the data (early stopping may end sooner).
        image_size: square training input side, pixels; 0 keeps the model's: train_config_uri's, else the
            preset's recommended size (n 256, s 512, m 640).
        batch_size: training images per step over all replicas.
        train_config_uri: a YAML with 'model:' and 'train:' sections; epochs, batch_size and a non-zero image_size override it.
        gpu_count: GPUs for the training task; 0 trains on CPUs.
        gpu_type: the Kubernetes resource name of the GPUs (nvidia.com/gpu, or a node's accelerator type).
        train_workers: training machines; 1 trains in one task, more in a TrainJob (or TFJob, as compiled) of that many
            workers, each with gpu_count GPUs; batch_size is over all of them.
        thresholds_uri: blessing thresholds YAML (min_map50, min_sensitivity, ...); empty for the defaults. Not the
            operating thresholds, which evaluate chooses and register keeps with the version.
        target_sensitivity: image-level sensitivity the per-body-part operating thresholds are set for.
        target_specificity: image-level specificity the per-body-part "definite" operating thresholds are set for.
        target_in_scope_kept: the share of in-scope images the in-scope threshold is set to keep; an image under it
            is outside the indications and gets no fracture call.
        mlflow_tracking_uri: an MLflow tracking server (http://...); the run is logged there as one MLflow run. Empty:
            the pods' MLFLOW_TRACKING_URI, else no tracking.
        kfp_dashboard_url: the Kubeflow Pipelines UI's address (https://HOST/pipeline), linked from the MLflow run.
    """
    outcome_task = configured(record_outcome(registry_uri=registry_uri, model_name=model_name, run_id=RUN_ID), OUTCOME, cluster)
    with dsl.ExitHandler(outcome_task, name="Run"):
        fingerprint_task = configured(fingerprint(data_uri=data_uri), FINGERPRINT, cluster)
        dataset = _ingest(cluster, ingest_fanout, data_uri, fingerprint_task.output, shards, max_side)
        eda_task = configured(
            eda(dataset=dataset, baseline_uri=eda_baseline, weighting=class_weighting, max_quarantine_share=max_quarantine_share),
            EDA, cluster,
        )
        analysis = eda_task.outputs["analysis"]
        training = {"dataset": dataset, "analysis": analysis, "model_preset": model_preset, "epochs": epochs,
                    "image_size": image_size, "batch_size": batch_size, "config_uri": train_config_uri,
                    "gpu_count": gpu_count, "gpu_type": gpu_type}
        model = _train(cluster, worker_image, train_workers, training)
        evaluate_task = configured(
            evaluate(dataset=dataset, model=model, analysis=analysis, registry_uri=registry_uri, model_name=model_name,
                     thresholds_uri=thresholds_uri, target_sensitivity=target_sensitivity,
                     target_specificity=target_specificity, target_in_scope_kept=target_in_scope_kept, run_id=RUN_ID,
                     mlflow_tracking_uri=mlflow_tracking_uri, kfp_dashboard_url=kfp_dashboard_url),
            EVALUATE, cluster,
        )
        with dsl.If(evaluate_task.outputs["Output"] == True, name="blessed"):  # noqa: E712 - a KFP condition, not a Python test
            configured(
                register(model=model, evaluation=evaluate_task.outputs["evaluation"],
                         operating_thresholds=evaluate_task.outputs["operating_thresholds"], analysis=analysis,
                         registry_uri=registry_uri, model_name=model_name, promote=promote, run_id=RUN_ID,
                         task_name=dsl.PIPELINE_TASK_NAME_PLACEHOLDER),
                REGISTER, cluster,
            )


def _train(cluster: ClusterConfig, worker_image: str, workers: PipelineChannel, training: dict[str, object]) -> PipelineChannel:
    """The trained model: the one training task's, or the launcher's of a job of `workers` machines.

    Both tasks take the same training inputs and request the same GPUs on the same nodes: the
    training pod for itself, the launcher for each worker (its task passes them through). The
    workers' /dev/shm is the launcher's to give, sized by `shm_size`: KFP's driver passes no emptyDir
    volume through.
    """
    with dsl.If(workers == 1, name="one machine"):
        single = configured(train(**training), TRAIN, cluster)
        single.set_accelerator_type(training["gpu_type"]).set_accelerator_limit(training["gpu_count"])
        place_on_gpu_nodes(single, cluster)
    with dsl.Else(name="several machines"):
        launcher = configured(
            train_on_workers(**training, workers=workers, job_api=cluster.training_job_api, worker_image=worker_image,
                             timeout_s=cluster.workers_timeout_seconds(), shm_size=cluster.shm_size),
            TRAIN_ON_WORKERS, cluster,
        )
        launcher.set_accelerator_type(training["gpu_type"]).set_accelerator_limit(training["gpu_count"])
        schedule_on_gpu_nodes(launcher, cluster)
    return dsl.OneOf(single.outputs["model"], launcher.outputs["model"])


def _ingest(
    cluster: ClusterConfig, ingest_fanout: GraphComponent | None, data_uri: PipelineChannel, data_fingerprint: PipelineChannel,
    shards: PipelineChannel, max_side: PipelineChannel,
) -> PipelineChannel:
    """The ingested dataset: one ingest task's, or the fanned-out ingest's when it was compiled in."""
    if ingest_fanout is None:
        task = configured(ingest(data_uri=data_uri, shards=shards, max_side=max_side, data_fingerprint=data_fingerprint),
                          INGEST, cluster)
        return task.outputs["dataset"]
    # A sub-pipeline: its own tasks carry caching, resources, retries and credentials.
    task = ingest_fanout(data_uri=data_uri, data_fingerprint=data_fingerprint, shards=shards, max_side=max_side,
                         workers=cluster.ingest_parts)
    task.set_display_name(INGEST.display_name)
    return task.output


fracdet_pipeline = create_pipeline()
