"""The local side of storage operations: OS errors a user can fix as storage errors, atomic publishing."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from fracdet_core.errors import AccessDeniedError, AlreadyExistsError, NotFoundError, StorageError


def publish_local(staging_path: Path, target: Path, *, create_only: bool) -> None:
    """Publish the finished staging file at `target` in one step; `create_only` fails instead of replacing one."""
    with local_errors(str(target)):
        if create_only:
            try:
                os.link(staging_path, target)  # fails if the target exists: an atomic create
            except FileExistsError:
                raise AlreadyExistsError(f"{target} already exists") from None
        else:
            os.replace(staging_path, target)


def open_local(path: str | os.PathLike[str], mode: str) -> IO:
    """`open`, with the errors a user can fix raised as storage errors naming `path`."""
    with local_errors(os.fspath(path)):
        return open(path, mode)


@contextlib.contextmanager
def local_errors(path: str) -> Iterator[None]:
    """Missing files, denied access and folders where files belong, as `fracdet_core.errors` naming `path`."""
    try:
        yield
    except FileNotFoundError as error:
        raise NotFoundError(f"no such file or folder: {error.filename or path}") from error
    except PermissionError as error:
        raise AccessDeniedError(f"permission denied: {error.filename or path}") from error
    except IsADirectoryError as error:
        raise StorageError(f"{path} is a folder, not a file") from error
