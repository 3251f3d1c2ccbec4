"""Synthetic radiograph throughput: images/s at 1 and 2 worker processes, 512-px PNGs.

Both runs write the same dataset (the output does not depend on the worker count) to a local
temporary folder, measured side by side in one process. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time

from fracdet_core.synth import SynthConfig, generate_dataset


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
    args = parser.parse_args()
    config = SynthConfig(train=args.images, val=0, size=args.size, seed=1)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"synth: {args.images} images of {args.size} px (PNG, local disk)")
    one = _images_per_second(config, workers=1)
    two = _images_per_second(config, workers=2)
    print(f"  1 worker : {one:6.1f} images/s")
    print(f"  2 workers: {two:6.1f} images/s")
    print(f"  ratio 2/1: {two / one:6.2f}x")


if __name__ == "__main__":
    main()
