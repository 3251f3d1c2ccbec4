"""Training and inference speed under TensorFlow's oneDNN settings, measured side by side in one run.

The settings (see fracdet_core/tensorflow_cpu.py for why fracdet caps oneDNN at AVX2):
- TensorFlow's default on AVX-512 CPUs with VNNI: oneDNN with every kernel the CPU allows
  (`ONEDNN_MAX_CPU_ISA=ALL`, since fracdet would otherwise set its cap); on an AVX-512 CPU this
  is the setting that corrupts memory in TensorFlow 2.20-2.21, so a crash there is reported,
  not hidden;
- fracdet's default: `ONEDNN_MAX_CPU_ISA=AVX2`;
- oneDNN off: `TF_ENABLE_ONEDNN_OPTS=0`.

oneDNN fixes its kernels when a process first uses it, so each setting runs in a fresh process;
the settings take turns for `--rounds` rounds, so that other load on the machine slows each alike.
Each process times training (default model, 256 px, batch 16, steady state) and inference
through the serving signature (PNG decode, letterbox, model, NMS: what `fracdet predict` and TF
Serving run) at batch 8 on 512-px synthetic radiographs. Prints the median of the rounds and the
ratio to TensorFlow's default, with the CPU's name and whether it has AVX-512.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time

from cpu import cpu_description

SETTINGS = {
    "TensorFlow's default (oneDNN, every ISA)": {"ONEDNN_MAX_CPU_ISA": "ALL"},
    "fracdet's default (ONEDNN_MAX_CPU_ISA=AVX2)": {"ONEDNN_MAX_CPU_ISA": "AVX2"},
    "oneDNN off (TF_ENABLE_ONEDNN_OPTS=0)": {"TF_ENABLE_ONEDNN_OPTS": "0"},
}
INFERENCE_BATCH = 8


def measure(data: str, steps: int, inference_batches: int) -> dict:
    """Training and serving images/s in this process (the child's work)."""
    import keras
    from train import training_rate

    from fracdet_core.model.config import ModelConfig
    from fracdet_core.model.detector import build_detector
    from fracdet_core.model.loss import DetectionLoss
    from fracdet_core.serving.saved_model import detect, load_serving
    from fracdet_core.serving.signature import export_saved_model
    from fracdet_core.train.dataset import training_dataset

    config = ModelConfig()
    model = build_detector(config)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=DetectionLoss())
    train_rate = training_rate(model, training_dataset(os.path.join(data, "ingest"), "train", config, 16), steps, 16)
    with tempfile.TemporaryDirectory(prefix="fracdet-bench-") as folder:
        export_saved_model(model, config, os.path.join(folder, "model", "saved_model"))
        serve = load_serving(os.path.join(folder, "model"))
        with open(os.path.join(data, "images.json"), encoding="utf-8") as stream:
            paths = json.load(stream)[:INFERENCE_BATCH]
        images = [pathlib.Path(path).read_bytes() for path in paths]
        detect(serve, images)  # trace
        started = time.perf_counter()
        for _ in range(inference_batches):
            detect(serve, images)
        inference_rate = inference_batches * len(images) / (time.perf_counter() - started)
    return {"training": train_rate, "inference": inference_rate}


def prepare(data: str) -> None:
    """Synthetic radiographs, ingested for training (`levers.prepare`), and a list of 512-px PNGs for inference."""
    from levers import prepare as synthesise_and_ingest

    synthesise_and_ingest(data)
    folder = os.path.join(data, "synth", "valid", "images")
    with open(os.path.join(data, "images.json"), "w", encoding="utf-8") as stream:
        json.dump(sorted(os.path.join(folder, name) for name in os.listdir(folder)), stream)


def run_child(setting: dict[str, str], data: str, steps: int, inference_batches: int) -> dict | str:
    """One fresh process under `setting`: its figures, or why it produced none."""
    environment = {key: value for key, value in os.environ.items() if key not in ("ONEDNN_MAX_CPU_ISA", "TF_ENABLE_ONEDNN_OPTS")}
    environment.update(setting, TF_CPP_MIN_LOG_LEVEL="2")
    command = [sys.executable, os.path.abspath(__file__), "--child", data, "--steps", str(steps),
               "--inference-batches", str(inference_batches)]
    result = subprocess.run(command, env=environment, capture_output=True, text=True)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return f"crashed (exit {result.returncode}: {last})"
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="turns of every setting (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=20, help="timed training steps per process (default: %(default)s)")
    parser.add_argument(
        "--inference-batches", type=int, default=20, help="timed serving calls per process (default: %(default)s)"
    )
    parser.add_argument("--child", metavar="DATA", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.steps, args.inference_batches)))
        return

    import tensorflow as tf

    print(f"machine: {cpu_description()}; Python {platform.python_version()}, TensorFlow {tf.__version__}")
    results: dict[str, list[dict | str]] = {name: [] for name in SETTINGS}
    with tempfile.TemporaryDirectory(prefix="fracdet-bench-") as data:
        prepare(data)
        for _ in range(args.rounds):
            for name, setting in SETTINGS.items():
                results[name].append(run_child(setting, data, args.steps, args.inference_batches))

    baseline: dict[str, float] | None = None  # TensorFlow's default, the first setting, when it ran
    print(f"{'setting':46} {'training images/s':>18} {'vs default':>10} {'inference images/s':>19} {'vs default':>10}")
    for name, runs in results.items():
        figures = [run for run in runs if isinstance(run, dict)]
        failures = [run for run in runs if isinstance(run, str)]
        if not figures:
            print(f"{name:46} {failures[0]}")
            continue
        medians = {key: statistics.median(run[key] for run in figures) for key in ("training", "inference")}
        if name == next(iter(SETTINGS)):
            baseline = medians
        ratios = {key: f"{medians[key] / baseline[key]:.2f}x" if baseline else "n/a" for key in medians}
        crashes = f"  ({len(failures)} of {len(runs)} runs crashed)" if failures else ""
        print(f"{name:46} {medians['training']:18.1f} {ratios['training']:>10} {medians['inference']:19.1f} "
              f"{ratios['inference']:>10}{crashes}")
        each_run = ", ".join(f"{run['training']:.1f} / {run['inference']:.1f}" for run in figures)
        print(f"{'  each run, training / inference:':46} {each_run}")


if __name__ == "__main__":
    main()
