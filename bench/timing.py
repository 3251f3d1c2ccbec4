"""Timing helpers the benchmarks share: repeated wall-clock timings, their summary, and peak memory."""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable

import numpy as np

REPEATS = 30


def timings_ms(call: Callable[[], object], repeats: int = REPEATS, warmup: int = 2) -> list[float]:
    """Wall time of each of `repeats` calls, in ms, after `warmup` untimed calls (tracing, caches)."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def describe(times: list[float]) -> str:
    """`median ... ms, p95 ... ms` of timings."""
    return f"median {statistics.median(times):6.1f} ms, p95 {np.percentile(times, 95):6.1f} ms"


def peak_rss_mib() -> float:
    """This process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def interleaved_timings_ms(calls: list[Callable[[], object]], repeats: int = REPEATS, warmup: int = 2) -> list[list[float]]:
    """`timings_ms` of several calls taken in turn, so that a busy machine slows each of them alike and their ratio holds."""
    for call in calls:
        for _ in range(warmup):
            call()
    times: list[list[float]] = [[] for _ in calls]
    for _ in range(repeats):
        for call, measured in zip(calls, times, strict=True):
            started = time.perf_counter()
            call()
            measured.append((time.perf_counter() - started) * 1000)
    return times
