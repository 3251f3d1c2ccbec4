"""The train step on several machines: a launcher that runs training as a TrainJob or TFJob and waits for it.

The task's Kubernetes settings (GPU request, node selector, tolerations, environment, volumes)
reach the workers through KFP's TaskConfig passthroughs; the launcher's own pod runs on the CPU image.
"""

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Model, Output

from fracdet_components.image import FRACDET_IMAGE


@dsl.component(base_image=FRACDET_IMAGE, install_kfp_package=False, task_config_passthroughs=[
    dsl.TaskConfigField.RESOURCES, dsl.TaskConfigField.KUBERNETES_TOLERATIONS,
    dsl.TaskConfigField.KUBERNETES_NODE_SELECTOR, dsl.TaskConfigField.KUBERNETES_AFFINITY,
    dsl.TaskConfigPassthrough(field=dsl.TaskConfigField.ENV, apply_to_task=True),
    dsl.TaskConfigField.KUBERNETES_VOLUMES])
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
    task_config: dsl.TaskConfig = None,
) -> None:
    """Train as the train component does, on `workers` machines, into the same model artifact.

    Args:
        dataset: the ingest output (TFRecord shards).
        analysis: the EDA output; its class_weights.json weighs the classification loss.
        model: the same folder, with the same metadata, as the train component's.
        workers: training machines, 2 or more; worker 0 is the chief.
        job_api: "trainjob" (Kubeflow Trainer v2) or "tfjob" (Training Operator v1).
        worker_image: the GPU image the workers run.
        timeout_s: how long to wait for the job before failing the task and deleting the job.
        model_preset, epochs, image_size, batch_size, config_uri: as the train component takes them.
        gpu_count, gpu_type: the accelerators each worker requested, recorded on the model.
        task_config: the task's Kubernetes settings, which KFP fills in for the workers.
    """
    raise NotImplementedError("written on branch wip-launcher")
