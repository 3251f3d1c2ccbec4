"""The shards of a split as a `tf.data.Dataset` of (image, boxes, classes).

Shapes and formats:
- image: float32 (height, width, 1) in [0, 1], whatever the stored bit depth;
- boxes: float32 (N, 4), `ymin, xmin, ymax, xmax`, normalised to the image (the TF Object
  Detection API order); N may be 0 (a background image);
- classes: int32 (N,), fracdet class ids.

Records are parsed by `schema.parse_example_tensors`; files are interleaved and records parsed in
parallel (AUTOTUNE). `deterministic=True` keeps the manifest's order, for tests and evaluation.
"""

from __future__ import annotations

import tensorflow as tf

from fracdet_core.data.manifest import shard_uris
from fracdet_core.data.schema import parse_example_tensors


def load_examples(
    ingest_uri: str,
    split: str,
    *,
    deterministic: bool = False,
    input_context: tf.distribute.InputContext | None = None,
) -> tf.data.Dataset:
    """Parsed examples of one split (dicts of `schema.parse_example_tensors`), read from its shards.

    With `input_context` (workers training together), only this input pipeline's share: whole
    files when there are at least as many files as pipelines, else every n-th record of a
    fixed-order read (each pipeline then reads all the bytes but decodes only its own images).
    The shares partition the split; tf.data's own FILE auto-sharding fails on fewer files than
    workers, and its DATA sharding needs a fixed order and decodes everything everywhere.
    """
    files = shard_uris(ingest_uri, split)
    pipelines, index = (input_context.num_input_pipelines, input_context.input_pipeline_id) if input_context else (1, 0)
    by_record = len(files) < pipelines
    if not by_record:
        files = files[index::pipelines]
    records = tf.data.Dataset.from_tensor_slices(files).interleave(
        tf.data.TFRecordDataset,
        cycle_length=max(1, min(len(files), 8)),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=deterministic or by_record,
    )
    if by_record:
        records = records.shard(pipelines, index)
    return records.map(parse_example_tensors, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)


def load_split(ingest_uri: str, split: str, *, deterministic: bool = False) -> tf.data.Dataset:
    """(image, boxes, classes) triples of one split."""
    examples = load_examples(ingest_uri, split, deterministic=deterministic)
    return examples.map(lambda example: (example["image"], example["boxes"], example["classes"]))
