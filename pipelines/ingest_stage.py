"""The ingest stage fanned out over shards: plan -> parts in a `dsl.ParallelFor` -> merge.

For datasets too large for one task: each part ingests whole shards on its own pod, and the
merge publishes one dataset folder, the same as the single `ingest` component's. The pipeline
function is used as a task inside the main DAG (KFP v2 runs pipelines as components), and runs
through `kfp.local` too.
"""

from kfp import dsl
from kfp.dsl import Dataset
from kfp.dsl.graph_component import GraphComponent

from fracdet_components.ingest_fanout import ingest_merge, ingest_part, ingest_plan
from fracdet_core import defaults
from fracdet_pipelines.cluster import ClusterConfig
from fracdet_pipelines.tasks import TaskSettings, configured, pipeline_function

DEFAULT_PARALLELISM = 8
DEFAULT_PARTS = 4  # the `workers` parameter's default; the main pipeline passes its compiled-in part count

# Each task's settings. All cached: the plan's key holds the data fingerprint, the parts' and the merge's the plan.
PLAN = TaskSettings("Plan ingest parts", cache=True, cpu="1", memory="2G")
PART = TaskSettings("Ingest part", cache=True, cpu="2", memory="4G")
MERGE = TaskSettings("Merge ingest parts", cache=True, cpu="1", memory="2G")


def create_ingest_fanout(
    cluster: ClusterConfig = ClusterConfig(),  # noqa: B008 - a frozen dataclass, never mutated
    parallelism: int = DEFAULT_PARALLELISM,
) -> GraphComponent:
    """The fanned-out ingest pipeline, with at most `parallelism` parts running at once.

    `parallelism` is fixed at compile time: KFP compiles it into the loop's iterator policy and
    refuses a pipeline parameter there ("ParallelFor parallelism must be >= 0. Got:
    {{channel:...}}"). The number of parts is the run-time `workers` parameter.

    Args:
        cluster: the main pipeline's cluster settings: retries and GCS credentials of every task.
        parallelism: the most parts that run at once; 0 for no limit.
    """
    return dsl.pipeline(
        pipeline_function(wire_ingest_fanout, cluster, parallelism),
        name="ingest-fanout",
        description="Ingest a YOLO dataset in parallel parts of whole shards, merged into one dataset.",
    )


def wire_ingest_fanout(
    cluster: ClusterConfig,
    parallelism: int,
    /,
    data_uri: str,
    data_fingerprint: str,
    shards: int = defaults.SHARDS,
    max_side: int = defaults.MAX_SIDE,
    workers: int = DEFAULT_PARTS,
) -> Dataset:
    """Ingest a YOLO dataset in `workers` parallel parts.

    `create_ingest_fanout` binds `cluster` and `parallelism` when it compiles; the rest are the
    pipeline's parameters.

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
    plan_task = configured(
        ingest_plan(data_uri=data_uri, parts=workers, shards=shards, max_side=max_side, data_fingerprint=data_fingerprint),
        PLAN, cluster,
    )
    plan = plan_task.outputs["plan"]
    with dsl.ParallelFor(plan_task.outputs["Output"], parallelism=parallelism, name="ingest-parts") as part:
        part_task = configured(ingest_part(plan=plan, part=part), PART, cluster)
    merge_task = configured(ingest_merge(plan=plan, parts=dsl.Collected(part_task.outputs["shards"])), MERGE, cluster)
    return merge_task.outputs["dataset"]


ingest_fanout = create_ingest_fanout()
