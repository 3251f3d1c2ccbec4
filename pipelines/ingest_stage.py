"""The ingest stage fanned out over shards: plan -> parts in a `dsl.ParallelFor` -> merge.

For datasets too large for one task: each part ingests whole shards on its own pod, and the
merge publishes one dataset folder, the same as the single `ingest` component's. The pipeline
function is used as a task inside the main DAG (KFP v2 runs pipelines as components), and runs
through `kfp.local` too.
"""

from kfp import dsl
from kfp.dsl import Dataset

from fracdet_components.ingest_fanout import ingest_merge, ingest_part, ingest_plan
from fracdet_pipelines.cluster import ClusterOptions, give_gcs_credentials

DEFAULT_PARALLELISM = 8


def create_ingest_fanout(
    options: ClusterOptions = ClusterOptions(),  # noqa: B008 - a frozen dataclass, never mutated
    parallelism: int = DEFAULT_PARALLELISM,
):
    """The fanned-out ingest pipeline, with at most `parallelism` parts running at once.

    `parallelism` is fixed at compile time: KFP compiles it into the loop's iterator policy and
    refuses a pipeline parameter there ("ParallelFor parallelism must be >= 0. Got:
    {{channel:...}}"). The number of parts is the run-time `workers` parameter.

    Args:
        options: the main pipeline's cluster settings: retries and GCS credentials of every task.
        parallelism: the most parts that run at once; 0 for no limit.
    """

    @dsl.pipeline(
        name="ingest-fanout",
        description="Ingest a YOLO dataset in parallel parts of whole shards, merged into one dataset.",
    )
    def ingest_fanout(data_uri: str, data_fingerprint: str, shards: int = 0, max_side: int = 0, workers: int = 4) -> Dataset:
        """Ingest a YOLO dataset in `workers` parallel parts.

        Args:
            data_uri: Ultralytics data.yaml, or the folder or gs:// prefix holding one.
            data_fingerprint: the fingerprint task's hash of the data listing. Every task here is
                cached and this is what changes the plan's cache key when the data changes (the
                parts and the merge then follow through the plan's new artifact).
            shards: TFRecord shards per split; 0 makes one per 1000 images. Parts ingest whole
                shards, so there are at most as many parts as shards in both splits together.
            max_side: downscale images whose longer side exceeds this many pixels; 0 keeps sizes.
            workers: parallel ingest tasks (parts).

        Returns:
            The merged dataset: shards, manifest.json, labels.parquet, quarantine.jsonl.
        """
        plan_task = ingest_plan(data_uri=data_uri, parts=workers, shards=shards, max_side=max_side,
                                data_fingerprint=data_fingerprint)
        plan_task.set_display_name("Plan ingest parts")
        plan_task.set_cpu_request("1").set_memory_request("2G")
        with dsl.ParallelFor(plan_task.outputs["Output"], parallelism=parallelism, name="ingest-parts") as part:
            part_task = ingest_part(plan=plan_task.outputs["plan"], part=part)
            part_task.set_display_name("Ingest part")
            part_task.set_cpu_request("2").set_memory_request("4G")
        merge_task = ingest_merge(plan=plan_task.outputs["plan"], parts=dsl.Collected(part_task.outputs["shards"]))
        merge_task.set_display_name("Merge ingest parts")
        merge_task.set_cpu_request("1").set_memory_request("2G")
        for task in (plan_task, part_task, merge_task):
            task.set_caching_options(enable_caching=True)
            give_gcs_credentials(task, options)
            if options.task_retries:
                task.set_retry(num_retries=options.task_retries, backoff_duration="30s", backoff_factor=2.0)
        return merge_task.outputs["dataset"]

    return ingest_fanout


ingest_fanout = create_ingest_fanout()
