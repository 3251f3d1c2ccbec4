"""The train component on several workers: launches the training job on the cluster's engine and waits for it.

The task itself is a small pod in the CPU image. It forwards its resources, scheduling, env and
volumes (KFP's `TaskConfig`) to every worker, which runs `fracdet train-worker` in
`worker_image`, and it hands on the model the chief wrote, with the single train task's metadata.
Resources and scheduling go to the workers only, so the task's own pod needs no GPU node; env and
volumes go to the task too, since it reads the model's files with the same credentials (a
`GOOGLE_APPLICATION_CREDENTIALS` pointing into a mounted key secret).
"""

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Model, Output

from fracdet_components.image import FRACDET_IMAGE


@dsl.component(base_image=FRACDET_IMAGE, install_kfp_package=False, task_config_passthroughs=[
    dsl.TaskConfigField.RESOURCES, dsl.TaskConfigField.KUBERNETES_TOLERATIONS,
    dsl.TaskConfigField.KUBERNETES_NODE_SELECTOR, dsl.TaskConfigField.KUBERNETES_AFFINITY,
    dsl.TaskConfigPassthrough(field=dsl.TaskConfigField.ENV, apply_to_task=True),
    dsl.TaskConfigPassthrough(field=dsl.TaskConfigField.KUBERNETES_VOLUMES, apply_to_task=True)])
def train_on_workers(
    dataset: Input[Dataset],
    analysis: Input[Artifact],
    model: Output[Model],
    workers: int,
    job_api: str,
    worker_image: str,
    timeout_s: int,
    model_preset: str = "n",
    epochs: int = 30,
    image_size: int = 0,
    batch_size: int = 16,
    config_uri: str = "",
    gpu_count: int = 0,
    gpu_type: str = "nvidia.com/gpu",
    shm_size: str = "4Gi",
    task_config: dsl.TaskConfig = None,
) -> None:
    """Train on `workers` pods with MultiWorkerMirroredStrategy, through a TrainJob or a TFJob; wait at most `timeout_s`.

    Args:
        dataset: the ingest output (TFRecord shards), at a gs:// URI the workers read.
        analysis: the EDA output; its class_weights.json weighs the classification loss.
        model: the folder the chief writes, as the single train task's (saved_model/, model.keras,
            checkpoints/, logs/, model_config.json, train_summary.json).
        workers: training pods, 2 or more; worker 0 is the chief.
        job_api: `trainjob` (Kubeflow Trainer, on fracdet's TrainingRuntime) or `tfjob` (Training Operator v1).
        worker_image: the image the workers run (the GPU image).
        timeout_s: the longest the job may run; then the task fails and the job is deleted.
        model_preset, epochs, image_size, batch_size, config_uri: as the single train task's.
        gpu_count, gpu_type: the accelerators each worker requested, recorded on the model.
        shm_size: each worker's memory-backed /dev/shm (KFP's driver passes no emptyDir volume through).
        task_config: what KFP forwards from the task: resources, tolerations, node selector,
            affinity, env and volumes, given to every worker.
    """
    from fracdet_components.worker_training import TrainSettings, run_train_workers_component

    settings = TrainSettings(model_preset=model_preset, epochs=epochs, image_size=image_size, batch_size=batch_size,
                             config_uri=config_uri)
    run_train_workers_component(dataset, analysis, model, task_config, settings, workers=workers, job_api=job_api,
                                worker_image=worker_image, timeout_s=timeout_s, shm_size=shm_size)
    model.metadata["accelerator"] = f"{workers} workers, each " + (f"{gpu_count} x {gpu_type}" if gpu_count else "CPU")
    model.metadata["workers"] = workers
