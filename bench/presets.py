"""The model presets side by side: size, cost and CPU speed, and how large a fracture is at each input size.

Prints, for each preset of `fracdet_core.model.presets` at its recommended input size: parameters;
forward FLOPs per image (TensorFlow's graph profiler, as `bench/train.py` counts them); CPU inference
time of the bare Keras model at batch 1 (the presets timed in turn, so a busy machine slows each
alike); and the shorter side of synthetic fracture boxes after letterboxing to that size (5th
percentile and median), in pixels and in stride-8 cells, the finest level, where fractures land.
"""

from __future__ import annotations

import fracdet_core  # noqa: F401 - first: it sets TensorFlow's CPU options, which TensorFlow reads on import

# isort: split
import argparse
import glob
import os
import platform
import tempfile
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image
from timing import describe, interleaved_timings_ms
from train import forward_flops

from fracdet_core.classes import CLASS_NAMES
from fracdet_core.model.detector import build_detector
from fracdet_core.model.presets import PRESETS
from fracdet_core.synth import SynthConfig, generate_dataset

FINEST_STRIDE = 8


def cpu_name() -> str:
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        names = [line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")]
    return names[0] if names else platform.processor() or platform.machine()


def fracture_short_sides(images: int) -> np.ndarray:
    """Shorter side of each synthetic fracture box as a share of its image's longer side (the letterbox scale)."""
    fractures = {index for index, name in enumerate(CLASS_NAMES) if name.endswith("_positive")}
    sides = []
    with tempfile.TemporaryDirectory(prefix="fracdet-bench-") as folder:
        generate_dataset(SynthConfig(train=images, val=0, size=512, seed=5), folder, workers=os.cpu_count() or 1,
                         progress=False)
        for label_path in glob.glob(os.path.join(folder, "train", "labels", "*.txt")):
            image_path = glob.glob(label_path.replace("/labels/", "/images/")[:-4] + ".*")[0]
            width, height = Image.open(image_path).size
            for line in Path(label_path).read_text(encoding="utf-8").splitlines():
                fields = line.split()
                if fields and int(fields[0]) in fractures:
                    box_w, box_h = float(fields[3]) * width, float(fields[4]) * height
                    sides.append(min(box_w, box_h) / max(width, height))
    return np.array(sides)


def batch_one_call(model: tf.keras.Model, size: int):  # noqa: ANN201
    """A traced batch-1 forward pass on a fixed image, so that only inference is timed."""
    forward = tf.function(lambda images: model(images, training=False))
    image = tf.random.uniform([1, size, size, 1], seed=1)
    return lambda: forward(image).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=8, help="timed batch-1 calls per preset (default: %(default)s)")
    parser.add_argument("--images", type=int, default=120, help="synthetic studies for fracture sizes (default: %(default)s)")
    args = parser.parse_args()
    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores; Python {platform.python_version()}, TensorFlow {tf.__version__}")
    models = {name: build_detector(config) for name, config in PRESETS.items()}
    calls = [batch_one_call(model, PRESETS[name].image_size) for name, model in models.items()]
    timings = dict(zip(models, interleaved_timings_ms(calls, repeats=args.repeats), strict=True))
    sides = fracture_short_sides(args.images)
    print(f"fracture boxes: {sides.size} in {args.images} synthetic studies; shorter side / image's longer side: "
          f"5th percentile {np.percentile(sides, 5):.3f}, median {np.median(sides):.3f}")
    for name, model in models.items():
        size = PRESETS[name].image_size
        smallest, typical = np.percentile(sides, 5) * size, np.median(sides) * size
        print(f"{name}: {size} px, {model.count_params():>10,} parameters, {forward_flops(model, size) / 1e9:6.2f} GFLOP "
              f"per image (forward); CPU batch 1: {describe(timings[name])}; fracture shorter side p5 {smallest:.0f} px "
              f"({smallest / FINEST_STRIDE:.1f} cells), median {typical:.0f} px ({typical / FINEST_STRIDE:.1f} cells)")


if __name__ == "__main__":
    main()
