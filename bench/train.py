"""Training speed, measured side by side in one process on synthetic radiographs.

Prints: training images/s (input pipeline and model together, steady state), with the train
split's letterboxed images read from the shards every epoch and kept in memory (`cache`, what
`fracdet train` does when they fit), in alternating rounds, medians; the tf.data input
pipeline's images/s on its own (it should deliver at least 5x what training consumes); the
model's FLOPs per image (forward, from TensorFlow's graph profiler); achieved GFLOP/s in training
(forward + backward counted as 3x forward) against the float32 matrix-multiply peak measured in
the same run, as a ratio; peak RSS.
"""

from __future__ import annotations

import fracdet_core  # noqa: F401 - first: it sets TensorFlow's CPU options, which TensorFlow reads on import

# isort: split
import argparse
import os
import platform
import resource
import statistics
import tempfile
import time

import keras
import tensorflow as tf
from cpu import matmul_peak_gflops

from fracdet_core.ingest import IngestConfig, ingest_dataset
from fracdet_core.model.config import ModelConfig
from fracdet_core.model.detector import build_detector
from fracdet_core.model.loss import DetectionLoss
from fracdet_core.synth import SynthConfig, generate_dataset
from fracdet_core.train.dataset import training_dataset


def forward_flops(model: keras.Model, size: int) -> int:
    function = tf.function(lambda images: model(images, training=False))
    graph = function.get_concrete_function(tf.TensorSpec([1, size, size, 1], tf.float32)).graph
    builder = tf.compat.v1.profiler.ProfileOptionBuilder
    options = builder(builder.float_operation()).with_empty_output().build()
    return int(tf.compat.v1.profiler.profile(graph=graph, options=options).total_float_ops)


def pipeline_rate(dataset: tf.data.Dataset, batches: int, batch_size: int) -> float:
    iterator = iter(dataset.repeat())
    next(iterator)
    started = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches * batch_size / (time.perf_counter() - started)


def training_rate(model: keras.Model, dataset: tf.data.Dataset, steps: int, batch_size: int) -> float:
    data = dataset.repeat()
    model.fit(data, steps_per_epoch=3, epochs=1, shuffle=False, verbose=0)  # trace and warm up
    started = time.perf_counter()
    model.fit(data, steps_per_epoch=steps, epochs=1, shuffle=False, verbose=0)
    return steps * batch_size / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image-size", type=int, default=256, help="training input side (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=16, help="batch size (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=12, help="timed training steps (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of the two inputs (default: %(default)s)")
    args = parser.parse_args()
    config = ModelConfig(image_size=args.image_size)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"TensorFlow {tf.__version__}")
    with tempfile.TemporaryDirectory(prefix="fracdet-bench-") as folder:
        generate_dataset(
            SynthConfig(train=96, val=16, size=512, seed=3), os.path.join(folder, "data"), workers=os.cpu_count() or 1,
            progress=False,
        )
        ingest_dataset(os.path.join(folder, "data"), os.path.join(folder, "ingest"), IngestConfig(shards=2), progress=False)
        dataset = training_dataset(os.path.join(folder, "ingest"), "train", config, args.batch_size)
        cached = training_dataset(os.path.join(folder, "ingest"), "train", config, args.batch_size, cache=True)
        for _ in cached:  # the first epoch fills the cache
            pass

        model = build_detector(config)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=DetectionLoss())
        flops = forward_flops(model, args.image_size)
        peak = matmul_peak_gflops()
        data_rate = pipeline_rate(dataset, max(2 * args.steps, 12), args.batch_size)
        rounds = [(training_rate(model, dataset, args.steps, args.batch_size),
                   training_rate(model, cached, args.steps, args.batch_size)) for _ in range(args.rounds)]
        train_rate = statistics.median(streamed for streamed, _ in rounds)
        cached_rate = statistics.median(kept for _, kept in rounds)
        achieved = train_rate * 3 * flops / 1e9

    print(f"model: {model.count_params():,} parameters, {flops / 1e9:.2f} GFLOP per {args.image_size}-px image (forward)")
    print(f"  training:            {train_rate:7.1f} images/s (batch {args.batch_size}, steady state, read every epoch)")
    print(f"  training, cached:    {cached_rate:7.1f} images/s ({cached_rate / train_rate:.2f}x; rounds: "
          + ", ".join(f"{kept / streamed:.2f}x" for streamed, kept in rounds) + ")")
    print(f"  tf.data on its own:  {data_rate:7.1f} images/s ({data_rate / train_rate:.1f}x training; target >= 5x)")
    print(f"  achieved in training: {achieved:6.1f} GFLOP/s; float32 matmul peak here: {peak:.1f} GFLOP/s; "
          f"ratio {achieved / peak:.2f}")
    print(f"  peak RSS:            {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:7.0f} MiB")


if __name__ == "__main__":
    main()
