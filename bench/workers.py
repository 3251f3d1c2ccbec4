"""Training on 1, 2 and 3 workers: the same global batch and epochs should give a model that evaluates alike.

Makes a small synthetic dataset, ingests it, weighs its classes (EDA), then trains the same
model with the same settings as one `fracdet train` process and as 2 and 3 local `fracdet
train-worker` processes (`MultiWorkerMirroredStrategy` on localhost, each reading its own share
of the train split, the global batch split evenly between them), and evaluates each model on the
val split's test half as `fracdet evaluate` does. Early stopping is off, so every run trains
every epoch. Then trains one worker with other seeds, on the same data, for the yardstick: the
differences one seed makes. Prints one row per run: mAP@0.5, overall fracture AUC, best val
loss, epochs run, the training wall time and images/s; and the CPU.

On one machine the workers share its cores, so the times show the cost of the collectives, not
a speed-up: more machines pay off only where each brings its own cores or GPUs. Each worker count is
trained with one seed; the workers draw their augmentations and data order differently from one process,
and each normalises its batches over its own share of the global batch.

    python bench/workers.py --train 480 --val 160 --epochs 16
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cpu import cpu_description

FRACDET = str(Path(sys.executable).with_name("fracdet"))
QUIET = {"TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "-1"}


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("localhost", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def prepare(folder: Path, train: int, val: int, size: int, seed: int) -> tuple[Path, Path]:
    """The ingest and its class weights."""
    data, ingest, eda = folder / "data", folder / "ingest", folder / "eda"
    for command in (["synth", "--out", str(data), "--train", str(train), "--val", str(val), "--size", str(size),
                     "--seed", str(seed)],
                    ["ingest", "--data", str(data), "--out", str(ingest)],
                    ["eda", "--data", str(ingest), "--out", str(eda)]):
        done = subprocess.run([FRACDET, *command], capture_output=True, text=True, env={**os.environ, **QUIET})
        if done.returncode:
            raise SystemExit(f"fracdet {command[0]} failed:\n{done.stderr[-2000:]}")
    return ingest, eda / "class_weights.json"


def train(workers: int, options: list[str], folder: Path) -> float:
    """Train with `workers` processes (one: plain `fracdet train`); the wall time in seconds."""
    if workers == 1:
        commands, environments = [[FRACDET, "train", *options]], [{**os.environ, **QUIET}]
    else:
        cluster = {"worker": [f"localhost:{port}" for port in free_ports(workers)]}
        commands = [[FRACDET, "train-worker", *options]] * workers
        environments = [{**os.environ, **QUIET, "TF_CONFIG": json.dumps({"cluster": cluster,
                                                                         "task": {"type": "worker", "index": index}})}
                        for index in range(workers)]
    logs = [folder / f"worker{index}.log" for index in range(workers)]
    started = time.perf_counter()
    processes = []
    for command, environment, log in zip(commands, environments, logs, strict=True):
        with log.open("w") as sink:
            processes.append(subprocess.Popen(command, env=environment, stdout=sink, stderr=subprocess.STDOUT))
    codes = [process.wait() for process in processes]
    seconds = time.perf_counter() - started
    if any(codes):
        tails = "\n".join(f"--- {log}:\n{log.read_text()[-2000:]}" for log in logs)
        raise SystemExit(f"training on {workers} workers failed (exit codes {codes}):\n{tails}")
    return seconds


def evaluate(model: Path, ingest: Path, out: Path) -> dict:
    """metrics.json of the model on the val split's test half, as `fracdet evaluate` writes it."""
    from fracdet_core.evaluate.config import EvaluateConfig
    from fracdet_core.evaluate.run import run_evaluation

    evaluation, _ = run_evaluation(str(model), str(ingest), str(out), config=EvaluateConfig(show_progress=False))
    return evaluation.metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=int, default=480, help="synthetic train images (default: %(default)s)")
    parser.add_argument("--val", type=int, default=160, help="synthetic val images (default: %(default)s)")
    parser.add_argument("--size", type=int, default=256, help="synthetic image side, px (default: %(default)s)")
    parser.add_argument("--preset", default="n", help="model preset (default: %(default)s)")
    parser.add_argument("--image-size", type=int, default=128, help="training input side, px (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=16, help="epochs, for every worker count (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=12,
                        help="the global batch, for every worker count: a multiple of each (default: %(default)s)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 3], help="worker counts (default: 1 2 3)")
    parser.add_argument("--seed", type=int, default=0, help="data and training seed (default: %(default)s)")
    parser.add_argument("--reference-seeds", type=int, nargs="*", default=[1, 2],
                        help="training seeds of further single-worker runs, to show what a seed changes (default: 1 2)")
    args = parser.parse_args()
    if any(args.batch_size % workers for workers in args.workers):
        parser.error(f"--batch-size {args.batch_size} must be a multiple of every worker count {args.workers}")
    print(f"CPU: {cpu_description()}; Python {platform.python_version()}")
    print(f"data: {args.train} train, {args.val} val images of {args.size} px; model {args.preset} at {args.image_size} px, "
          f"global batch {args.batch_size}, {args.epochs} epochs, seed {args.seed}", flush=True)
    with tempfile.TemporaryDirectory(prefix="fracdet-bench-") as work:
        folder = Path(work)
        ingest, weights = prepare(folder, args.train, args.val, args.size, args.seed)
        config = folder / "every-epoch.yaml"
        config.write_text("train:\n  early_stopping_patience: 0\n")  # every run trains all its epochs
        plan = [(workers, args.seed) for workers in args.workers]
        plan += [(1, seed) for seed in args.reference_seeds if (1, seed) not in plan]
        for workers, seed in plan:
            name = f"{workers}-seed{seed}"
            (folder / f"run-{name}").mkdir()
            options = ["--data", str(ingest), "--class-weights", str(weights), "--out", str(folder / f"train-{name}"),
                       "--config", str(config), "--preset", args.preset, "--image-size", str(args.image_size),
                       "--epochs", str(args.epochs), "--batch-size", str(args.batch_size), "--seed", str(seed)]
            seconds = train(workers, options, folder / f"run-{name}")
            print_row(workers, seed, args.batch_size, seconds, folder / f"train-{name}",
                      evaluate(folder / f"train-{name}", ingest, folder / f"evaluate-{name}"))


def print_row(workers: int, seed: int, batch_size: int, seconds: float, model: Path, metrics: dict) -> None:
    summary = json.loads((model / "train_summary.json").read_text())
    print(f"{workers} worker{'s' if workers > 1 else ' '} (batch {batch_size // workers:2d} each), seed {seed}: "
          f"mAP@0.5 {metrics['map50']:.3f}  AUC {metrics['fracture']['overall']['auc']:.3f}  "
          f"best val loss {summary['best_val_loss']:.4f}  epochs {summary['epochs_run']}  train {seconds:4.0f} s  "
          f"{summary['train_images_per_second']:5.1f} images/s", flush=True)

if __name__ == "__main__":
    main()
