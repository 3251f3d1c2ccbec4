"""One door to storage for every stage: local paths and `gs://bucket/prefix` URIs alike.

Every stage reads and writes through these functions so that a local run and a cluster run
differ only in the URIs they are given. Writes are atomic: an object becomes visible whole or
not at all. Locally that is a temporary file in the target folder and a rename; on Google Cloud
Storage a single upload is already atomic, and create-only writes add the precondition
`if_generation_match=0`, so of several racing writers exactly one succeeds.

Errors a user can fix (missing bucket or object, denied access, an existing target of a
create-only write) become `fracdet_core.errors` exceptions naming the URI. Transient GCS errors
are retried by the client's own retry policies.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import errno
import fcntl
import functools
import hashlib
import os
import posixpath
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from fracdet_core.errors import AccessDeniedError, AlreadyExistsError, ConflictError, NotFoundError, StorageError

GCS_SCHEME = "gs://"
_TEMP_MARKER = ".tmp-"
_GCS_READ_CHUNK = 8 * 1024 * 1024


def is_gcs(uri: str | os.PathLike[str]) -> bool:
    """Whether `uri` names a Google Cloud Storage location."""
    return str(uri).startswith(GCS_SCHEME)


def join(base: str | os.PathLike[str], *parts: str) -> str:
    """Join path segments onto a local path or a `gs://` URI."""
    if is_gcs(base):
        segments = [str(base).rstrip("/")] + [part.strip("/") for part in parts]
        return "/".join(segment for segment in segments if segment)
    return os.path.join(os.fspath(base), *parts)


def normalize(uri: str | os.PathLike[str]) -> str:
    """Collapse `.`, `..` and repeated slashes, on local paths and in `gs://` keys alike.

    Raises:
        StorageError: a `gs://` key whose `..` climbs above the bucket.
    """
    if is_gcs(uri):
        bucket, key = split_gcs(str(uri))
        key = posixpath.normpath(key) if key else ""
        if key == ".." or key.startswith("../"):
            raise StorageError(f"{uri} climbs above its bucket")
        return f"{GCS_SCHEME}{bucket}" + ("" if key in ("", ".") else f"/{key}")
    return os.path.normpath(os.fspath(uri))


def split_gcs(uri: str) -> tuple[str, str]:
    """Split `gs://bucket/key` into (bucket, key); the key may be empty.

    Raises:
        StorageError: if `uri` has no bucket name.
    """
    bucket, _, key = uri[len(GCS_SCHEME) :].partition("/")
    if not bucket:
        raise StorageError(f"{uri!r} names no bucket; expected gs://BUCKET/PATH")
    return bucket, key


# --- public operations --------------------------------------------------------------------


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
        _Gcs.write_bytes(str(uri), data, create_only=create_only)
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
        with _Gcs.open_read(str(uri)) as stream:
            yield stream
    else:
        path = os.fspath(uri)
        with _local_errors(path):
            stream = open(path, "rb")
        with stream:
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
            _Gcs.upload_file(str(uri), staging.name, create_only=create_only)
        return

    target = Path(os.fspath(uri))
    with _local_errors(str(target)):
        target.parent.mkdir(parents=True, exist_ok=True)
        staging_path = target.with_name(f".{target.name}{_TEMP_MARKER}{uuid.uuid4().hex}")
        stream = open(staging_path, "wb")
    try:
        with stream:
            yield stream  # type: ignore[misc]
            stream.flush()
            os.fsync(stream.fileno())
        _publish_local(staging_path, target, create_only=create_only)
    finally:
        staging_path.unlink(missing_ok=True)


MISSING = "0"  # the version token of an object that does not exist


def read_versioned(uri: str | os.PathLike[str]) -> tuple[bytes | None, str]:
    """The content of `uri` (None when absent) and a version token for `write_if_unchanged`.

    The token is the object generation on GCS and a content hash locally; `MISSING` when absent.
    """
    if is_gcs(uri):
        return _Gcs.read_versioned(str(uri))
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
        _Gcs.write_if_unchanged(str(uri), data, token)
        return
    target = Path(os.fspath(uri))
    with _local_errors(str(target)):
        target.parent.mkdir(parents=True, exist_ok=True)
        lock = open(target.with_name(f".{target.name}{_TEMP_MARKER}lock"), "a")
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if read_versioned(target)[1] != token:
            raise ConflictError(f"{target} changed since it was read; read it again and retry")
        with open_write(target) as stream:
            stream.write(data)


def exists(uri: str | os.PathLike[str]) -> bool:
    """Whether a file or object exists at `uri` (folders and prefixes count as missing)."""
    if is_gcs(uri):
        return _Gcs.exists(str(uri))
    return os.path.isfile(os.fspath(uri))


def list_files(prefix: str | os.PathLike[str]) -> list[str]:
    """Every file under the folder or prefix `prefix`, recursively, sorted.

    Temporary files of writes still in progress, and staging folders below `prefix`, are left
    out; the listing of a staging folder itself shows its files. A missing folder lists as empty.
    """
    if is_gcs(prefix):
        return _Gcs.list_files(str(prefix))
    root = os.fspath(prefix)
    found = []
    for folder, folders, names in os.walk(root):
        folders[:] = [name for name in folders if _TEMP_MARKER not in name]  # staging folders, as on GCS
        found.extend(os.path.join(folder, name) for name in names if _TEMP_MARKER not in name)
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
        return _Gcs.list_file_versions(str(prefix))
    versions = []
    for path in list_files(prefix):
        with _local_errors(path):
            status = os.stat(path)
        versions.append(FileVersion(path, status.st_size, str(status.st_mtime_ns)))
    return versions


def remove(uri: str | os.PathLike[str], *, missing_ok: bool = False) -> None:
    """Delete one file or object.

    Raises:
        NotFoundError: it does not exist and `missing_ok` is false.
    """
    if is_gcs(uri):
        _Gcs.remove(str(uri), missing_ok=missing_ok)
        return
    path = os.fspath(uri)
    if missing_ok and not os.path.exists(path):
        return
    with _local_errors(path):
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
    staging = re.compile(rf"\.(?:{names}){re.escape(_TEMP_MARKER)}[0-9a-f]{{32}}")
    removed = 0
    with os.scandir(os.fspath(folder)) as entries:
        for entry in entries:
            if staging.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed += 1
    return removed


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
        target = join(destination, *relative.split("/"))
        if is_gcs(path) and is_gcs(target):
            _Gcs.copy(path, target)
        else:
            with open_read(path) as reader, open_write(target) as writer:
                shutil.copyfileobj(reader, writer, length=_GCS_READ_CHUNK)
    return len(files)


# --- folders published whole --------------------------------------------------------------
#
# A stage whose output is a folder builds it in a hidden staging folder beside the target, then
# publishes it in one step. Beside, so that locally the step is a rename within one file system;
# hidden behind the temporary marker, so that listings of the parent leave it out.

_RENAME_EXCHANGE = 2  # <linux/fs.h>
_AT_FDCWD = -100  # <fcntl.h>: a path relative to the working directory
_ASIDE_TAG = "previous"


def overlap(first: str | os.PathLike[str], second: str | os.PathLike[str]) -> str | None:
    """How two locations nest: "same", "inside" (`first` lies inside `second`), "contains", or None.

    Local paths are compared as resolved real paths (symbolic links followed, `..` collapsed),
    so two spellings of one folder are the same; `gs://` URIs as normalised keys, on whole path
    segments (`gs://b/in` does not contain `gs://b/input`). A local path and a URI never overlap.
    """
    if is_gcs(first) != is_gcs(second):
        return None
    if is_gcs(first):
        first_key, second_key = normalize(first), normalize(second)
    else:
        first_key, second_key = os.path.realpath(first), os.path.realpath(second)
    if first_key == second_key:
        return "same"
    if first_key.startswith(second_key.rstrip("/") + "/"):
        return "inside"
    if second_key.startswith(first_key.rstrip("/") + "/"):
        return "contains"
    return None


@contextlib.contextmanager
def staging_folder(target: str | os.PathLike[str]) -> Iterator[str]:
    """A fresh hidden folder beside `target` to build its next content in; deleted on exit.

    Yields its path or URI. Publish it before the block ends (locally `replace_folder`; on GCS,
    copy it in); on exit it is deleted with whatever it then holds: the previous content after a
    swap, the partial results after an error.

    Before it is made, what killed runs left beside a local `target` is cleared: a swap cut
    short is undone (`recover_folder`), and staging folders no live process holds are deleted
    (each run holds an flock on its folder, which the kernel drops when the process dies). GCS
    has no such lock: a killed run's staging prefix stays, hidden from listings, until deleted
    by hand.

    Raises:
        StorageError: `target` is a bucket or the root folder, which have nothing beside them.
    """
    if is_gcs(target):
        staging = _sibling(str(target), uuid.uuid4().hex)
        try:
            yield staging
        finally:
            remove_folder(staging)
        return
    recover_folder(target)
    _remove_dead_staging(target)
    staging = _sibling(os.fspath(target), uuid.uuid4().hex)
    with _local_errors(staging):
        os.makedirs(staging)
        handle = os.open(staging, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield staging
    finally:
        os.close(handle)
        remove_folder(staging)


def replace_folder(staging: str, target: str | os.PathLike[str]) -> None:
    """Put the local folder `staging` at `target` in one step; `staging` is left holding the previous `target`, if any.

    With Linux `renameat2(RENAME_EXCHANGE)` (glibc 2.28 or later, on most local file systems)
    the two swap atomically: whenever one looks, and whenever the process dies, `target` is the
    old folder or the new one. Without it (NFS, other systems) `target` moves aside, `staging`
    moves in, and the aside moves to `staging`: a kill between the first two renames leaves no
    `target`, which the next `staging_folder` for it undoes (`recover_folder`).

    Raises:
        StorageError: `target` is a `gs://` URI (GCS has no folder rename), or a rename failed.
    """
    if is_gcs(target):
        raise StorageError(f"{target}: a gs:// prefix cannot be replaced in one step; copy the staged files in")
    target = os.path.abspath(target)
    try:
        if not os.path.lexists(target):
            os.rename(staging, target)
        elif not _exchange(staging, target):
            _replace_by_renames(staging, target)
        _fsync_folder(os.path.dirname(target))
    except OSError as error:
        raise StorageError(f"cannot publish {target}: {error.strerror or error}") from error


def _replace_by_renames(staging: str, target: str) -> None:
    """`replace_folder` where folders cannot be swapped: three renames, the first two undone by `recover_folder`."""
    aside = _sibling(target, _ASIDE_TAG)
    os.rename(target, aside)
    os.rename(staging, target)
    os.rename(aside, staging)


def recover_folder(target: str | os.PathLike[str]) -> None:
    """Undo a `replace_folder` cut short between its renames.

    The aside folder holds the previous content: it goes back to `target` when nothing took its
    place, and is deleted when the new folder did.
    """
    if is_gcs(target):
        return
    aside = _sibling(os.fspath(target), _ASIDE_TAG)
    if not os.path.isdir(aside):
        return
    with _local_errors(aside):
        if os.path.lexists(target):
            shutil.rmtree(aside)
        else:
            os.rename(aside, target)


def remove_folder(uri: str | os.PathLike[str]) -> None:
    """Delete a folder or prefix with everything under it (a staging folder); a missing one is no error."""
    if is_gcs(uri):
        for path in list_files(uri):
            remove(path, missing_ok=True)
        return
    path = os.fspath(uri)
    with _local_errors(path):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)


def _sibling(target: str, tag: str) -> str:
    """`.<name>.tmp-<tag>` beside `target`."""
    if is_gcs(target):
        bucket, key = split_gcs(normalize(target))
        if not key:
            raise StorageError(f"{target}: name a folder inside the bucket, not the bucket itself")
        parent, name = posixpath.split(key)
        return f"{GCS_SCHEME}{bucket}/" + posixpath.join(parent, f".{name}{_TEMP_MARKER}{tag}")
    parent, name = os.path.split(os.path.abspath(target))
    if not name:
        raise StorageError(f"{target}: the root folder has no folder beside it to stage in")
    return os.path.join(parent, f".{name}{_TEMP_MARKER}{tag}")


def _remove_dead_staging(target: str | os.PathLike[str]) -> None:
    """Delete the staging folders of `target` whose run died: those whose flock can be taken."""
    parent, name = os.path.split(os.path.abspath(target))
    pattern = re.compile(re.escape(f".{name}{_TEMP_MARKER}") + "[0-9a-f]{32}")
    if not os.path.isdir(parent):
        return
    for entry in os.scandir(parent):
        if not (pattern.fullmatch(entry.name) and entry.is_dir(follow_symlinks=False)):
            continue
        try:
            handle = os.open(entry.path, os.O_RDONLY | os.O_DIRECTORY)
        except FileNotFoundError:  # another run cleared it first
            continue
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # a live run's
            os.close(handle)
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        os.close(handle)


@functools.lru_cache(maxsize=1)
def _renameat2():  # noqa: ANN202 - a ctypes function, or None
    """glibc's renameat2 (2.28 and later), or None where the C library has none."""
    function = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if function is not None:
        function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
        function.restype = ctypes.c_int
    return function


