"""Synthetic radiograph throughput per renderer: images/s at 1 and 2 worker processes, 512-px PNGs.

Every run writes the same dataset for its renderer (the output does not depend on the worker
count) to a local temporary folder; all runs are measured side by side in one process, and the
renderers' cost per image is compared at one worker. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time

from fracdet_core.synth import SynthConfig, generate_dataset
from fracdet_core.synth.config import RENDERERS


def _images_per_second(config: SynthConfig, workers: int) -> float:
    with tempfile.TemporaryDirectory(prefix="fracdet-bench-") as out:
        started = time.perf_counter()
        generate_dataset(config, out, workers=workers, progress=False)
        elapsed = time.perf_counter() - started
    return (config.train + config.val) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=192, help="images per run (default: %(default)s)")
    parser.add_argument("--size", type=int, default=512, help="longer image side (default: %(default)s)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to run (default: 1 2)")
    parser.add_argument("--renderers", nargs="+", choices=RENDERERS, default=list(RENDERERS),
                        help="renderers to run (default: all)")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"synth: {args.images} images of {args.size} px (PNG, local disk)")
    rates: dict[str, dict[int, float]] = {}
    for renderer in args.renderers:
        config = SynthConfig(train=args.images, val=0, size=args.size, seed=1, renderer=renderer)
        rates[renderer] = {workers: _images_per_second(config, workers) for workers in args.workers}
        single = rates[renderer][args.workers[0]]
        for workers, rate in rates[renderer].items():
            scaling = f" ({rate / single:.2f}x {args.workers[0]})" if workers != args.workers[0] else ""
            print(f"  {renderer:<9} {workers} worker{'s' if workers > 1 else ' '}: {rate:6.1f} images/s{scaling}")
    first, *others = args.renderers
    for renderer in others:
        ratio = rates[first][args.workers[0]] / rates[renderer][args.workers[0]]
        print(f"  cost per image, {renderer} / {first} at {args.workers[0]} worker(s): {ratio:.2f}x")


if __name__ == "__main__":
    main()
