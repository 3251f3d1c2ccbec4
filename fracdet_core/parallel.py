"""Worker processes for the stages that fan work out over images.

Workers are spawned, not forked: a forked child inherits the parent's threads and open
connections (TensorFlow's thread pools, storage clients), which is unsafe. Results come back
in input order, so outputs never depend on the number of workers.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class OrderedMap(Protocol):
    def imap(self, function: Callable[[Item], Result], iterable: Iterable[Item], chunksize: int = 1) -> Iterator[Result]: ...


class _InProcess:
    """The `imap` of a pool, in this process: no start-up cost for one worker."""

    def imap(self, function: Callable[[Item], Result], iterable: Iterable[Item], chunksize: int = 1) -> Iterator[Result]:
        return map(function, iterable)


def default_workers() -> int:
    """All cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@contextlib.contextmanager
def worker_pool(workers: int, preload: str | None = None) -> Iterator[OrderedMap]:
    """An ordered `imap` over `workers` processes (in this process when `workers` is 1).

    `preload` names a module each worker imports as it starts. Workers start in the
    background, so a pool opened before other set-up work (listing files) is ready when the
    first task arrives instead of importing NumPy and Pillow then.
    """
    if workers == 1:
        yield _InProcess()
        return
    initializer, arguments = (importlib.import_module, (preload,)) if preload else (None, ())
    with multiprocessing.get_context("spawn").Pool(workers, initializer=initializer, initargs=arguments) as pool:
        yield pool