def _exchange(first: str, second: str) -> bool:
    """Swap two paths atomically; False where the C library or the file system cannot."""
    renameat2 = _renameat2()
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), first, None, second)


def _fsync_folder(path: str) -> None:
    """Make renames in `path` durable: a rename is in the folder's metadata, not in the files'."""
    handle = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


# --- local backend ------------------------------------------------------------------------


def _publish_local(staging_path: Path, target: Path, *, create_only: bool) -> None:
    with _local_errors(str(target)):
        if create_only:
            try:
                os.link(staging_path, target)  # fails if the target exists: an atomic create
            except FileExistsError:
                raise AlreadyExistsError(f"{target} already exists") from None
        else:
            os.replace(staging_path, target)


@contextlib.contextmanager
def _local_errors(path: str) -> Iterator[None]:
    try:
        yield
    except FileNotFoundError as error:
        raise NotFoundError(f"no such file or folder: {error.filename or path}") from error
    except PermissionError as error:
        raise AccessDeniedError(f"permission denied: {error.filename or path}") from error
    except IsADirectoryError as error:
        raise StorageError(f"{path} is a folder, not a file") from error


# --- Google Cloud Storage backend ---------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _client_for(process_id: int, emulator_host: str | None):  # noqa: ANN202 - lazy import
    """A client per process (clients do not survive fork) and per emulator endpoint."""
    del process_id, emulator_host  # cache keys only; the client reads the environment itself
    from google.auth.exceptions import DefaultCredentialsError
    from google.cloud import storage

    try:
        return storage.Client()
    except DefaultCredentialsError as error:
        raise StorageError(
            "no Google Cloud credentials found for gs:// access: set GOOGLE_APPLICATION_CREDENTIALS, "
            "run `gcloud auth application-default login`, or use Workload Identity"
        ) from error


