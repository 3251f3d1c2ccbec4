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
- leakage: an image whose bytes equal a training image is quarantined from val as
  `duplicate_across_splits`; a repeat within a split as `duplicate_within_split`;
- memory: images stream through; what is kept per image is a hash and a few numbers.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
import tempfile
from collections import Counter
from collections.abc import Callable
from typing import BinaryIO

from fracdet_core import __version__, storage
from fracdet_core.classes import CLASS_NAMES
from fracdet_core.errors import ConfigError
from fracdet_core.ingest.decode import DecodeLimits
from fracdet_core.ingest.discovery import ImageTask, Problem, discover
from fracdet_core.ingest.outputs import LabelTableWriter, ShardWriter, label_rows, write_manifest, write_quarantine
from fracdet_core.ingest.process import IngestedImage, process_image
from fracdet_core.ingest.spec import SPLITS, DatasetSpec, read_spec
from fracdet_core.parallel import OrderedMap, worker_pool
from fracdet_core.progress import progress_bar

SCHEMA_VERSION = 1
IMAGES_PER_AUTO_SHARD = 1000


@dataclasses.dataclass(frozen=True)
class IngestOptions:
    """How to ingest.

    Attributes:
        shards: shards per split (0: one per `IMAGES_PER_AUTO_SHARD` images); never more
            shards than a split has images, and at least one.
        workers: worker processes.
        limits: image size bounds and downscaling.
    """

    shards: int = 0
    workers: int = 1
    limits: DecodeLimits = DecodeLimits()

    def __post_init__(self) -> None:
        if self.shards < 0:
            raise ConfigError(f"shards must be 0 (automatic) or more, got {self.shards}")
        if self.workers < 1:
            raise ConfigError(f"workers must be >= 1, got {self.workers}")
        if self.limits.max_side < 0 or (self.limits.max_side and self.limits.max_side < self.limits.min_side):
            raise ConfigError(f"max_side must be 0 (keep) or at least {self.limits.min_side}, got {self.limits.max_side}")

    def shard_count(self, images: int) -> int:
        wanted = self.shards or math.ceil(images / IMAGES_PER_AUTO_SHARD)
        return max(1, min(wanted, images))


def processing_order(tasks: list[ImageTask]) -> list[ImageTask]:
    """A fixed pseudo-random order, so each shard mixes folders and classes."""
    return sorted(tasks, key=lambda task: hashlib.sha256(task.source_id.encode()).digest())


def ingest_dataset(data: str, out: str, options: IngestOptions = IngestOptions(), *, progress: bool = True) -> dict:
    """Ingest the dataset that `data` names into `out`; returns the manifest.

    Raises:
        DatasetError: the dataset as a whole is unusable (see `read_spec`).
        StorageError: `out` cannot be written.
    """
    with (
        worker_pool(options.workers, preload=process_image.__module__) as pool,  # starts while we list files
        tempfile.TemporaryDirectory(prefix="fracdet-ingest-") as spill_dir,
    ):
        spec = read_spec(data)
        tasks, problems = discover(spec)
        storage.remove(storage.join(out, "manifest.json"), missing_ok=True)
        storage.remove_temporaries(out)
        quarantine: list[tuple[Problem, str]] = [(problem, "rejected") for problem in problems]
        seen: dict[str, tuple[str, str]] = {}
        with storage.open_write(storage.join(out, "labels.parquet")) as table_stream:
            split_summaries = _ingest_splits(spec, out, tasks, options, pool, spill_dir, seen, quarantine, table_stream, progress)
    write_quarantine(out, quarantine)
    shard_files = {entry["file"] for summary in split_summaries.values() for entry in summary["shards"]}
    for stale in storage.list_files(out):
        if stale.endswith(".tfrecord") and stale.rsplit("/", 1)[-1] not in shard_files:
            storage.remove(stale, missing_ok=True)
    manifest = _manifest(spec, options, split_summaries, quarantine, tasks, problems)
    write_manifest(out, manifest)
    return manifest


