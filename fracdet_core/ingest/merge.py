"""Merge the parts of a fanned-out ingest into one ingest output, the same as a single ingest's.

The merge walks the shards in single-ingest order (train before val, by index) and decides
duplicates there, with the single ingest's `DuplicateFinder`: the first copy of repeated bytes is
kept, later ones are quarantined, and their shard is rewritten without them. Every other shard is
copied as its part wrote it. Counts come from the kept label rows through the same `SplitTally`,
and the manifest from the same `build_manifest`, so the output (shards, `labels.parquet`,
`quarantine.jsonl`, `manifest.json`) is byte for byte what a single ingest with the same options
writes.

Shards are copied into the output folder rather than referenced where the parts left them: the
ingest contract (docs/architecture.md) is one folder that readers, EDA and the dashboard take as is. Each
copy is checked against the sha256 its part recorded, and published whole; `manifest.json` comes
last, after the old one is removed first, as in a single ingest, and the merge writes into and
deletes from its folder by the single ingest's rules (`ownership.py`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator, Sequence
from itertools import groupby
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from fracdet_core import storage
from fracdet_core.data.tfrecord import frame_record, read_records
from fracdet_core.ingest.accounting import DuplicateFinder, SplitTally, build_manifest
from fracdet_core.ingest.discovery import Problem
from fracdet_core.ingest.outputs import MANIFEST_FILE, PART_FILE, LabelTableWriter, write_manifest, write_quarantine
from fracdet_core.ingest.ownership import claim_output
from fracdet_core.ingest.part import part_label
from fracdet_core.ingest.plan import FanOutError, IngestPlan
from fracdet_core.ingest.spec import SPLITS
from fracdet_core.progress import progress_bar

_COPY_CHUNK = 8 * 1024 * 1024


def merge_parts(plan: IngestPlan, part_uris: Sequence[str], out: str, *, progress: bool = True) -> dict:
    """Combine the outputs of every part of `plan` (in any order) into one ingest output in `out`.

    Returns:
        The manifest, as `manifest.json` holds it.

    Raises:
        FanOutError: a part is missing or given twice, did not finish, belongs to another plan,
            or a shard does not match what its part recorded.
        OutputNotOwnedError: `out` holds files that ingest did not write (see `claim_output`).
        StorageError: a part cannot be read or `out` cannot be written.
    """
    parts = _read_parts(plan, part_uris)
    claim_output(out, MANIFEST_FILE).clear_previous()
    summaries, duplicates = _merge_shards(plan, parts, out, progress=progress)
    dropped = {(duplicate.split, duplicate.path) for duplicate in duplicates}
    quarantine = [(problem, "rejected") for problem in (*plan.listing_problems, *duplicates)]
    quarantine.extend(_carried_over(parts, dropped))
    write_quarantine(out, quarantine)
    manifest = build_manifest(
        plan.spec, plan.shards_option, plan.limits, summaries, quarantine, plan.tasks(), plan.listing_problems
    )
    write_manifest(out, manifest)
    return manifest


def _merge_shards(plan: IngestPlan, parts: Sequence[_Part], out: str, *, progress: bool) -> tuple[dict[str, dict], list[Problem]]:
    """Walk the shards in single-ingest order, publishing each without its duplicates, and write `labels.parquet`.

    Returns:
        Each split's manifest entry, and the duplicates removed, in the order found.
    """
    owners = {entry["file"]: part for part in parts for entry in part.record["shards"]}
    image_uris = {(task.split, task.source_id): task.image_uri for tasks in plan.tasks().values() for task in tasks}
    first_copies = DuplicateFinder()
    duplicates: list[Problem] = []
    tallies = {split: SplitTally() for split in SPLITS}
    written: dict[str, list[dict[str, object]]] = {split: [] for split in SPLITS}
    shards = plan.shards()
    bar = progress_bar(sum(len(shard.tasks) for shard in shards), "merge ingest parts", enabled=progress)
    labels_uri = storage.join(out, "labels.parquet")
    with bar, storage.open_write(labels_uri) as table_stream, LabelTableWriter(table_stream) as table:
        for shard in shards:
            images = owners[shard.name].images(shard.name)
            found = [first_copies.check(rows[0]["sha256"], shard.split, rows[0]["image_id"],
                                        image_uris[(shard.split, rows[0]["image_id"])]) for rows in images]
            for rows, duplicate in zip(images, found, strict=True):
                if duplicate is None:
                    table.add(rows)
                    tallies[shard.split].add([row["class_id"] for row in rows if row["class_id"] is not None],
                                             rows[0]["anatomy"])
            duplicates.extend(duplicate for duplicate in found if duplicate is not None)
            keep = [duplicate is None for duplicate in found]
            written[shard.split].append(_publish_shard(owners[shard.name], shard.name, keep, out))
            bar.update(len(shard.tasks))
    return {split: tallies[split].summary(written[split]) for split in SPLITS}, duplicates


def _carried_over(parts: Sequence[_Part], dropped: set[tuple[str, str]]) -> list[tuple[Problem, str]]:
    """The parts' quarantine entries, less the label warnings of the images in `dropped` (split, URI).

    A single ingest checks an image's bytes before it records its warnings, so a duplicate's go with it.
    """
    return [
        (problem, action)
        for part in parts
        for problem, action in part.quarantine()
        if not (action == "kept" and (problem.split, problem.path) in dropped)
    ]


@dataclasses.dataclass(frozen=True)
class _Part:
    """A finished part's output folder, read back."""

    uri: str
    record: dict
    labels: pa.Table

    @classmethod
    def read(cls, uri: str) -> _Part:
        marker = storage.join(uri, PART_FILE)
        if not storage.exists(marker):
            raise FanOutError(
                f"{uri} holds no {PART_FILE}: its ingest part did not finish, or it is not an ingest part's output"
            )
        labels = pq.read_table(pa.BufferReader(storage.read_bytes(storage.join(uri, "labels.parquet"))))
        return cls(uri, json.loads(storage.read_text(marker)), labels)

    def shard_entry(self, name: str) -> dict:
        return next(entry for entry in self.record["shards"] if entry["file"] == name)

    def images(self, shard: str) -> list[list[dict]]:
        """The label rows of each image of `shard`, in shard order (an image's rows are consecutive)."""
        rows = self.labels.filter(pc.equal(self.labels["shard"], shard)).to_pylist()
        return [list(group) for _, group in groupby(rows, key=lambda row: row["image_id"])]

    def quarantine(self) -> list[tuple[Problem, str]]:
        lines = storage.read_text(storage.join(self.uri, "quarantine.jsonl")).splitlines()
        entries = [json.loads(line) for line in lines if line]
        return [(Problem(e["path"], e["split"], e["reason"], e["detail"]), e["action"]) for e in entries]


