"""Where a training step's time goes: ops by time, the CPU left idle, the input pipeline's share.

One process, the setting it is started with (oneDNN as fracdet chooses, or TF_ENABLE_ONEDNN_OPTS=0
for the kernels most AVX2 CPUs get from TensorFlow; `--keras-norm` for Keras's own batch norm).
On the default model, batch 16, train split kept in memory (what `fracdet train` does on the
demo's data), it measures:
- `fit` images/s, and the process's CPU time over that window against wall time x cores: the
  share of the CPU that training leaves idle;
- the bare training step on one batch held in memory (no input pipeline, no `fit` loop): what
  the model's kernels alone allow;
- the input pipeline alone: its CPU seconds per image, as a share of `fit`'s;
- a TensorFlow profiler trace of `fit`, summed by op type: each op type's share of the time ops
  ran, the step's (model) ops apart from the input pipeline's.
"""

from __future__ import annotations

import fracdet_core  # noqa: F401 - first: it sets TensorFlow's CPU options, which TensorFlow reads on import

# isort: split
import argparse
import collections
import glob
import os
import resource
import tempfile
import time
from collections.abc import Callable

import keras
import tensorflow as tf
from cpu import cpu_description
from levers import BATCH, prepare
from tensorflow.python.util import _pywrap_util_port
from tensorflow.tsl.profiler.protobuf import xplane_pb2

from fracdet_core.model.config import ModelConfig
from fracdet_core.model.detector import build_detector
from fracdet_core.model.loss import DetectionLoss
from fracdet_core.train.dataset import training_dataset

# Op types grouped into the kinds of work they are, for the summary line.
_KINDS = {
    "convolution": ("Conv2D", "Conv2DBackpropFilter", "Conv2DBackpropInput", "FusedConv2D", "DepthwiseConv"),
    "batch norm": ("FusedBatchNorm", "Mean", "SquaredDifference", "Rsqrt"),
}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(work: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one call."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    work()
    return time.perf_counter() - wall, cpu_seconds() - cpu


def ops_by_type(logdir: str) -> collections.Counter:
    """Seconds per (where, op type) in a profiler trace: 'model' ops of the step, 'input' ops of tf.data."""
    path = glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True)[0]
    space = xplane_pb2.XSpace()
    with open(path, "rb") as stream:
        space.ParseFromString(stream.read())
    host = next(plane for plane in space.planes if plane.name == "/host:CPU")
    names = {key: value.name for key, value in host.event_metadata.items()}
    seconds: collections.Counter = collections.Counter()
    for line in host.lines:
        where = "input" if line.name.startswith("tf_data") else "model"
        for event in line.events:
            name = names[event.metadata_id]
            op_type = name.rpartition(":")[2]
            if ":" in name and "::" not in name and op_type.isidentifier():  # "scope/op:OpType" events are ops
                seconds[(where, op_type.removeprefix("_MklNative").removeprefix("_Mkl"))] += event.duration_ps / 1e12
    return seconds


def kind_of(op_type: str) -> str:
    return next((kind for kind, types in _KINDS.items() if op_type.startswith(types)), "other")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image-size", type=int, default=256, help="input side (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=24, help="timed steps (default: %(default)s)")
    parser.add_argument("--keras-norm", action="store_true", help="Keras's own batch norm instead of the fused one")
    parser.add_argument("--top", type=int, default=15, help="op types listed (default: %(default)s)")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    print(f"machine: {cpu_description()}; TensorFlow {tf.__version__}, oneDNN "
          f"{'on' if _pywrap_util_port.IsMklEnabled() else 'off'}, {'Keras' if args.keras_norm else 'fused'} batch norm, "
          f"{args.image_size} px, batch {BATCH}")
    config = ModelConfig(image_size=args.image_size)
    with tempfile.TemporaryDirectory(prefix="fracdet-bench-") as folder:
        prepare(folder)
        data = training_dataset(os.path.join(folder, "ingest"), "train", config, BATCH, cache=True)
        for _ in data:  # fills the cache
            pass
        endless = data.repeat()
        batches = iter(endless)
        model = build_detector(config, fused_norm=not args.keras_norm)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=DetectionLoss())
        model.fit(endless, steps_per_epoch=3, epochs=1, verbose=0)  # trace and warm up
        images = args.steps * BATCH

        fit_wall, fit_cpu = timed(lambda: model.fit(endless, steps_per_epoch=args.steps, epochs=1, verbose=0))
        held = next(batches)
        bare_step = tf.function(model.train_step)
        bare_step(held)
        bare_wall, bare_cpu = timed(lambda: [bare_step(held) for _ in range(args.steps)][-1]["loss"].numpy())
        input_wall, input_cpu = timed(lambda: [next(batches) for _ in range(args.steps)])
        logdir = tempfile.mkdtemp(dir=folder)
        tf.profiler.experimental.start(logdir)
        model.fit(endless, steps_per_epoch=args.steps, epochs=1, verbose=0)
        tf.profiler.experimental.stop()
        seconds = ops_by_type(logdir)

    print(f"fit:              {images / fit_wall:6.1f} images/s; CPU busy {fit_cpu / (fit_wall * cores):.0%} of {cores} cores, "
          f"{1000 * fit_cpu / images:.1f} CPU ms per image")
    print(f"bare step:        {images / bare_wall:6.1f} images/s ({images / bare_wall / (images / fit_wall):.2f}x fit); "
          f"CPU busy {bare_cpu / (bare_wall * cores):.0%}, {1000 * bare_cpu / images:.1f} CPU ms per image")
    print(f"input pipeline:   {images / input_wall:6.1f} images/s alone; {1000 * input_cpu / images:.1f} CPU ms per image, "
          f"{input_cpu / fit_cpu:.0%} of fit's CPU time")
    total = sum(seconds.values())
    by_kind = collections.Counter()
    for (where, op_type), spent in seconds.items():
        by_kind["input pipeline" if where == "input" else kind_of(op_type)] += spent
    print("op time by kind:  " + ", ".join(f"{kind} {spent / total:.0%}" for kind, spent in by_kind.most_common()))
    print(f"op types by time (share of the {total:.2f} s that ops ran, summed over threads):")
    for (where, op_type), spent in seconds.most_common(args.top):
        print(f"  {where:6} {op_type:36} {spent / total:6.1%}")


if __name__ == "__main__":
    main()
