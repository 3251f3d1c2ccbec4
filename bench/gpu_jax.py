"""The detector and its loss on another backend and device: Keras on JAX, on a GPU.

Two steps, because the GPU machine has JAX but no TensorFlow:

- `prepare --out DIR` (here, TensorFlow backend): builds the detector, saves its weights, takes
  one batch of real training images and targets from an ingest, and records the TensorFlow
  model's outputs and loss on it.
- `run --data DIR` (KERAS_BACKEND=jax, on the GPU): loads the same weights and prints the
  largest output difference and the loss difference against TensorFlow (the model and loss are
  written in `keras.ops`, so they should agree to float32 rounding); then trains the fixed batch
  in float32, mixed_float16 (what the trainer uses on GPUs) and mixed_bfloat16, printing the loss
  before and after, and training images/s at batch 64 for 256 and 512 px inputs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

from fracdet_core.classes import CLASS_NAMES

BATCH = 16
THROUGHPUT_BATCH = 64


def prepare(ingest: str, class_weights: str, out: str) -> None:
    import keras

    from fracdet_core.model.config import ModelConfig
    from fracdet_core.model.detector import build_detector
    from fracdet_core.model.loss import DetectionLoss
    from fracdet_core.train.dataset import training_dataset

    os.makedirs(out, exist_ok=True)
    keras.utils.set_random_seed(0)
    with open(class_weights) as weights_file:
        weights = json.load(weights_file)
    for size in (256, 512):
        config = ModelConfig(image_size=size)
        images, targets = next(iter(training_dataset(ingest, "train", config, BATCH, augmentation=None, shuffle=False,
                                                     deterministic=True)))
        arrays = {"images": images.numpy(), "targets": targets.numpy()}
        if size == 256:
            model = build_detector(config)
            model.save_weights(os.path.join(out, "detector.weights.h5"))
            arrays["outputs"] = model.predict(images, verbose=0)
            arrays["loss"] = np.float32(DetectionLoss(class_weights=weights)(targets, arrays["outputs"]))
        np.savez(os.path.join(out, f"batch{size}.npz"), **arrays)
    with open(os.path.join(out, "class_weights.json"), "w") as stream:
        json.dump(weights, stream)
    print(f"prepared {out}: weights, batches at 256 and 512 px, TensorFlow outputs and loss")


def _compiled(size: int, policy: str, weights: dict):  # noqa: ANN202
    import keras

    from fracdet_core.model.config import ModelConfig
    from fracdet_core.model.detector import build_detector
    from fracdet_core.model.loss import DetectionLoss

    keras.mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(0)
    model = build_detector(ModelConfig(image_size=size))
    model.compile(optimizer=keras.optimizers.Adam(1e-3, clipnorm=10.0), loss=DetectionLoss(class_weights=weights),
                  jit_compile=True)
    return model


def run(data: str) -> None:
    import jax
    import keras

    from fracdet_core.model.config import ModelConfig
    from fracdet_core.model.detector import build_detector
    from fracdet_core.model.loss import DetectionLoss

    print(f"backend {keras.backend.backend()}, keras {keras.__version__}, jax {jax.__version__}, devices {jax.devices()}, "
          f"{platform.processor() or platform.machine()}")
    with open(os.path.join(data, "class_weights.json")) as weights_file:
        weights = json.load(weights_file)
    assert list(weights) == [name for name in CLASS_NAMES if name in weights]
    batch = np.load(os.path.join(data, "batch256.npz"))
    model = build_detector(ModelConfig())
    model.load_weights(os.path.join(data, "detector.weights.h5"))
    outputs = np.asarray(model.predict(batch["images"], verbose=0))
    loss = float(DetectionLoss(class_weights=weights)(batch["targets"], outputs))
    print(f"parity with TensorFlow: max |output difference| {np.abs(outputs - batch['outputs']).max():.2e} "
          f"(outputs up to {np.abs(batch['outputs']).max():.2f}); loss {loss:.6f} vs {float(batch['loss']):.6f}")

    for policy in ("float32", "mixed_float16", "mixed_bfloat16"):
        model = _compiled(256, policy, weights)
        before = float(model.evaluate(batch["images"], batch["targets"], verbose=0))
        history = model.fit(batch["images"], batch["targets"], batch_size=BATCH, epochs=150, verbose=0)
        after = history.history["loss"][-1]
        print(f"{policy}: fixed-batch loss {before:.4f} -> {after:.4f} after 150 steps; finite: {np.isfinite(after)}")

    for size in (256, 512):
        sample = np.load(os.path.join(data, f"batch{size}.npz"))
        repeat = THROUGHPUT_BATCH // BATCH
        images, targets = np.tile(sample["images"], (repeat, 1, 1, 1)), np.tile(sample["targets"], (repeat, 1, 1))
        for policy in ("float32", "mixed_float16", "mixed_bfloat16"):
            model = _compiled(size, policy, weights)
            model.fit(images, targets, batch_size=THROUGHPUT_BATCH, epochs=2, verbose=0)  # compile and warm up
            steps = 30
            started = time.perf_counter()
            model.fit(np.tile(images, (steps, 1, 1, 1)), np.tile(targets, (steps, 1, 1)), batch_size=THROUGHPUT_BATCH,
                      epochs=1, verbose=0)
            rate = steps * THROUGHPUT_BATCH / (time.perf_counter() - started)
            print(f"training {size} px, batch {THROUGHPUT_BATCH}, {policy}: {rate:.0f} images/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    prepare_parser = commands.add_parser("prepare")
    prepare_parser.add_argument("--ingest", required=True)
    prepare_parser.add_argument("--class-weights", required=True)
    prepare_parser.add_argument("--out", required=True)
    run_parser = commands.add_parser("run")
    run_parser.add_argument("--data", required=True)
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args.ingest, args.class_weights, args.out)
    else:
        run(args.data)


if __name__ == "__main__":
    main()
