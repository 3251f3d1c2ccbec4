"""The fracdet DAG. This module only wires components; compiling and running live elsewhere.

dsl.ExitHandler(record_outcome):
    fingerprint -> ingest (one task, or plan -> ParallelFor(parts) -> merge) -> eda -> train -> evaluate -> dsl.If(blessed) -> register (-> champion when `promote`)

The exit handler's task runs last whatever happened and records the run's outcome (blessed, not
blessed, failed) for CI. KFP allows no pipeline outputs from inside an exit handler, so the
pipeline returns none: every artifact is a task output, shown on its task in the dashboard.
"""

from kfp import dsl

from fracdet_components.eda import eda
from fracdet_components.evaluate import evaluate
from fracdet_components.fingerprint import fingerprint
from fracdet_components.ingest import ingest
from fracdet_components.outcome import record_outcome
from fracdet_components.register import register
from fracdet_components.train import train
from fracdet_pipelines.cluster import ClusterOptions, give_gcs_credentials, place_on_gpu_nodes
from fracdet_pipelines.ingest_stage import create_ingest_fanout

PIPELINE_NAME = "fracdet"


def create_pipeline(options: ClusterOptions = ClusterOptions()):  # noqa: B008 - a frozen dataclass, never mutated
    """The pipeline function, with the Kubernetes settings of `options` compiled in.

    A local run (kfp.local) takes the same DAG with `task_retries=0`: there a failure is a
    deterministic input error, and retrying would only delay its message; the Kubernetes
    settings do nothing there.
    """
    fanned_out = options.ingest_parts > 1
    ingest_fanout = create_ingest_fanout(options, parallelism=options.ingest_parts) if fanned_out else None

    @dsl.pipeline(
        name=PIPELINE_NAME,
        description="Bone-fracture detection on X-rays: YOLO dataset to a trained, evaluated, registered detector.",
        pipeline_config=options.pipeline_config(),
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
    ):
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
        """
        outcome_task = record_outcome(registry_uri=registry_uri, model_name=model_name, run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER)
        outcome_task.set_display_name("Record run outcome")
        outcome_task.set_caching_options(enable_caching=False)  # every run records its own outcome
        outcome_task.set_cpu_request("0.5").set_memory_request("1G")

        with dsl.ExitHandler(outcome_task, name="Run"):
            fingerprint_task = fingerprint(data_uri=data_uri)
            fingerprint_task.set_display_name("Fingerprint the data")
            fingerprint_task.set_caching_options(enable_caching=False)  # it must see the data as it is now
            fingerprint_task.set_cpu_request("0.5").set_memory_request("1G")

            if ingest_fanout is None:
                ingest_task = ingest(data_uri=data_uri, shards=shards, max_side=max_side, data_fingerprint=fingerprint_task.output)
                # Cached: its key holds the data fingerprint, so changed data under the same URI runs it again.
                ingest_task.set_caching_options(enable_caching=True)
                ingest_task.set_cpu_request("2").set_memory_request("4G")
                dataset = ingest_task.outputs["dataset"]
            else:
                # A sub-pipeline: its own tasks carry caching, resources, retries and credentials.
                ingest_task = ingest_fanout(data_uri=data_uri, data_fingerprint=fingerprint_task.output, shards=shards,
                                            max_side=max_side, workers=options.ingest_parts)
                dataset = ingest_task.output
            ingest_task.set_display_name("Ingest YOLO dataset")

            eda_task = eda(
                dataset=dataset,
                baseline_uri=eda_baseline,
                weighting=class_weighting,
                max_quarantine_share=max_quarantine_share,
            )
            eda_task.set_display_name("EDA, class weights and data checks")
            eda_task.set_caching_options(enable_caching=True)
            eda_task.set_cpu_request("1").set_memory_request("2G")

            train_task = train(
                dataset=dataset,
                analysis=eda_task.outputs["analysis"],
                epochs=epochs,
                image_size=image_size,
                batch_size=batch_size,
                config_uri=train_config_uri,
                gpu_count=gpu_count,
                gpu_type=gpu_type,
            )
            train_task.set_display_name("Train detector")
            train_task.set_caching_options(enable_caching=True)
            train_task.set_cpu_request("4").set_memory_request("16G")
            train_task.set_accelerator_type(gpu_type).set_accelerator_limit(gpu_count)
            place_on_gpu_nodes(train_task, options)

            evaluate_task = evaluate(
                dataset=dataset,
                model=train_task.outputs["model"],
                registry_uri=registry_uri,
                model_name=model_name,
                thresholds_uri=thresholds_uri,
                target_sensitivity=target_sensitivity,
                run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
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

        tasks = (fingerprint_task, eda_task, train_task, evaluate_task, register_task, outcome_task)
        tasks += () if fanned_out else (ingest_task,)
        for task in tasks:
            give_gcs_credentials(task, options)
            if options.task_retries:
                # Training resumes from its last epoch; registering the same model again returns its version;
                # the rest rewrite their outputs whole.
                task.set_retry(num_retries=options.task_retries, backoff_duration="30s", backoff_factor=2.0)

    return fracdet_pipeline


fracdet_pipeline = create_pipeline()
