"""The files under a folder or prefix: listed, listed with their versions, fingerprinted, copied."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil

from fracdet_core.errors import NotFoundError
from fracdet_core.storage.files import open_read, open_write, read_bytes
from fracdet_core.storage.gcs import READ_CHUNK, Gcs
from fracdet_core.storage.local import local_errors
from fracdet_core.storage.paths import TEMP_MARKER, is_gcs, join, normalize


def list_files(prefix: str | os.PathLike[str]) -> list[str]:
    """Every file under the folder or prefix `prefix`, recursively, sorted.

    Temporary files of writes still in progress, and staging folders below `prefix`, are left
    out; the listing of a staging folder itself shows its files. A missing folder lists as empty.
    """
    if is_gcs(prefix):
        return Gcs.list_files(str(prefix))
    root = os.fspath(prefix)
    found = []
    for folder, folders, names in os.walk(root):
        folders[:] = [name for name in folders if TEMP_MARKER not in name]  # staging folders, as on GCS
        found.extend(os.path.join(folder, name) for name in names if TEMP_MARKER not in name)
    return sorted(found)


@dataclasses.dataclass(frozen=True)
class FileVersion:
    """One file as a listing sees it: enough to tell that it changed, without reading it.

    Attributes:
        uri: the file or object.
        size: bytes.
        version: on GCS the object's MD5 (its content; the generation where there is no MD5,
            as for composite objects); locally the modification time in nanoseconds.
    """

    uri: str
    size: int
    version: str


def list_file_versions(prefix: str | os.PathLike[str]) -> list[FileVersion]:
    """Every file under `prefix` as `list_files` finds it, with its size and version, in one listing."""
    if is_gcs(prefix):
        return [FileVersion(*listed) for listed in Gcs.list_file_versions(str(prefix))]
    versions = []
    for path in list_files(prefix):
        with local_errors(path):
            status = os.stat(path)
        versions.append(FileVersion(path, status.st_size, str(status.st_mtime_ns)))
    return versions


def tree_sha256(folder: str | os.PathLike[str]) -> str:
    """sha256 over the relative names and contents of every file under `folder`: a folder's identity."""
    digest = hashlib.sha256()
    root = normalize(folder).rstrip("/") + "/"
    for uri in list_files(root):
        digest.update(uri[len(root):].encode() + b"\0")
        digest.update(hashlib.sha256(read_bytes(uri)).digest())
    return digest.hexdigest()


def copy_tree(source: str | os.PathLike[str], destination: str | os.PathLike[str]) -> int:
    """Copy every file under `source` to the same relative place under `destination`.

    Works across backends; GCS to GCS copies stay on the server.

    Returns:
        The number of files copied.

    Raises:
        NotFoundError: `source` holds no files.
    """
    source_root = str(source).rstrip("/")
    files = list_files(source_root)
    if not files:
        raise NotFoundError(f"nothing to copy: no files under {source_root}")
    for path in files:
        relative = path[len(source_root) + 1 :]  # list_files returns paths under source_root
        copy_file(path, join(destination, *relative.split("/")))
    return len(files)


def copy_file(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Publish a copy of one file at `target`, whole or not at all; GCS to GCS on the server."""
    if is_gcs(source) and is_gcs(target):
        Gcs.copy(str(source), str(target))
        return
    with open_read(source) as reader, open_write(target) as writer:
        shutil.copyfileobj(reader, writer, length=READ_CHUNK)
