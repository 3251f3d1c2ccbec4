"""The fanned-out ingest's components: plan the parts, ingest each part, merge them into one dataset.

`pipelines/ingest_stage.py` wires them as plan -> `dsl.ParallelFor` over the parts -> merge; the
merged dataset is the same folder, byte for byte, that the single `ingest` component writes.
"""


from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Output

from fracdet_components.image import FRACDET_IMAGE


@dsl.component(base_image=FRACDET_IMAGE, install_kfp_package=False)
def ingest_plan(
    data_uri: str, plan: Output[Artifact], parts: int = 1, shards: int = 0, max_side: int = 0, data_fingerprint: str = "",
) -> list[int]:
    """List the dataset once and deal its shards into parts of about equal image counts.

    Args:
        data_uri: an Ultralytics data.yaml, or the folder or gs:// prefix holding one.
        plan: folder with plan.json: the dataset spec, the options, every image's shard and each
            part's shards. The parts and the merge read it.
        parts: parts wanted; there are never more parts than shards (a part ingests whole shards).
        shards: shards per split; 0 makes one per 1000 images.
        max_side: downscale images whose longer side exceeds this many pixels; 0 keeps sizes.
        data_fingerprint: a hash of the data listing (the fingerprint task's). Not read here: it
            is in KFP's cache key, so a cached plan (and, through it, cached parts and merge) is
            reused only while the data is unchanged.

    Returns:
        The part indices, 0 to the number of parts - 1: the items of the `dsl.ParallelFor`.
    """
    from fracdet_components.artifacts import artifact_location
    from fracdet_core.ingest import DecodeLimits, IngestConfig
    from fracdet_core.ingest.plan import plan_ingest, write_plan

    made = plan_ingest(data_uri, parts, IngestConfig(shards=shards, limits=DecodeLimits(max_side=max_side)))
    write_plan(made, artifact_location(plan))
    plan.metadata.update(made.describe())
    return list(range(len(made.parts)))


@dsl.component(base_image=FRACDET_IMAGE, install_kfp_package=False)
def ingest_part(plan: Input[Artifact], part: int, shards: Output[Dataset], workers: int = 0) -> None:
    """Check and encode the images of one part of the plan into its shards.

    Args:
        plan: the ingest_plan output.
        part: which part, an item of the plan's part indices.
        shards: folder with the part's shards under their final names, its labels.parquet rows,
            its quarantine.jsonl entries and, written last, part.json (the plan's fingerprint,
            each shard's record count and sha256). Duplicates are left for the merge to decide.
        workers: worker processes; 0 uses every core the task may use.
    """
    from fracdet_components.artifacts import artifact_location
    from fracdet_core.ingest.part import describe_part, ingest_shards
    from fracdet_core.ingest.plan import read_plan
    from fracdet_core.parallel import default_workers

    record = ingest_shards(read_plan(artifact_location(plan)), part, artifact_location(shards),
                           workers=workers or default_workers())
    shards.metadata.update(describe_part(record))


@dsl.component(base_image=FRACDET_IMAGE, install_kfp_package=False)
def ingest_merge(plan: Input[Artifact], parts: Input[list[Dataset]], dataset: Output[Dataset]) -> None:
    """Merge every part into one ingest output; fail when a part is missing or does not match the plan.

    Args:
        plan: the ingest_plan output.
        parts: every ingest_part output (`dsl.Collected` over the `dsl.ParallelFor`), in any order.
        dataset: output folder with the shards, manifest.json, labels.parquet and quarantine.jsonl,
            as the single ingest component writes them. Its metadata holds the manifest's counts.
    """
    from fracdet_components.artifacts import artifact_location, ingest_metadata
    from fracdet_core.ingest.merge import merge_parts
    from fracdet_core.ingest.plan import read_plan

    manifest = merge_parts(read_plan(artifact_location(plan)), [artifact_location(part) for part in parts],
                           artifact_location(dataset))
    dataset.metadata.update(ingest_metadata(manifest))
