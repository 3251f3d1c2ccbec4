"""The fracdet DAG. This module only wires components; compiling and running live elsewhere.

ingest -> eda -> train -> evaluate -> dsl.If(blessed) -> register (-> champion when `promote`)
"""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import HTML, Dataset, Model

from components.eda import eda
from components.evaluate import evaluate
from components.ingest import ingest
from components.register import register
from components.train import train

PIPELINE_NAME = "fracdet"
CLUSTER_TASK_RETRIES = 2


class PipelineOutputs(NamedTuple):
    dataset: Dataset
    eda_report: HTML
    model: Model
    evaluation_report: HTML


def create_pipeline(task_retries: int = CLUSTER_TASK_RETRIES):
    """The pipeline function, with `task_retries` retries (with backoff) on its I/O tasks.

    On a cluster, retries ride out pod evictions and node loss. A local run uses 0: there a
    failure is a deterministic input error, and retrying would only delay its message.
    """

    @dsl.pipeline(
        name=PIPELINE_NAME,
        description="Bone-fracture detection on X-rays: YOLO dataset to a trained, evaluated, registered detector.",
    )
    def fracdet_pipeline(
        data_uri: str,
        registry_uri: str,
        model_name: str = "fracdet",
        promote: bool = False,
        shards: int = 0,
        max_side: int = 0,
        eda_baseline: str = "",
        class_weighting: str = "balanced",
        max_quarantine_share: float = 0.1,
        epochs: int = 30,
        image_size: int = 256,
        batch_size: int = 16,
        train_config_uri: str = "",
        gpu_count: int = 0,
        gpu_type: str = "nvidia.com/gpu",
        thresholds_uri: str = "",
        target_sensitivity: float = 0.9,
    ) -> PipelineOutputs:
        """Train a fracture detector from a YOLO dataset.

        Args:
            data_uri: Ultralytics data.yaml, or the folder or gs:// prefix holding one.
            registry_uri: the model registry root (folder or gs:// prefix); its champion is the model to beat.
            model_name: the model's name in the registry.
            promote: make a blessed, registered model the champion.
            shards: TFRecord shards per split; 0 makes one per 1000 images.
            max_side: downscale images whose longer side exceeds this many pixels at ingest; 0 keeps sizes.
            eda_baseline: an earlier EDA output (the champion's) to measure drift against; empty for none.
            class_weighting: class weights from the EDA, "balanced" or "effective".
            max_quarantine_share: stop the run when a larger share of the files was quarantined.
            epochs: training passes over the data (early stopping may end sooner).
            image_size: square training input side, pixels.
            batch_size: training images per step over all replicas.
            train_config_uri: a YAML with 'model:' and 'train:' sections; the three numbers above override it.
            gpu_count: GPUs for the training task; 0 trains on CPUs.
            gpu_type: the Kubernetes resource name of the GPUs (nvidia.com/gpu, or a node's accelerator type).
            thresholds_uri: blessing thresholds YAML (min_map50, min_sensitivity, ...); empty for the defaults.
            target_sensitivity: image-level sensitivity the per-body-part operating thresholds are set for.

        Returns:
            The ingested dataset, the EDA report, the trained model and the evaluation report.
        """
        ingest_task = ingest(data_uri=data_uri, shards=shards, max_side=max_side)
        ingest_task.set_display_name("Ingest YOLO dataset")
        # KFP's cache key holds the parameters, not the data behind data_uri: new images under the
        # same URI would hit a stale cache. Off until the key carries a fingerprint of the data.
        ingest_task.set_caching_options(enable_caching=False)
        ingest_task.set_cpu_request("2").set_memory_request("4G")

        eda_task = eda(
            dataset=ingest_task.outputs["dataset"],
            baseline_uri=eda_baseline,
            weighting=class_weighting,
            max_quarantine_share=max_quarantine_share,
        )
        eda_task.set_display_name("EDA, class weights and data checks")
        eda_task.set_caching_options(enable_caching=True)
        eda_task.set_cpu_request("1").set_memory_request("2G")

        train_task = train(
            dataset=ingest_task.outputs["dataset"],
            analysis=eda_task.outputs["analysis"],
            epochs=epochs,
            image_size=image_size,
            batch_size=batch_size,
            config_uri=train_config_uri,
        )
        train_task.set_display_name("Train detector")
        train_task.set_caching_options(enable_caching=True)
        train_task.set_cpu_request("4").set_memory_request("16G")
        train_task.set_accelerator_type(gpu_type).set_accelerator_limit(gpu_count)

        evaluate_task = evaluate(
            dataset=ingest_task.outputs["dataset"],
            model=train_task.outputs["model"],
            registry_uri=registry_uri,
            model_name=model_name,
            thresholds_uri=thresholds_uri,
            target_sensitivity=target_sensitivity,
        )
        evaluate_task.set_display_name("Evaluate and bless")
        evaluate_task.set_caching_options(enable_caching=False)  # the champion it compares against may have moved
        evaluate_task.set_cpu_request("2").set_memory_request("4G")

        with dsl.If(evaluate_task.outputs["Output"] == True, name="blessed"):  # noqa: E712 - a KFP condition, not a Python test
            register_task = register(
                model=train_task.outputs["model"],
                evaluation=evaluate_task.outputs["evaluation"],
                analysis=eda_task.outputs["analysis"],
                registry_uri=registry_uri,
                model_name=model_name,
                promote=promote,
                run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
                task_name=dsl.PIPELINE_TASK_NAME_PLACEHOLDER,
            )
            register_task.set_display_name("Register model")
            register_task.set_caching_options(enable_caching=False)  # a registry write, never skipped
            register_task.set_cpu_request("1").set_memory_request("2G")

        if task_retries:
            # Training resumes from its last epoch; registering the same model again returns its version.
            for task in (ingest_task, eda_task, train_task, evaluate_task, register_task):
                task.set_retry(num_retries=task_retries, backoff_duration="30s", backoff_factor=2.0)
        return PipelineOutputs(
            dataset=ingest_task.outputs["dataset"], eda_report=eda_task.outputs["report"], model=train_task.outputs["model"],
            evaluation_report=evaluate_task.outputs["report"],
        )

    return fracdet_pipeline


fracdet_pipeline = create_pipeline()
