"""Ingest one part of a plan: its shards, their label rows and their quarantine entries, in its own folder.

A part runs the single ingest's image loop (`accept_results`) on its shards, with one difference:
it keeps images whose bytes repeat. Which copy of repeated bytes is kept depends on every image
before it in the single-ingest order, which only the merge sees.

Output folder: the shards under their final names, `labels.parquet` (the same schema as an
ingest's), `quarantine.jsonl`, and, written last, `part.json`: the plan's fingerprint, the part's
index and each shard's record count and sha256. Its presence means the part is whole.
"""

from __future__ import annotations

import itertools
import json
import tempfile
from collections.abc import Iterator, Sequence

from fracdet_core import storage
from fracdet_core.errors import ConfigError
from fracdet_core.ingest.config import IngestConfig
from fracdet_core.ingest.discovery import ImageTask, Problem
from fracdet_core.ingest.outputs import PART_FILE, LabelTableWriter, ShardWriter, write_quarantine
from fracdet_core.ingest.ownership import claim_output
from fracdet_core.ingest.plan import IngestPlan, PlannedShard
from fracdet_core.ingest.process import IngestedImage, process_image
from fracdet_core.ingest.run import accept_results, image_worker
from fracdet_core.parallel import worker_pool
from fracdet_core.progress import progress_bar

PART_SCHEMA_VERSION = 1


def part_label(index: int, count: int) -> str:
    """How messages name a part: numbered from 0, as the `dsl.ParallelFor` iterations are."""
    return f"part {index} (of parts 0-{count - 1})"


def ingest_shards(plan: IngestPlan, part: int, out: str, *, workers: int = 1, progress: bool = True) -> dict:
    """Ingest the shards of part `part` of `plan` into `out`; returns the content of `part.json`.

    Raises:
        ConfigError: the plan has no part `part`, or `workers` is below 1.
        OutputNotOwnedError: `out` holds files that ingest did not write (see `claim_output`).
        StorageError: `out` cannot be written.
    """
    if not 0 <= part < len(plan.parts):
        raise ConfigError(f"part must be within [0, {len(plan.parts) - 1}] (the plan has {len(plan.parts)} parts), got {part}")
    config = IngestConfig(shards=plan.shards_option, workers=workers, limits=plan.limits)
    folder = claim_output(out, PART_FILE)
    with (
        worker_pool(config.workers, preload=process_image.__module__) as pool,
        tempfile.TemporaryDirectory(prefix="fracdet-ingest-") as spill_dir,
    ):
        folder.clear_previous()
        results = pool.imap(image_worker(plan.spec.class_remap, config, spill_dir), _tasks_of(plan.parts[part]), chunksize=8)
        written, quarantine = _write_shards(plan, part, results, out, progress=progress)
    write_quarantine(out, quarantine)
    record = {
        "schema_version": PART_SCHEMA_VERSION,
        "plan_sha256": plan.fingerprint,
        "part": part,
        "parts": len(plan.parts),
        "shards": written,
    }
    storage.write_text(storage.join(out, PART_FILE), json.dumps(record, indent=2) + "\n")
    return record


def _tasks_of(shards: Sequence[PlannedShard]) -> list[ImageTask]:
    """The shards' images, in shard order."""
    return [task for shard in shards for task in shard.tasks]


def _write_shards(
    plan: IngestPlan, part: int, results: Iterator[IngestedImage | Problem], out: str, *, progress: bool
) -> tuple[list[dict[str, object]], list[tuple[Problem, str]]]:
    """Write the part's shards and `labels.parquet` from the pool's `results`, in order.

    Returns:
        The shards' manifest entries, and the quarantine entries (rejected images, label warnings).
    """
    shards = plan.parts[part]
    written = []
    quarantine: list[tuple[Problem, str]] = []
    bar = progress_bar(len(_tasks_of(shards)), f"ingest {part_label(part, len(plan.parts))}", enabled=progress)
    labels_uri = storage.join(out, "labels.parquet")
    with bar, storage.open_write(labels_uri) as table_stream, LabelTableWriter(table_stream) as table:
        for shard in shards:
            own_results = itertools.islice(results, len(shard.tasks))  # the pool's results, in order, cut per shard
            writer = ShardWriter(out, shard.split, len(shard.tasks), 1, first_index=shard.index, total_shards=shard.count)
            with writer:
                accept_results(own_results, writer, table, quarantine, bar, duplicates=None)
            written.extend(writer.written)
    return written, quarantine


def describe_part(record: dict) -> dict[str, object]:
    """Figures for a part's artifact in the dashboard."""
    return {
        "display_name": f"Ingest {part_label(record['part'], record['parts'])}, before the merge",
        "shards": len(record["shards"]),
        "records": sum(entry["records"] for entry in record["shards"]),
    }
