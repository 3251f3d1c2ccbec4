"""Ingest a YOLO dataset into validated TFRecord shards: the first stage of the pipeline.

Flow: read `data.yaml` -> list and pair every file -> decode and check each image with its
labels in worker processes -> write shards in a fixed order -> `labels.parquet`,
`quarantine.jsonl` -> `manifest.json` last.

Guarantees:
- accounting: every file found is ingested or quarantined, `found == ingested + quarantined`;
- determinism: images are processed in an order fixed by a hash of their path, and results are
  consumed in that order, so the output bytes do not depend on the worker count;
- atomicity: each shard is published whole; the old manifest is removed first and the new one
  written last, so an interrupted run leaves no manifest and a re-run completes;
- ownership: ingest writes only into a folder that is empty or its own, and deletes there only
  what it wrote (`ownership.py`);
- leakage: an image whose bytes equal a training image is quarantined from val as
  `duplicate_across_splits`; a repeat within a split as `duplicate_within_split`;
- memory: images stream through; what is kept per image is a hash and a few numbers.

The steps that a fanned-out ingest (`plan.py`, `part.py`, `merge.py`) shares with this one are
public here: the processing order, the image worker and the loop that accepts results.
"""

from __future__ import annotations

import functools
import hashlib
import tempfile
from collections.abc import Callable, Iterable, Mapping

from tqdm import tqdm

from fracdet_core import storage
from fracdet_core.ingest.accounting import DuplicateFinder, SplitTally, build_manifest
from fracdet_core.ingest.config import IngestConfig
from fracdet_core.ingest.discovery import ImageTask, Problem, discover
from fracdet_core.ingest.outputs import (
    MANIFEST_FILE,
    LabelTableWriter,
    ShardWriter,
    label_rows,
    write_manifest,
    write_quarantine,
)
from fracdet_core.ingest.ownership import claim_output
from fracdet_core.ingest.process import IngestedImage, process_image
from fracdet_core.ingest.spec import SPLITS, read_spec
from fracdet_core.parallel import OrderedMap, worker_pool
from fracdet_core.progress import progress_bar

ImageWork = Callable[[ImageTask], IngestedImage | Problem]
_DEFAULT_CONFIG = IngestConfig()


def processing_order(tasks: list[ImageTask]) -> list[ImageTask]:
    """A fixed pseudo-random order, so each shard mixes folders and classes."""
    return sorted(tasks, key=lambda task: hashlib.sha256(task.source_id.encode()).digest())


def ingest_dataset(data: str, out: str, config: IngestConfig = _DEFAULT_CONFIG, *, progress: bool = True) -> dict:
    """Ingest the dataset that `data` names into `out`; returns the manifest.

    Raises:
        DatasetError: the dataset as a whole is unusable (see `read_spec`).
        OutputNotOwnedError: `out` holds files that ingest did not write (see `claim_output`).
        StorageError: `out` cannot be written.
    """
    folder = claim_output(out, MANIFEST_FILE)
    with (
        worker_pool(config.workers, preload=process_image.__module__) as pool,  # starts while we list files
        tempfile.TemporaryDirectory(prefix="fracdet-ingest-") as spill_dir,
    ):
        spec = read_spec(data)
        tasks, problems = discover(spec)
        folder.clear_previous()
        quarantine: list[tuple[Problem, str]] = [(problem, "rejected") for problem in problems]
        work = image_worker(spec.class_remap, config, spill_dir)
        duplicates = DuplicateFinder()
        with storage.open_write(storage.join(out, "labels.parquet")) as table_stream, LabelTableWriter(table_stream) as table:
            split_summaries = {
                split: _ingest_split(out, split, processing_order(tasks[split]), config, pool, work, duplicates, quarantine,
                                     table, progress)
                for split in SPLITS  # train first, so val copies of train images are the duplicates
            }
    write_quarantine(out, quarantine)
    manifest = build_manifest(spec, config.shards, config.limits, split_summaries, quarantine, tasks, problems)
    write_manifest(out, manifest)
    return manifest


def image_worker(class_remap: Mapping[int, int], config: IngestConfig, spill_dir: str) -> ImageWork:
    """`process_image` with this ingest's settings, ready for a worker pool."""
    return functools.partial(
        process_image,
        class_remap=dict(class_remap),
        limits=config.limits,
        spill_dir=spill_dir if config.workers > 1 else None,
    )


def _ingest_split(
    out: str,
    split: str,
    ordered: list[ImageTask],
    config: IngestConfig,
    pool: OrderedMap,
    work: ImageWork,
    duplicates: DuplicateFinder,
    quarantine: list[tuple[Problem, str]],
    table: LabelTableWriter,
    progress: bool,
) -> dict:
    tally = SplitTally()
    bar = progress_bar(len(ordered), f"ingest {split}", enabled=progress)
    with bar, ShardWriter(out, split, len(ordered), config.shard_count(len(ordered))) as shards:
        accept_results(pool.imap(work, ordered, chunksize=8), shards, table, quarantine, bar, duplicates=duplicates, tally=tally)
    return tally.summary(shards.written)


def accept_results(
    results: Iterable[IngestedImage | Problem],
    shards: ShardWriter,
    table: LabelTableWriter,
    quarantine: list[tuple[Problem, str]],
    bar: tqdm,
    *,
    duplicates: DuplicateFinder | None,
    tally: SplitTally | None = None,
) -> None:
    """Write each processed image to its shard and label rows, or record why it was rejected.

    Every result takes its position in `shards`, rejected or not, so which shard an image lands in
    depends only on the processing order. With `duplicates` None, repeated bytes are all kept: a
    fan-out part sees only some images, so duplicates are decided when the parts are merged.
    """
    for result in results:
        shards.advance()
        bar.update()
        if isinstance(result, Problem):
            quarantine.append((result, "rejected"))
            continue
        example = result.take_example()
        task = result.task
        duplicate = None if duplicates is None else duplicates.check(result.sha256, task.split, task.source_id, task.image_uri)
        if duplicate is not None:
            quarantine.append((duplicate, "rejected"))
            continue
        shards.write(example)
        table.add(label_rows(result, shards.current_name))
        quarantine.extend((Problem(task.image_uri, task.split, reason, detail), "kept") for reason, detail in result.warnings)
        if tally is not None:
            tally.add([box.class_id for box in result.boxes], task.anatomy)
