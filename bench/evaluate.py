"""Evaluation speed, measured side by side in one process on synthetic radiographs.

Prints: evaluation images/s through the serving signature (decode, letterbox, model, box
decoding, NMS) over a val split, batch 8, and the metric computation's time; per-image latency
at batch 1 (median and p95) through the signature against the bare Keras model on the same
already-letterboxed image, with the pre/post-processing overhead as a ratio; peak RSS.

The model is an untrained detector of the default shape unless `--model` names a train output
(with model.keras and saved_model/): speed does not depend on the weights, except that NMS has
more boxes to sort for a trained model.
"""

from __future__ import annotations

import fracdet_core  # noqa: F401 - first: it sets TensorFlow's CPU options, which TensorFlow reads on import

# isort: split
import argparse
import os
import platform
import statistics
import tempfile
import time

import keras
import tensorflow as tf
from timing import describe, peak_rss_mib, timings_ms

from fracdet_core.evaluate.clinical import calibrate_thresholds, clinical_metrics
from fracdet_core.evaluate.coco import coco_metrics
from fracdet_core.evaluate.froc import froc_curve
from fracdet_core.evaluate.inference import evaluate_split, read_split
from fracdet_core.ingest import IngestConfig, ingest_dataset
from fracdet_core.model.config import ModelConfig
from fracdet_core.model.detector import build_detector
from fracdet_core.serving.letterbox import letterbox
from fracdet_core.serving.saved_model import detect, load_serving
from fracdet_core.serving.signature import export_saved_model
from fracdet_core.synth import SynthConfig, generate_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a train output folder (model.keras, saved_model/); default: an untrained detector")
    parser.add_argument("--val", type=int, default=64, help="val images of 512 px (default: %(default)s)")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"TensorFlow {tf.__version__}")
    with tempfile.TemporaryDirectory(prefix="fracdet-bench-") as folder:
        generate_dataset(SynthConfig(train=8, val=args.val, size=512, seed=4), os.path.join(folder, "data"),
                         workers=os.cpu_count() or 1, progress=False)
        ingest = os.path.join(folder, "ingest")
        ingest_dataset(os.path.join(folder, "data"), ingest, IngestConfig(), progress=False)
        if args.model:
            model = keras.models.load_model(os.path.join(args.model, "model.keras"), compile=False)
            model_uri = args.model
        else:
            model = build_detector(ModelConfig())
            model_uri = os.path.join(folder, "model", "saved_model")
            export_saved_model(model, ModelConfig(), model_uri)
        size = model.input_shape[1]
        serve = load_serving(model_uri)

        evaluate_split(serve, ingest, batch_size=8, show_progress=False)  # trace
        started = time.perf_counter()
        truths, detections = evaluate_split(serve, ingest, batch_size=8, show_progress=False)
        rate = len(truths) / (time.perf_counter() - started)
        started = time.perf_counter()
        coco_metrics(truths, detections)
        froc_curve(truths, detections)
        clinical_metrics(truths, detections, calibrate_thresholds(truths, detections))
        metric_seconds = time.perf_counter() - started

        encoded = next(iter(read_split(ingest, "val")))[1]
        image = tf.io.decode_image(encoded, channels=1, dtype=tf.float32, expand_animations=False)
        canvas = letterbox(image, tf.zeros([0, 4]), size)[0][None]
        bare = tf.function(lambda batch: model(batch, training=False))
        signature_ms = timings_ms(lambda: detect(serve, [encoded]))
        bare_ms = timings_ms(lambda: bare(canvas).numpy())
        batch8 = [encoded] * 8
        signature8 = statistics.median(timings_ms(lambda: detect(serve, batch8), 10))
        bare8 = statistics.median(timings_ms(lambda: bare(tf.repeat(canvas, 8, axis=0)).numpy(), 10))

    print(f"model: {'trained, ' + args.model if args.model else 'untrained default detector'}; input {size} px; "
          f"{len(truths)} val images of 512 px")
    print(f"  evaluation through the signature: {rate:6.1f} images/s (batch 8); "
          f"metrics (COCO, FROC, clinical): {metric_seconds:.2f} s")
    print(f"  batch 1, serving signature: {describe(signature_ms)}")
    print(f"  batch 1, bare Keras model:  {describe(bare_ms)}")
    overhead = statistics.median(signature_ms) / statistics.median(bare_ms)
    print(f"  overhead of decode, letterbox, box decoding and NMS: {overhead:.2f}x at batch 1, "
          f"{signature8 / bare8:.2f}x at batch 8 ({signature8 / 8:.1f} vs {bare8 / 8:.1f} ms per image)")
    print(f"  peak RSS: {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
