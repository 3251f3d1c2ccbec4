"""Ingest throughput and memory, measured side by side on the same files.

Prints, for synthetic 512-px PNG radiographs on local disk:
- bare decode: Pillow open + full decode, one process (the floor any ingest pays);
- ingest at 1 and 2 workers (images/s) and the ratios 2/1 and 1-worker/bare, both for a whole
  run of 4N images and at steady state (3N images / the time 4N takes beyond N, which leaves
  out fixed costs such as starting worker processes);
- peak RSS of an ingest of N and of 4N images, each in a fresh process, and their ratio.
Asserts nothing: the figures go in docs/performance.md.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from fracdet_core import storage
from fracdet_core.ingest import IngestConfig, ingest_dataset
from fracdet_core.synth import SynthConfig, generate_dataset

_PEAK_RSS_PROBE = """
import resource, sys
from fracdet_core.ingest import IngestConfig, ingest_dataset
ingest_dataset(sys.argv[1], sys.argv[2], IngestConfig(workers=int(sys.argv[3])), progress=False)
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(own, children)
"""


def _bare_decode_rate(images: list[str]) -> float:
    started = time.perf_counter()
    for path in images:
        with Image.open(io.BytesIO(Path(path).read_bytes())) as image:
            image.load()
    return len(images) / (time.perf_counter() - started)


def _ingest_seconds(data: str, out: str, workers: int) -> float:
    started = time.perf_counter()
    ingest_dataset(data, out, IngestConfig(workers=workers), progress=False)
    return time.perf_counter() - started


def _peak_rss_mib(data: str, out: str, workers: int) -> tuple[float, float]:
    """(this process, largest worker) peak RSS of one ingest in a fresh interpreter, MiB."""
    result = subprocess.run([sys.executable, "-c", _PEAK_RSS_PROBE, data, out, str(workers)],
                            capture_output=True, text=True, check=True)
    own, children = (int(value) / 1024 for value in result.stdout.split())
    return own, children


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=250, help="N: the smaller dataset's image count (default: %(default)s)")
    parser.add_argument("--size", type=int, default=512, help="longer image side (default: %(default)s)")
    args = parser.parse_args()
    small, large = args.images, 4 * args.images
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix="fracdet-bench-") as folder:
        datasets = {}
        for count in (small, large):
            datasets[count] = os.path.join(folder, f"data-{count}")
            generate_dataset(SynthConfig(train=count - count // 5, val=count // 5, size=args.size, seed=2),
                             datasets[count], workers=os.cpu_count() or 1, progress=False)
        images = [path for path in storage.list_files(datasets[large]) if path.endswith(".png")]
        print(f"data: {len(images)} synthetic {args.size}-px PNGs on local disk "
              f"({sum(os.path.getsize(p) for p in images) / len(images) / 1024:.0f} KiB each)")

        bare = _bare_decode_rate(images)
        seconds = {
            (workers, count): _ingest_seconds(datasets[count], os.path.join(folder, f"out-{workers}-{count}"), workers)
            for workers in (1, 2)
            for count in (small, large)
        }
        whole = {workers: large / seconds[workers, large] for workers in (1, 2)}
        steady = {workers: (large - small) / (seconds[workers, large] - seconds[workers, small]) for workers in (1, 2)}
        print(f"  bare decode (Pillow, 1 process): {bare:7.1f} images/s")
        for name, rates in (("whole run of 4N", whole), ("steady state", steady)):
            print(f"  ingest, {name}:")
            print(f"    1 worker:  {rates[1]:7.1f} images/s  ({rates[1] / bare:.2f}x bare decode; target >= 0.5x)")
            print(f"    2 workers: {rates[2]:7.1f} images/s  ({rates[2] / rates[1]:.2f}x 1 worker; target >= 1.6x)")

        for workers in (1, 2):
            small_rss = _peak_rss_mib(datasets[small], os.path.join(folder, f"rss-{small}-{workers}"), workers)
            large_rss = _peak_rss_mib(datasets[large], os.path.join(folder, f"rss-{large}-{workers}"), workers)
            label = "main process" if workers == 1 else "main, largest worker"
            figures = (f"{small_rss[0]:.0f} MiB" if workers == 1 else f"{small_rss[0]:.0f}, {small_rss[1]:.0f} MiB",
                       f"{large_rss[0]:.0f} MiB" if workers == 1 else f"{large_rss[0]:.0f}, {large_rss[1]:.0f} MiB")
            ratio = max(large_rss) / max(small_rss)
            print(f"  peak RSS, {workers} worker(s) ({label}): N={small}: {figures[0]}; 4N={large}: {figures[1]}; "
                  f"ratio {ratio:.2f}x (target <= 1.2x)")


if __name__ == "__main__":
    main()
