"""The ingest component: a YOLO dataset to validated TFRecord shards."""

from kfp import dsl
from kfp.dsl import Dataset, Output

from fracdet_components.image import FRACDET_IMAGE


@dsl.component(base_image=FRACDET_IMAGE, install_kfp_package=False)
def ingest(
    data_uri: str, dataset: Output[Dataset], shards: int = 0, max_side: int = 0, workers: int = 0, data_fingerprint: str = "",
) -> None:
    """Check every image and label of a YOLO dataset and write them as TFRecord shards.

    Args:
        data_uri: an Ultralytics data.yaml, or the folder or gs:// prefix holding one.
        dataset: output folder with the shards, manifest.json, labels.parquet and
            quarantine.jsonl (every rejected file with its reason). Its metadata holds the
            manifest's counts.
        shards: shards per split; 0 makes one per 1000 images.
        max_side: downscale images whose longer side exceeds this many pixels; 0 keeps sizes.
        workers: worker processes; 0 uses every core the task may use.
        data_fingerprint: a hash of the data listing (the fingerprint task's). Not read here: it
            is in KFP's cache key, so the cached output is reused only while the data is unchanged.
    """
    from fracdet_components.artifacts import artifact_location, ingest_metadata
    from fracdet_core.ingest import DecodeLimits, IngestConfig, ingest_dataset
    from fracdet_core.parallel import default_workers

    options = IngestConfig(shards=shards, workers=workers or default_workers(), limits=DecodeLimits(max_side=max_side))
    manifest = ingest_dataset(data_uri, artifact_location(dataset), options)
    dataset.metadata.update(ingest_metadata(manifest))
