"""The files ingest publishes: TFRecord shards, `labels.parquet`, `quarantine.jsonl`, `manifest.json`.

Each is published atomically through the storage layer; `manifest.json` comes last, so its
presence means the ingest is whole.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from fracdet_core import storage
from fracdet_core.boxes import xyxy_to_cxcywh
from fracdet_core.classes import CLASS_NAMES, describe_class
from fracdet_core.data.tfrecord import frame_record
from fracdet_core.ingest.discovery import Problem
from fracdet_core.ingest.process import IngestedImage

LABEL_SCHEMA = pa.schema(
    [
        ("image_id", pa.string()),
        ("split", pa.string()),
        ("class_id", pa.int32()),
        ("class_name", pa.string()),
        ("body_part", pa.string()),
        ("positive", pa.bool_()),
        ("cx", pa.float32()),
        ("cy", pa.float32()),
        ("w", pa.float32()),
        ("h", pa.float32()),
        ("image_width", pa.int32()),
        ("image_height", pa.int32()),
        ("shard", pa.string()),
        ("sha256", pa.string()),
        ("in_scope", pa.bool_()),
        ("anatomy", pa.string()),
    ]
)
_ROW_GROUP = 8192


MANIFEST_FILE = "manifest.json"  # an ingest's completion marker
PART_FILE = "part.json"  # a fan-out part's completion marker
# Every name ingest writes into an output folder (ingest, fan-out parts and merge alike), beside
# the shards: `ownership` deletes nothing else there.
OUTPUT_FILES = (MANIFEST_FILE, PART_FILE, "labels.parquet", "quarantine.jsonl")
SHARD_NAME = re.compile(r"(?:train|val)-\d{5,}-of-\d{5,}\.tfrecord")


def shard_name(split: str, index: int, count: int) -> str:
    return f"{split}-{index:05d}-of-{count:05d}.tfrecord"


def shard_bounds(images: int, shards: int) -> list[int]:
    """Shard k holds processing positions [bounds[k], bounds[k + 1]): sizes differ by at most one."""
    return [images * k // shards for k in range(shards + 1)]


class ShardWriter:
    """Writes a split's records into a fixed number of shards, one open at a time.

    Shard k receives the images at positions [k*n/N, (k+1)*n/N) of the split's processing
    order, so shard sizes differ by at most one image before quarantine. Used as a context
    manager: on success every shard is published (empty ones too, so names stay stable); on an
    exception the shard in progress is dropped unpublished.

    A fan-out part writes some shards of a larger set: `first_index` and `total_shards` give
    them the names they have in a single ingest (shard k is named `first_index + k` of
    `total_shards`), so merging the parts needs no renaming.
    """

    def __init__(
        self, out: str, split: str, images: int, shards: int, *, first_index: int = 0, total_shards: int | None = None
    ) -> None:
        self._out, self._split, self._count = out, split, shards
        self._first_index, self._total_shards = first_index, total_shards or shards
        self._bounds = shard_bounds(images, shards)
        self._index = -1
        self._position = 0
        self._context: contextlib.AbstractContextManager[BinaryIO] | None = None
        self._stream: BinaryIO | None = None
        self._hash = hashlib.sha256()
        self._records = 0
        self.written: list[dict[str, object]] = []

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, kind, error, traceback) -> None:  # noqa: ANN001 - context manager protocol
        if error is None:
            while self._index < self._count - 1:
                self._open_next()
            self._close_current()
        elif self._context is not None:
            self._context.__exit__(kind, error, traceback)

    @property
    def current_name(self) -> str:
        return shard_name(self._split, self._first_index + max(self._index, 0), self._total_shards)

    def advance(self) -> None:
        """Move to the next image position, opening the next shard when this one is full."""
        while self._index < 0 or self._position >= self._bounds[self._index + 1]:
            self._open_next()
        self._position += 1

    def write(self, record: bytes) -> None:
        assert self._stream is not None, "advance() opens a shard before the first write"
        framed = frame_record(record)
        self._stream.write(framed)
        self._hash.update(framed)
        self._records += 1

    def _open_next(self) -> None:
        self._close_current()
        self._index += 1
        self._context = storage.open_write(storage.join(self._out, self.current_name))
        self._stream = self._context.__enter__()

    def _close_current(self) -> None:
        if self._context is None:
            return
        self._context.__exit__(None, None, None)
        self.written.append({"file": self.current_name, "records": self._records, "sha256": self._hash.hexdigest()})
        self._context, self._stream, self._hash, self._records = None, None, hashlib.sha256(), 0


def label_rows(image: IngestedImage, shard: str) -> list[dict[str, object]]:
    """Rows of `labels.parquet` for one image: one per box, or one null-class row if it has none.

    `in_scope` and `anatomy` say whether the image is within the indications and, if not, its kind
    (an out-of-scope image has no boxes, so one null-class row).
    """
    common = {
        "image_id": image.task.source_id,
        "split": image.task.split,
        "image_width": image.width,
        "image_height": image.height,
        "shard": shard,
        "sha256": image.sha256,
        "in_scope": not image.task.anatomy,
        "anatomy": image.task.anatomy,
    }
    if not image.boxes:
        return [{**common, "class_id": None, "class_name": None, "body_part": None, "positive": None,
                 "cx": None, "cy": None, "w": None, "h": None}]
    rows = []
    for box in image.boxes:
        name = CLASS_NAMES[box.class_id]
        part, positive = describe_class(name)
        rows.append(
            {
                **common,
                "class_id": box.class_id,
                "class_name": name,
                "body_part": part,
                "positive": positive,
                **dict(zip(("cx", "cy", "w", "h"), xyxy_to_cxcywh(box.xmin, box.ymin, box.xmax, box.ymax), strict=True)),
            }
        )
    return rows


class LabelTableWriter:
    """Streams rows into `labels.parquet` in row groups, so memory stays flat.

    As a context manager it closes on the way out even when the block raises, before the stream
    under it is discarded (an unclosed writer would write its footer later, to a closed stream).
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._writer = pq.ParquetWriter(stream, LABEL_SCHEMA, compression="zstd")
        self._pending: list[dict[str, object]] = []

    def __enter__(self) -> LabelTableWriter:
        return self

    def __exit__(self, kind, error, traceback) -> None:  # noqa: ANN001 - context manager protocol
        self.close()

    def add(self, rows: Iterable[dict[str, object]]) -> None:
        self._pending.extend(rows)
        if len(self._pending) >= _ROW_GROUP:
            self._flush()

    def close(self) -> None:
        self._flush()
        self._writer.close()

    def _flush(self) -> None:
        if self._pending:
            self._writer.write_table(pa.Table.from_pylist(self._pending, schema=LABEL_SCHEMA))
            self._pending = []


def write_quarantine(out: str, entries: Sequence[tuple[Problem, str]]) -> None:
    """`quarantine.jsonl`: one object per rejected or suspicious file, sorted for stable bytes.

    Each entry carries `action`: "rejected" (not ingested) or "kept" (ingested, with a warning).
    """
    ordered = sorted(entries, key=lambda item: (item[0].split, item[0].path, item[0].reason, item[0].detail))
    lines = [
        json.dumps({"path": p.path, "split": p.split, "reason": p.reason, "detail": p.detail, "action": action},
                   ensure_ascii=False)
        for p, action in ordered
    ]
    storage.write_text(storage.join(out, "quarantine.jsonl"), "".join(line + "\n" for line in lines))


def write_manifest(out: str, manifest: dict[str, object]) -> None:
    storage.write_text(storage.join(out, MANIFEST_FILE), json.dumps(manifest, indent=2, sort_keys=False) + "\n")
