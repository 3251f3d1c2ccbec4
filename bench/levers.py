"""Training and serving speed lever by lever, side by side in one run: each setting in a fresh process, in turns.

The levers (fracdet's defaults; docs: "Training speed"):
- oneDNN: TensorFlow turns it on by itself only on CPUs with AVX512_VNNI, AVX512_BF16, AVX_VNNI
  or AMX; fracdet turns it on on every x86 CPU, capped at AVX2 (`fracdet_core.tensorflow_cpu`);
- fused batch norm: TensorFlow's FusedBatchNormV3 behind Keras's BatchNormalization
  (`fracdet_core.model.fused_norm`) instead of Keras 3's moments and elementwise ops.

"Today" is fracdet before these levers: TensorFlow's own oneDNN choice for this CPU and Keras's
batch norm. On a CPU where TensorFlow turns oneDNN on by itself (AVX-512 CPUs with VNNI) the
levers are also measured against oneDNN off, which is what TensorFlow runs on most AVX2 CPUs:
the kernels are the same on both (TensorFlow's Eigen kernels are built for AVX without FMA on
every CPU; oneDNN is capped at AVX2), so that ratio stands for an AVX2 machine's.

oneDNN is chosen when a process imports TensorFlow, so every setting runs in a fresh process;
the settings take turns for `--rounds` rounds so that a machine that speeds up or slows down
moves each alike, and each figure is the median of its rounds. Each process, at each of
`--image-sizes`:
- trains the default model on the train split kept in memory (what `fracdet train` does with the
  demo's data), batch 16, and measures the float32 matmul peak under its own setting;
- serves 512-px PNGs in batches of 8 through the exported signature (decode, letterbox, model,
  NMS: what `fracdet predict`, evaluation and TF Serving run).
Prints images/s, each setting's ratio to today's, and for training the achieved GFLOP/s
(forward + backward counted as 3x forward) against the CPU's theoretical float32 peak and the
measured matmul peak.
"""

from __future__ import annotations

import fracdet_core  # noqa: F401 - first: it sets TensorFlow's CPU options, which TensorFlow reads on import

# isort: split
import argparse
import dataclasses
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time

from cpu import cpu_description, matmul_peak_gflops, tensorflow_onednn_default, theoretical_peak_gflops

from fracdet_core.tensorflow_cpu import read_cpu_flags

BATCH = 16
SERVING_BATCH = 8


@dataclasses.dataclass(frozen=True)
class Setting:
    """One combination of the levers; `onednn` None leaves the choice to fracdet (on, on x86)."""

    onednn: bool | None
    fused_norm: bool

    def environment(self) -> dict[str, str]:
        environment = {key: value for key, value in os.environ.items() if key != "TF_ENABLE_ONEDNN_OPTS"}
        if self.onednn is not None:
            environment["TF_ENABLE_ONEDNN_OPTS"] = "1" if self.onednn else "0"
        return {**environment, "TF_CPP_MIN_LOG_LEVEL": "2"}


def settings(onednn_by_default: bool) -> dict[str, Setting]:
    """The settings to compare, today's first: each lever alone on today's, then fracdet's default (all)."""
    today = Setting(onednn=onednn_by_default, fused_norm=False)
    named = {f"today (oneDNN {'on' if onednn_by_default else 'off'}, TensorFlow's choice here)": today}
    if onednn_by_default:
        avx2_today = dataclasses.replace(today, onednn=False)
        named["today on most AVX2 CPUs (oneDNN off)"] = avx2_today
        named["  + fused batch norm (oneDNN off)"] = dataclasses.replace(avx2_today, fused_norm=True)
    else:
        named["+ oneDNN on"] = dataclasses.replace(today, onednn=True)
    named["+ fused batch norm"] = dataclasses.replace(today, fused_norm=True)
    named["fracdet's default (both)"] = Setting(onednn=None, fused_norm=True)
    return named


def measure(folder: str, setting: Setting, size: int, steps: int, serving_batches: int) -> dict:
    """Training and serving images/s, forward FLOPs per image and the matmul peak in this process (the child's work)."""
    import keras
    from tensorflow.python.util import _pywrap_util_port
    from train import forward_flops

    from fracdet_core.model.config import ModelConfig
    from fracdet_core.model.detector import build_detector
    from fracdet_core.model.loss import DetectionLoss
    from fracdet_core.train.dataset import training_dataset

    config = ModelConfig(image_size=size)
    data = training_dataset(os.path.join(folder, "ingest"), "train", config, BATCH, cache=True)
    for _ in data:  # the first pass fills the cache, as the trainer's first epoch does
        pass
    model = build_detector(config, fused_norm=setting.fused_norm)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=DetectionLoss())
    endless = data.repeat()
    model.fit(endless, steps_per_epoch=2, epochs=1, verbose=0)  # trace and warm up
    started = time.perf_counter()
    model.fit(endless, steps_per_epoch=steps, epochs=1, verbose=0)
    rate = steps * BATCH / (time.perf_counter() - started)
    return {"images_per_s": rate, "serving_images_per_s": serving_rate(model, config, folder, serving_batches),
            "forward_flops": forward_flops(model, size), "matmul_peak": matmul_peak_gflops(),
            "onednn": bool(_pywrap_util_port.IsMklEnabled())}


