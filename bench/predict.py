"""Prediction speed, measured side by side in one process on 512-px synthetic radiographs.

Prints: per-image latency at batch 1 (median, p95) and throughput at batch 8, through the
serving signature (PNG decode, letterbox, model, box decoding, NMS: what TF Serving runs) and
through the bare Keras model on already-letterboxed inputs, timed in turn so that other load on
the machine slows both alike, with the signature's overhead as a ratio; `fracdet predict` end
to end (read, decode as ingest does, signature, JSON and annotated PNG written) in its steady
state; peak RSS.

The model is the demo's (the newest `runs/demo/pipeline/*/train/model`) when there is one,
else a freshly built, untrained detector of the default shape; `--model` names another train
output. Speed does not depend on the weights, except that NMS sorts more boxes for a trained model.
"""

from __future__ import annotations

import fracdet_core  # noqa: F401 - first: it sets TensorFlow's CPU options, which TensorFlow reads on import

# isort: split
import argparse
import glob
import os
import platform
import statistics
import tempfile
import time

import keras
import tensorflow as tf
from timing import describe, interleaved_timings_ms, peak_rss_mib

from fracdet_core.model.config import ModelConfig
from fracdet_core.model.detector import build_detector
from fracdet_core.predict.config import PredictConfig
from fracdet_core.predict.run import predict
from fracdet_core.serving.letterbox import letterbox
from fracdet_core.serving.saved_model import detect, load_serving
from fracdet_core.serving.signature import export_saved_model
from fracdet_core.synth import SynthConfig
from fracdet_core.synth.dataset import make_image, plan_image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BATCH = 8


def demo_model() -> str | None:
    """The newest train output of `make demo` with both the Keras model and the SavedModel, if any."""
    pattern = os.path.join(REPO, "runs", "demo", "pipeline", "*", "train", "model", "model.keras")
    found = [os.path.dirname(path) for path in glob.glob(pattern)]
    found = [path for path in found if os.path.exists(os.path.join(path, "saved_model", "saved_model.pb"))]
    return max(found, key=os.path.getmtime) if found else None


def radiographs(count: int) -> list[bytes]:
    config = SynthConfig(train=0, val=count, size=512, seed=4)
    return [make_image(config, plan_image(config, "val", index))[0] for index in range(count)]


def end_to_end_rate(model_uri: str, folder: str, images: list[bytes]) -> float:
    """Steady-state images/s of `predict`: two runs of different sizes, so model loading and tracing cancel out."""
    seconds = []
    for count in (BATCH, len(images)):
        inputs = os.path.join(folder, f"in-{count}")
        os.makedirs(inputs)
        for index, encoded in enumerate(images[:count]):
            with open(os.path.join(inputs, f"{index:03d}.png"), "wb") as stream:
                stream.write(encoded)
        started = time.perf_counter()
        predict(model_uri, [inputs], os.path.join(folder, f"out-{count}"), PredictConfig(threshold=0.5, batch_size=BATCH,
                                                                                         show_progress=False))
        seconds.append(time.perf_counter() - started)
    return (len(images) - BATCH) / (seconds[1] - seconds[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--model", help="a train output folder (model.keras, saved_model/); default: the demo's, else a fresh one"
    )
    parser.add_argument("--images", type=int, default=40, help="512-px images for the end-to-end run (default: %(default)s)")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"TensorFlow {tf.__version__}")
    images = radiographs(max(args.images, 2 * BATCH))
    with tempfile.TemporaryDirectory(prefix="fracdet-bench-") as folder:
        model_uri = args.model or demo_model()
        if model_uri:
            model = keras.models.load_model(os.path.join(model_uri, "model.keras"), compile=False)
            described = f"trained, {model_uri}"
        else:
            model = build_detector(ModelConfig())
            model_uri = os.path.join(folder, "model")
            export_saved_model(model, ModelConfig(), os.path.join(model_uri, "saved_model"))
            described = "freshly built, untrained default detector (no demo model in runs/demo)"
        size = model.input_shape[1]
        serve = load_serving(model_uri)
        bare = tf.function(lambda batch: model(batch, training=False))
        decoded = [
            tf.io.decode_image(encoded, channels=1, dtype=tf.float32, expand_animations=False) for encoded in images[:BATCH]
        ]
        canvases = tf.stack([letterbox(image, tf.zeros([0, 4]), size)[0] for image in decoded])

        signature_ms, bare_ms = interleaved_timings_ms([lambda: detect(serve, images[:1]), lambda: bare(canvases[:1]).numpy()])
        signature8, bare8 = (statistics.median(times) for times in interleaved_timings_ms(
            [lambda: detect(serve, images[:BATCH]), lambda: bare(canvases).numpy()], repeats=10))
        end_to_end = end_to_end_rate(model_uri, folder, images[:args.images])

    print(f"model: {described}; input {size} px; 512-px synthetic radiographs")
    print(f"  batch 1, serving signature: {describe(signature_ms)}")
    print(f"  batch 1, bare Keras model:  {describe(bare_ms)}")
    print(f"  batch {BATCH}, serving signature: {BATCH * 1000 / signature8:6.1f} images/s; "
          f"bare Keras model: {BATCH * 1000 / bare8:6.1f} images/s")
    overhead = statistics.median(signature_ms) / statistics.median(bare_ms)
    print(f"  signature overhead (decode, letterbox, box decoding, NMS): {overhead:.2f}x "
          f"at batch 1, {signature8 / bare8:.2f}x at batch {BATCH}")
    print(f"  fracdet predict end to end (read, decode, signature, JSON, annotated PNG), batch {BATCH}, steady state: "
          f"{end_to_end:6.1f} images/s ({BATCH * 1000 / signature8 / end_to_end:.2f}x the signature's time)")
    print(f"  peak RSS: {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
