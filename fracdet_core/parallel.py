"""Worker processes for the stages that fan work out over images.

Workers are spawned, not forked: a forked child inherits the parent's threads and open
connections (TensorFlow's thread pools, storage clients), which is unsafe. Results come back
in input order, so outputs never depend on the number of workers.
"""

from __future__ import annotations

import contextlib
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
def worker_pool(workers: int) -> Iterator[OrderedMap]:
    """An ordered `imap` over `workers` processes (in this process when `workers` is 1)."""
    if workers == 1:
        yield _InProcess()
        return
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        yield pool
