"""Folders published whole.

A stage whose output is a folder builds it in a hidden staging folder beside the target, then
publishes it in one step. Beside, so that locally the step is a rename within one file system;
hidden behind the temporary marker, so that listings of the parent leave it out.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import functools
import os
import posixpath
import re
import shutil
import uuid
from collections.abc import Iterator

from fracdet_core.errors import StorageError
from fracdet_core.storage.files import remove
from fracdet_core.storage.listing import list_files
from fracdet_core.storage.local import local_errors
from fracdet_core.storage.paths import GCS_SCHEME, TEMP_MARKER, is_gcs, normalize, split_gcs

_RENAME_EXCHANGE = 2  # <linux/fs.h>
_AT_FDCWD = -100  # <fcntl.h>: a path relative to the working directory
_ASIDE_TAG = "previous"


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
        except BaseException as error:
            _remove_after_failure(staging, error)
            raise
        remove_folder(staging)
        return
    recover_folder(target)
    _remove_dead_staging(target)
    staging = _sibling(os.fspath(target), uuid.uuid4().hex)
    with local_errors(staging):
        os.makedirs(staging)
        handle = os.open(staging, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield staging
    finally:
        os.close(handle)
        remove_folder(staging)


def _remove_after_failure(staging: str, error: BaseException) -> None:
    """Delete a GCS staging prefix after its run failed; should storage fail here too, note that on the run's error."""
    try:
        remove_folder(staging)
    except StorageError as failed:
        error.add_note(f"the staging prefix {staging} is left behind ({failed}); listings leave it out: delete it by hand")


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
    with local_errors(aside):
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
    with local_errors(path):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)


def _sibling(target: str, tag: str) -> str:
    """`.<name>.tmp-<tag>` beside `target`."""
    if is_gcs(target):
        bucket, key = split_gcs(normalize(target))
        if not key:
            raise StorageError(f"{target}: name a folder inside the bucket, not the bucket itself")
        parent, name = posixpath.split(key)
        return f"{GCS_SCHEME}{bucket}/" + posixpath.join(parent, f".{name}{TEMP_MARKER}{tag}")
    parent, name = os.path.split(os.path.abspath(target))
    if not name:
        raise StorageError(f"{target}: the root folder has no folder beside it to stage in")
    return os.path.join(parent, f".{name}{TEMP_MARKER}{tag}")


def _remove_dead_staging(target: str | os.PathLike[str]) -> None:
    """Delete the staging folders of `target` whose run died: those whose flock can be taken."""
    parent, name = os.path.split(os.path.abspath(target))
    pattern = re.compile(re.escape(f".{name}{TEMP_MARKER}") + "[0-9a-f]{32}")
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