def serving_rate(model, config, folder: str, batches: int) -> float:  # noqa: ANN001 - a Keras model and its ModelConfig
    """Images/s through the exported serving signature, batches of `SERVING_BATCH` 512-px PNGs."""
    from fracdet_core.serving.saved_model import detect, load_serving
    from fracdet_core.serving.signature import export_saved_model

    with tempfile.TemporaryDirectory(dir=folder) as exported:
        export_saved_model(model, config, os.path.join(exported, "saved_model"))
        serve = load_serving(exported)
        images_folder = os.path.join(folder, "synth", "valid", "images")
        names = sorted(os.listdir(images_folder))[:SERVING_BATCH]
        images = [pathlib.Path(images_folder, name).read_bytes() for name in names]
        detect(serve, images)  # trace
        started = time.perf_counter()
        for _ in range(batches):
            detect(serve, images)
        return batches * len(images) / (time.perf_counter() - started)


def prepare(folder: str) -> None:
    """Synthetic radiographs in `folder`/synth, ingested into `folder`/ingest."""
    from fracdet_core.ingest import IngestConfig, ingest_dataset
    from fracdet_core.synth import SynthConfig, generate_dataset

    generate_dataset(SynthConfig(train=96, val=16, size=512, seed=3), os.path.join(folder, "synth"),
                     workers=os.cpu_count() or 1, progress=False)
    ingest_dataset(os.path.join(folder, "synth"), os.path.join(folder, "ingest"), IngestConfig(shards=2), progress=False)


def run_child(folder: str, setting: Setting, size: int, steps: int, serving_batches: int) -> dict | str:
    """One fresh process under `setting`: its figures, or why it produced none."""
    command = [sys.executable, os.path.abspath(__file__), "--child", json.dumps(dataclasses.asdict(setting)),
               "--folder", folder, "--image-sizes", str(size), "--steps", str(steps),
               "--serving-batches", str(serving_batches)]
    result = subprocess.run(command, env=setting.environment(), capture_output=True, text=True)
    if result.returncode != 0:
        return f"failed (exit {result.returncode}: {(result.stderr.strip().splitlines() or ['no output'])[-1]})"
    return json.loads(result.stdout.strip().splitlines()[-1])


def report(size: int, results: dict[str, list[dict | str]]) -> None:
    """The table of one input size: medians, ratios to today's, achieved GFLOP/s against the peaks."""
    print(f"\n{size} px. Training: images/s at batch {BATCH}, median of the rounds [each round]; ratio to "
          f"today's; achieved GFLOP/s. Serving: 512-px PNGs/s at batch {SERVING_BATCH}; ratio.")
    baselines: list[tuple[float, float]] = []
    matmuls = [statistics.median(run["matmul_peak"] for run in runs if isinstance(run, dict))
               for runs in results.values() if any(isinstance(run, dict) for run in runs)]
    peak, how = theoretical_peak_gflops(max(matmuls, default=0.0))
    for name, runs in results.items():
        figures = [run for run in runs if isinstance(run, dict)]
        if not figures:
            print(f"  {name:40} {runs[0]}")
            continue
        rate = statistics.median(run["images_per_s"] for run in figures)
        serving = statistics.median(run["serving_images_per_s"] for run in figures)
        if name.startswith("today"):
            baselines.append((rate, serving))
        achieved = rate * 3 * figures[0]["forward_flops"] / 1e9
        matmul = statistics.median(run["matmul_peak"] for run in figures)
        each = ", ".join(f"{run['images_per_s']:.1f}" for run in figures)
        print(f"  {name:40} {rate:6.1f} [{each}] {'/'.join(f'{rate / base:.2f}x' for base, _ in baselines):11} "
              f"{achieved:5.1f} GFLOP/s ({achieved / peak:.2f} of peak, {achieved / matmul:.2f} of matmul {matmul:.0f}) | "
              f"serving {serving:5.1f} {'/'.join(f'{serving / base:.2f}x' for _, base in baselines)}")
    print(f"  ratios: to {' / to '.join(name for name in results if name.startswith('today'))}")
    print(f"  theoretical float32 peak: {how}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="turns of every setting (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=24, help="timed training steps per process (default: %(default)s)")
    parser.add_argument("--serving-batches", type=int, default=10, help="timed serving calls per process (default: %(default)s)")
    parser.add_argument("--image-sizes", default="256,512", help="comma-separated input sides (default: %(default)s)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [int(size) for size in args.image_sizes.split(",")]
    if args.child:
        print(json.dumps(measure(args.folder, Setting(**json.loads(args.child)), sizes[0], args.steps, args.serving_batches)))
        return

    print(f"machine: {cpu_description()}; Python {platform.python_version()}")
    named = settings(tensorflow_onednn_default(read_cpu_flags()))
    with tempfile.TemporaryDirectory(prefix="fracdet-bench-") as folder:
        prepare(folder)
        for size in sizes:
            results: dict[str, list[dict | str]] = {name: [] for name in named}
            for _ in range(args.rounds):
                for name, setting in named.items():
                    results[name].append(run_child(folder, setting, size, args.steps, args.serving_batches))
            report(size, results)


if __name__ == "__main__":
    main()