def _read_parts(plan: IngestPlan, part_uris: Sequence[str]) -> list[_Part]:
    """The parts by index, after checking that they are exactly the plan's, each finished and whole."""
    count = len(plan.parts)
    found: dict[int, _Part] = {}
    for uri in part_uris:
        part = _Part.read(uri)
        index = part.record["part"]
        if part.record["plan_sha256"] != plan.fingerprint:
            raise FanOutError(
                f"{uri} is {part_label(index, part.record['parts'])} of another ingest plan (plan sha256 "
                f"{part.record['plan_sha256'][:12]}, this plan's {plan.fingerprint[:12]}): merge the parts of one plan"
            )
        if index in found:
            raise FanOutError(f"{part_label(index, count)} was given twice: {found[index].uri} and {uri}")
        found[index] = part
    missing = [str(index) for index in range(count) if index not in found]
    if missing:
        raise FanOutError(
            f"ingest part(s) {', '.join(missing)} of parts 0-{count - 1} missing: got {len(part_uris)} part folder(s)"
            f" ({', '.join(part_uris) or 'none'}); every part must finish before the merge"
        )
    for index, part in found.items():
        expected = [shard.name for shard in plan.parts[index]]
        written = [entry["file"] for entry in part.record["shards"]]
        if written != expected:
            raise FanOutError(f"{part.uri}: {part_label(index, count)} wrote {written}, its plan gives it {expected}")
    return [found[index] for index in range(count)]


class _HashingReader:
    """A read-only stream that hashes what passes through it, so a copy verifies as it goes."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.digest.update(data)
        return data


def _publish_shard(part: _Part, name: str, keep: list[bool], out: str) -> dict[str, object]:
    """Copy one shard of `part` into `out`, without the records `keep` marks False; its manifest entry.

    Raises:
        FanOutError: the shard's records or sha256 differ from what the part recorded; nothing is
            published then.
    """
    entry = part.shard_entry(name)
    source = storage.join(part.uri, name)
    if len(keep) != entry["records"]:
        raise FanOutError(f"{source}: {PART_FILE} records {entry['records']} records, its labels.parquet {len(keep)} images")
    with storage.open_read(source) as stream, storage.open_write(storage.join(out, name)) as target:
        reader = _HashingReader(stream)
        try:
            if all(keep):
                for chunk in iter(lambda: reader.read(_COPY_CHUNK), b""):
                    target.write(chunk)
                published = {"file": name, "records": entry["records"], "sha256": entry["sha256"]}
            else:
                published = _write_kept(name, zip(read_records(reader), keep, strict=True), target)
        except ValueError as error:  # a truncated or corrupted record, or fewer or more records than recorded
            raise FanOutError(f"{source}: {error}; it is not the shard its part wrote") from error
        if reader.digest.hexdigest() != entry["sha256"]:
            raise FanOutError(
                f"{source}: sha256 {reader.digest.hexdigest()} differs from the {entry['sha256']} its part recorded"
            )
    return published


def _write_kept(name: str, records: Iterator[tuple[bytes, bool]], target: BinaryIO) -> dict[str, object]:
    digest, count = hashlib.sha256(), 0
    for record, wanted in records:
        if wanted:
            framed = frame_record(record)
            target.write(framed)
            digest.update(framed)
            count += 1
    return {"file": name, "records": count, "sha256": digest.hexdigest()}