def _client():  # noqa: ANN202 - lazy import
    return _client_for(os.getpid(), os.environ.get("STORAGE_EMULATOR_HOST"))


class _Gcs:
    """The GCS side of each operation; every call maps API errors to `StorageError`s."""

    @staticmethod
    @contextlib.contextmanager
    def errors(uri: str) -> Iterator[None]:
        from google.api_core import exceptions

        try:
            yield
        except exceptions.PreconditionFailed as error:
            raise AlreadyExistsError(f"{uri} already exists") from error
        except exceptions.NotFound as error:
            bucket, _ = split_gcs(uri)
            if not _client().bucket(bucket).exists():
                raise NotFoundError(f"bucket gs://{bucket} does not exist (while accessing {uri})") from error
            raise NotFoundError(f"no object at {uri}") from error
        except (exceptions.Forbidden, exceptions.Unauthorized) as error:
            raise AccessDeniedError(f"access denied to {uri}: {error.message}") from error
        except exceptions.GoogleAPICallError as error:
            raise StorageError(f"storage request for {uri} failed: {error}") from error

    @staticmethod
    def blob(uri: str):  # noqa: ANN205 - lazy import
        bucket, key = split_gcs(uri)
        if not key or key.endswith("/"):
            raise StorageError(f"{uri!r} names a prefix, not an object")
        return _client().bucket(bucket).blob(key)

    @staticmethod
    def upload_options(create_only: bool) -> dict:
        """Keyword arguments of an upload: a create-only precondition, or a retried overwrite.

        With a generation precondition the client picks a conditional retry itself; a plain
        overwrite is retried explicitly, which is safe since it always writes the same bytes.
        """
        from google.cloud.storage.retry import DEFAULT_RETRY

        return {"if_generation_match": 0} if create_only else {"retry": DEFAULT_RETRY}

    @classmethod
    def write_bytes(cls, uri: str, data: bytes, *, create_only: bool) -> None:
        with cls.errors(uri):
            cls.blob(uri).upload_from_string(data, **cls.upload_options(create_only))

    @classmethod
    def read_versioned(cls, uri: str) -> tuple[bytes | None, str]:
        bucket, key = split_gcs(uri)
        while True:
            with cls.errors(uri):
                blob = _client().bucket(bucket).get_blob(key)
            if blob is None:
                return None, MISSING
            try:
                with cls.errors(uri):
                    return blob.download_as_bytes(if_generation_match=blob.generation), str(blob.generation)
            except (AlreadyExistsError, NotFoundError):  # replaced or deleted between the two calls: read again
                continue

    @classmethod
    def write_if_unchanged(cls, uri: str, data: bytes, token: str) -> None:
        from google.api_core import exceptions

        try:
            with cls.errors(uri):
                cls.blob(uri).upload_from_string(data, if_generation_match=int(token))
        except AlreadyExistsError as error:  # errors() reads every failed precondition as "exists"
            if isinstance(error.__cause__, exceptions.PreconditionFailed):
                raise ConflictError(f"{uri} changed since it was read; read it again and retry") from None
            raise

    @classmethod
    def upload_file(cls, uri: str, filename: str, *, create_only: bool) -> None:
        with cls.errors(uri):
            cls.blob(uri).upload_from_filename(filename, **cls.upload_options(create_only))

    @classmethod
    @contextlib.contextmanager
    def open_read(cls, uri: str) -> Iterator[BinaryIO]:
        blob = cls.blob(uri)
        with cls.errors(uri):
            blob.reload()  # fail here, with a clear message, rather than at the first read
            reader = blob.open("rb", chunk_size=_GCS_READ_CHUNK)
        with reader, cls.errors(uri):
            yield reader

    @classmethod
    def exists(cls, uri: str) -> bool:
        bucket, key = split_gcs(uri)
        if not key or key.endswith("/"):
            return False
        with cls.errors(uri):
            return _client().bucket(bucket).blob(key).exists()

    @classmethod
    def list_files(cls, prefix: str) -> list[str]:
        bucket, key = split_gcs(prefix)
        folder_key = key.rstrip("/") + "/" if key else ""
        with cls.errors(prefix):
            names = [blob.name for blob in _client().list_blobs(bucket, prefix=folder_key)]
        return sorted(
            f"{GCS_SCHEME}{bucket}/{name}" for name in names
            if not name.endswith("/") and _TEMP_MARKER not in name[len(folder_key):]
        )

    @classmethod
    def list_file_versions(cls, prefix: str) -> list[FileVersion]:
        bucket, key = split_gcs(prefix)
        folder_key = key.rstrip("/") + "/" if key else ""
        with cls.errors(prefix):
            blobs = list(_client().list_blobs(bucket, prefix=folder_key))
        return sorted(
            (FileVersion(f"{GCS_SCHEME}{bucket}/{blob.name}", int(blob.size or 0), blob.md5_hash or f"generation-{blob.generation}")
             for blob in blobs if not blob.name.endswith("/") and _TEMP_MARKER not in blob.name[len(folder_key):]),
            key=lambda item: item.uri,
        )

    @classmethod
    def remove(cls, uri: str, *, missing_ok: bool) -> None:
        try:
            with cls.errors(uri):
                cls.blob(uri).delete()
        except NotFoundError:
            if not missing_ok:
                raise

    @classmethod
    def copy(cls, source: str, target: str) -> None:
        source_blob = cls.blob(source)
        target_bucket, target_key = split_gcs(target)
        with cls.errors(source):
            source_blob.bucket.copy_blob(source_blob, _client().bucket(target_bucket), target_key)