def _ingest_splits(
    spec: DatasetSpec,
    out: str,
    tasks: dict[str, list[ImageTask]],
    options: IngestOptions,
    pool: OrderedMap,
    spill_dir: str,
    seen: dict[str, tuple[str, str]],
    quarantine: list[tuple[Problem, str]],
    table_stream: BinaryIO,
    progress: bool,
) -> dict[str, dict]:
    """Every split through the pool, train first (so val copies of train images are the duplicates)."""
    table = LabelTableWriter(table_stream)
    work = functools.partial(
        process_image,
        class_remap=dict(spec.class_remap),
        limits=options.limits,
        spill_dir=spill_dir if options.workers > 1 else None,
    )
    summaries = {
        split: _ingest_split(out, split, processing_order(tasks[split]), options, pool, work, seen, quarantine, table, progress)
        for split in SPLITS
    }
    table.close()
    return summaries


def _ingest_split(
    out: str,
    split: str,
    ordered: list[ImageTask],
    options: IngestOptions,
    pool: OrderedMap,
    work: Callable[[ImageTask], IngestedImage | Problem],
    seen: dict[str, tuple[str, str]],
    quarantine: list[tuple[Problem, str]],
    table: LabelTableWriter,
    progress: bool,
) -> dict:
    images, boxes = Counter(), Counter()
    background = ingested = 0
    bar = progress_bar(len(ordered), f"ingest {split}", enabled=progress)
    with bar, ShardWriter(out, split, len(ordered), options.shard_count(len(ordered))) as shards:
        for result in pool.imap(work, ordered, chunksize=8):
            shards.advance()
            bar.update()
            if isinstance(result, Problem):
                quarantine.append((result, "rejected"))
                continue
            example = result.take_example()
            duplicate = _duplicate_of(result, seen)
            if duplicate:
                quarantine.append((duplicate, "rejected"))
                continue
            seen[result.sha256] = (split, result.task.source_id)
            shards.write(example)
            table.add(label_rows(result, shards.current_name))
            quarantine.extend((Problem(result.task.image_uri, split, reason, detail), "kept") for reason, detail in result.warnings)
            ingested += 1
            background += not result.boxes
            boxes.update(CLASS_NAMES[box.class_id] for box in result.boxes)
            images.update({CLASS_NAMES[box.class_id] for box in result.boxes})
    return {
        "images": ingested,
        "background_images": background,
        "boxes": sum(boxes.values()),
        "classes": {name: {"images": images[name], "boxes": boxes[name]} for name in CLASS_NAMES},
        "shards": shards.written,
    }


def _duplicate_of(image: IngestedImage, seen: dict[str, tuple[str, str]]) -> Problem | None:
    earlier = seen.get(image.sha256)
    if earlier is None:
        return None
    earlier_split, earlier_id = earlier
    reason = "duplicate_across_splits" if earlier_split != image.task.split else "duplicate_within_split"
    return Problem(
        image.task.image_uri, image.task.split, reason, f"same bytes as {earlier_split} image {earlier_id}; that copy is kept"
    )


def _manifest(
    spec: DatasetSpec,
    options: IngestOptions,
    splits: dict[str, dict],
    quarantine: list[tuple[Problem, str]],
    tasks: dict[str, list[ImageTask]],
    listing_problems: list[Problem],
) -> dict:
    rejected = [problem for problem, action in quarantine if action == "rejected"]
    warnings = [problem for problem, action in quarantine if action == "kept"]
    ingested = sum(summary["images"] for summary in splits.values())
    return {
        "schema_version": SCHEMA_VERSION,
        "created_by": f"fracdet {__version__}",
        "source": {
            "data_yaml": spec.yaml_uri,
            "root": spec.root,
            "names": {str(k): v for k, v in sorted(spec.source_names.items())},
            "class_remap": {str(k): v for k, v in sorted(spec.class_remap.items())},
            "remapped": spec.remapped,
        },
        "class_names": list(CLASS_NAMES),
        "options": {
            "shards": options.shards,
            "max_side": options.limits.max_side,
            "max_pixels": options.limits.max_pixels,
            "min_side": options.limits.min_side,
        },
        "splits": splits,
        "totals": {
            "found": sum(len(split_tasks) for split_tasks in tasks.values()) + len(listing_problems),
            "ingested": ingested,
            "quarantined": len(rejected),
            "warnings": len(warnings),
        },
        "quarantine_reasons": dict(sorted(Counter(problem.reason for problem in rejected).items())),
        "warning_reasons": dict(sorted(Counter(problem.reason for problem in warnings).items())),
    }
