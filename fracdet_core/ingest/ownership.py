"""Which output folders ingest writes into, and the only files it deletes there.

An output folder may hold things ingest did not write: the user's notes, an older dataset
in a subfolder, another program's hidden files. Ingest deletes only what it wrote itself:
- the completion marker (`manifest.json`, or `part.json` for a fan-out part), removed first
  so that an interrupted run leaves none;
- the shards the previous marker lists, but only names of ingest's own shard form
  (`train-00000-of-00007.tfrecord`) lying directly in the folder, so a marker that names
  anything else cannot make ingest delete it;
- the staging files of its own writes that a killed run left, named exactly as the storage
  layer names them (`.<name>.tmp-<32 hex digits>`), for the names ingest writes, directly in the folder.

It writes only into a folder it can tell is its own: one that is missing or empty, one that
holds its marker, or one that holds nothing but the names ingest writes (what an interrupted
ingest leaves behind). Any other folder is refused before anything is read or written, with
a message that names the folder and what is in it.

The fan-out paths (`part.py`, `merge.py`) follow the same rules, each with its own marker.
"""

from __future__ import annotations

import dataclasses
import json
import re

from fracdet_core import storage
from fracdet_core.errors import ConfigError
from fracdet_core.ingest.outputs import OUTPUT_FILES, SHARD_NAME

_SHOWN_FILES = 5
_OWN_NAMES = "|".join([*(re.escape(name) for name in OUTPUT_FILES), SHARD_NAME.pattern])


class OutputNotOwnedError(ConfigError):
    """The output folder holds files that ingest did not write."""


@dataclasses.dataclass(frozen=True)
class IngestFolder:
    """An output folder that ingest has found to be its own.

    Attributes:
        uri: the folder.
        marker: the completion marker's file name.
        previous_shards: the shard names the previous marker lists (top-level, of ingest's
            shard form); empty when there was no marker.
    """

    uri: str
    marker: str
    previous_shards: tuple[str, ...]

    def clear_previous(self) -> None:
        """Remove the marker, then the shards the marker listed, then staging files that killed writes of ingest left."""
        storage.remove(storage.join(self.uri, self.marker), missing_ok=True)
        for name in self.previous_shards:
            storage.remove(storage.join(self.uri, name), missing_ok=True)
        storage.remove_temporaries(self.uri, _OWN_NAMES)


def claim_output(out: str, marker: str) -> IngestFolder:
    """Check that ingest may write into `out`, and learn which shards its previous run there wrote.

    Args:
        out: the output folder or `gs://` prefix.
        marker: the completion marker this writer publishes last (`manifest.json`, `part.json`).

    Raises:
        OutputNotOwnedError: `out` holds files and neither an ingest marker nor only ingest's names.
        StorageError: `out` cannot be listed or read.
    """
    marker_uri = storage.join(out, marker)
    has_marker = storage.exists(marker_uri)
    if has_marker:
        shards = _recorded_shards(storage.read_bytes(marker_uri))
        if shards is not None:
            return IngestFolder(out, marker, shards)
    root = storage.normalize(out).rstrip("/") + "/"
    found = [uri[len(root):] for uri in storage.list_files(root)]
    foreign = [name for name in found if not _is_own_name(name)]
    if has_marker:
        raise OutputNotOwnedError(
            f"{marker_uri} is not the {marker} of a fracdet ingest, and {out} holds {_describe(found)}: ingest writes "
            f"only into an empty folder or one it wrote before. Choose another output folder, or empty this one"
        )
    if foreign:
        raise OutputNotOwnedError(
            f"{out} is not empty and no fracdet ingest wrote it: it holds {_describe(foreign)}, and no {marker}. "
            f"Ingest writes only into an empty folder or one it wrote before, and never deletes what it did not "
            f"write. Choose another output folder, or empty this one"
        )
    return IngestFolder(out, marker, ())


def _is_own_name(relative: str) -> bool:
    """Whether a file at `relative` (to the folder) is one ingest writes: a top-level output or shard."""
    return "/" not in relative and (relative in OUTPUT_FILES or SHARD_NAME.fullmatch(relative) is not None)


def _recorded_shards(content: bytes) -> tuple[str, ...] | None:
    """The shard names an ingest marker (`manifest.json` or `part.json`) lists, or None if it is not ingest's."""
    try:
        record = json.loads(content)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("schema_version"), int):
        return None
    if isinstance(record.get("splits"), dict):  # manifest.json
        entries = [entry for split in record["splits"].values() if isinstance(split, dict)
                   for entry in split.get("shards", [])]
    elif isinstance(record.get("shards"), list) and "plan_sha256" in record:  # part.json
        entries = record["shards"]
    else:
        return None
    names = [entry.get("file") for entry in entries if isinstance(entry, dict)]
    return tuple(name for name in names if isinstance(name, str) and SHARD_NAME.fullmatch(name))


def _describe(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOWN_FILES])
    more = len(names) - _SHOWN_FILES
    return f"{len(names)} file(s): {shown}" + (f" and {more} more" if more > 0 else "")
