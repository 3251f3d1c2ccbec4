"""Single files and objects: read, published atomically, compared and swapped, deleted."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from fracdet_core.errors import ConflictError
from fracdet_core.storage.gcs import Gcs
from fracdet_core.storage.local import local_errors, open_local, publish_local
from fracdet_core.storage.paths import TEMP_MARKER, is_gcs


def read_bytes(uri: str | os.PathLike[str]) -> bytes:
    """The whole content of a file or object."""
    with open_read(uri) as stream:
        return stream.read()


def read_text(uri: str | os.PathLike[str], encoding: str = "utf-8") -> str:
    """The whole content of a text file or object."""
    return read_bytes(uri).decode(encoding)


def write_bytes(uri: str | os.PathLike[str], data: bytes, *, create_only: bool = False) -> None:
    """Publish `data` at `uri` atomically.

    Args:
        uri: local path or `gs://` URI; local parent folders are created.
        data: the full content.
        create_only: fail instead of replacing an existing object. Of several writers racing
            for the same URI exactly one succeeds.

    Raises:
        AlreadyExistsError: `create_only` and the target exists.
    """
    if is_gcs(uri):
        Gcs.write_bytes(str(uri), data, create_only=create_only)
    else:
        with open_write(uri, create_only=create_only) as stream:
            stream.write(data)


def write_text(
    uri: str | os.PathLike[str], text: str, *, create_only: bool = False, encoding: str = "utf-8"
) -> None:
    """Publish `text` at `uri` atomically; see `write_bytes`."""
    write_bytes(uri, text.encode(encoding), create_only=create_only)


@contextlib.contextmanager
def open_read(uri: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """A binary stream over a file or object, read lazily so large objects stay out of memory."""
    if is_gcs(uri):
        with Gcs.open_read(str(uri)) as stream:
            yield stream
    else:
        with open_local(uri, "rb") as stream:
            yield stream


@contextlib.contextmanager
def open_write(uri: str | os.PathLike[str], *, create_only: bool = False) -> Iterator[BinaryIO]:
    """A binary stream whose content is published at `uri` only when the block exits cleanly.

    If the block raises, or the process dies, nothing appears at `uri`: the data goes to a
    temporary file first (beside the target locally, in the temp folder for GCS).

    Raises:
        AlreadyExistsError: `create_only` and the target exists when publishing.
    """
    if is_gcs(uri):
        with tempfile.NamedTemporaryFile(prefix="fracdet-upload-") as staging:
            yield staging  # type: ignore[misc]
            staging.flush()
            Gcs.upload_file(str(uri), staging.name, create_only=create_only)
        return

    target = Path(os.fspath(uri))
    with local_errors(str(target)):
        target.parent.mkdir(parents=True, exist_ok=True)
    staging_path = target.with_name(f".{target.name}{TEMP_MARKER}{uuid.uuid4().hex}")
    stream = open_local(staging_path, "wb")
    try:
        with stream:
            yield stream  # type: ignore[misc]
            stream.flush()
            os.fsync(stream.fileno())
        publish_local(staging_path, target, create_only=create_only)
    finally:
        staging_path.unlink(missing_ok=True)


MISSING = "0"  # the version token of an object that does not exist (generation 0 to a GCS precondition)


def read_versioned(uri: str | os.PathLike[str]) -> tuple[bytes | None, str]:
    """The content of `uri` (None when absent) and a version token for `write_if_unchanged`.

    The token is the object generation on GCS and a content hash locally; `MISSING` when absent.
    """
    if is_gcs(uri):
        return Gcs.read_versioned(str(uri)) or (None, MISSING)
    path = os.fspath(uri)
    if not os.path.isfile(path):
        return None, MISSING
    data = read_bytes(path)
    return data, hashlib.sha256(data).hexdigest()


def write_if_unchanged(uri: str | os.PathLike[str], data: bytes, token: str) -> None:
    """Compare and swap: publish `data` only if `uri` is still at the version `token` names.

    Of two writers that read the same version, exactly one succeeds. On GCS this is an
    `if_generation_match` precondition; locally the check and the atomic rename happen under an
    exclusive `flock` on a hidden lock file beside the target (local disks only, not NFS).

    Raises:
        ConflictError: the object changed (or appeared, or vanished) since `token` was read.
    """
    if is_gcs(uri):
        Gcs.write_if_unchanged(str(uri), data, token)
        return
    target = Path(os.fspath(uri))
    with local_errors(str(target)):
        target.parent.mkdir(parents=True, exist_ok=True)
    with open_local(target.with_name(f".{target.name}{TEMP_MARKER}lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if read_versioned(target)[1] != token:
            raise ConflictError(f"{target} changed since it was read; read it again and retry")
        with open_write(target) as stream:
            stream.write(data)


def exists(uri: str | os.PathLike[str]) -> bool:
    """Whether a file or object exists at `uri` (folders and prefixes count as missing)."""
    if is_gcs(uri):
        return Gcs.exists(str(uri))
    return os.path.isfile(os.fspath(uri))


def remove(uri: str | os.PathLike[str], *, missing_ok: bool = False) -> None:
    """Delete one file or object.

    Raises:
        NotFoundError: it does not exist and `missing_ok` is false.
    """
    if is_gcs(uri):
        Gcs.remove(str(uri), missing_ok=missing_ok)
        return
    path = os.fspath(uri)
    if missing_ok and not os.path.exists(path):
        return
    with local_errors(path):
        os.unlink(path)


def remove_temporaries(folder: str | os.PathLike[str], names: str) -> int:
    """Delete the staging files that this caller's writes, killed mid-write, left in a local folder; returns how many.

    Only files directly in `folder` named exactly as `open_write` names its staging files,
    `.<name>.tmp-<32 hex digits>`, and only for a `<name>` that the regular expression `names`
    matches whole: the caller names its own writes, and everything else in the folder (other
    programs' hidden files, subfolders) is not its to delete. Such files are never visible
    through `list_files`; this only frees their space. GCS writes stage outside the bucket, so
    there is nothing to remove there.
    """
    if is_gcs(folder) or not os.path.isdir(folder):
        return 0
    staging = re.compile(rf"\.(?:{names}){re.escape(TEMP_MARKER)}[0-9a-f]{{32}}")
    removed = 0
    with os.scandir(os.fspath(folder)) as entries:
        for entry in entries:
            if staging.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed += 1
    return removed
