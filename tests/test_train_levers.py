"""Training computes the same thing with and without the speed levers: one step's loss and gradients.

The levers: oneDNN's kernels (fracdet turns them on where TensorFlow leaves Eigen's; chosen when
a process imports TensorFlow, so each setting runs in a fresh process) and the fused batch norm
(`fused_norm`). Today's default on most AVX2 CPUs, Eigen with Keras's batch norm, is the
reference; each lever alone and both together must give its loss and gradients.

Tolerance: the settings sum the same float32 products in different orders (oneDNN's direct and
Eigen's GEMM convolutions; one fused pass against `tf.nn.moments`), so results differ by
round-off that grows with the length of each sum. Measured on a 2-core AMD EPYC: the loss
agreed to the last bit, the gradients within 4e-6 overall and 1.2e-5 for the worst tensor (a
bias gradient summed over every cell). The bounds below sit about ten times above that, and a
change of the weights by one part in a thousand, smaller than one Adam step at the trainer's
learning rate, moves the gradients tens of times past them (the control at the end).
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

LOSS_RELATIVE = 1e-6
TENSOR_RELATIVE = 1e-4
GLOBAL_RELATIVE = 5e-5

_STEP = """
import fracdet_core
import sys
import keras, numpy as np, tensorflow as tf
from tensorflow.python.util import _pywrap_util_port
from fracdet_core.model.assign import assign_targets
from fracdet_core.model.config import ModelConfig
from fracdet_core.model.detector import build_detector
from fracdet_core.model.loss import DetectionLoss

config = ModelConfig(image_size=128, fine_image_size=0)
keras.utils.set_random_seed(0)
reference = build_detector(config, fused_norm=False)
weights = reference.get_weights()
noise = np.random.default_rng(1)
perturbed = [weight * (1 + 1e-3 * noise.standard_normal(weight.shape)).astype(weight.dtype) for weight in weights]
rng = np.random.default_rng(0)
images = tf.constant(rng.random((4, 128, 128, 1), dtype=np.float32))
boxes = tf.constant([[0.1, 0.1, 0.14, 0.16], [0.3, 0.2, 0.7, 0.6], [0.0, 0.0, 1.0, 1.0]])
targets = tf.stack([assign_targets(boxes, tf.constant([0, 5, 9]), config)] * 4)
results = {"onednn": _pywrap_util_port.IsMklEnabled()}
for name, fused_norm, values in (("keras", False, weights), ("fused", True, weights), ("perturbed", False, perturbed)):
    model = build_detector(config, fused_norm=fused_norm)
    model.set_weights(values)
    with tf.GradientTape() as tape:
        loss = DetectionLoss()(targets, model(images, training=True))
    results[name + "_loss"] = float(loss)
    for index, gradient in enumerate(tape.gradient(loss, model.trainable_weights)):
        results[f"{name}_gradient_{index:03d}"] = gradient.numpy()
np.savez(sys.argv[1], **results)
"""


def _one_step(onednn: str, out: str) -> dict[str, np.ndarray]:
    environment = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": onednn, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, "-c", _STEP, out], env=environment, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    with np.load(out) as saved:
        return dict(saved)


@pytest.fixture(scope="module")
def steps(tmp_path_factory) -> dict[str, dict[str, np.ndarray]]:
    """One step's results per oneDNN setting, each from a fresh process."""
    folder = tmp_path_factory.mktemp("levers")
    return {onednn: _one_step(onednn, str(folder / f"onednn-{onednn}.npz")) for onednn in ("0", "1")}


def _gradients(results: dict[str, np.ndarray], name: str) -> list[np.ndarray]:
    return [results[key] for key in sorted(results) if key.startswith(f"{name}_gradient_")]


def _differences(actual: list[np.ndarray], expected: list[np.ndarray]) -> tuple[float, float]:
    """(the worst tensor's relative L2 difference, the relative L2 difference of all gradients together)."""
    worst = max(np.linalg.norm(a - e) / np.linalg.norm(e) for a, e in zip(actual, expected, strict=True))
    overall = np.sqrt(sum(np.sum((a - e) ** 2) for a, e in zip(actual, expected, strict=True))
                      / sum(np.sum(e**2) for e in expected))
    return float(worst), float(overall)


@pytest.mark.slow
@pytest.mark.parametrize(("onednn", "name"), [("0", "fused"), ("1", "keras"), ("1", "fused")],
                         ids=["fused batch norm", "oneDNN", "both"])
def test_a_step_with_the_levers_computes_todays_loss_and_gradients(steps, onednn, name):
    reference = steps["0"]
    assert not reference["onednn"] and bool(steps[onednn]["onednn"]) is (onednn == "1")
    assert steps[onednn][f"{name}_loss"] == pytest.approx(float(reference["keras_loss"]), rel=LOSS_RELATIVE)
    worst, overall = _differences(_gradients(steps[onednn], name), _gradients(reference, "keras"))
    assert worst < TENSOR_RELATIVE and overall < GLOBAL_RELATIVE, (worst, overall)


@pytest.mark.slow
def test_the_tolerance_sees_a_change_of_the_weights_by_one_part_in_a_thousand(steps):
    worst, overall = _differences(_gradients(steps["0"], "perturbed"), _gradients(steps["0"], "keras"))
    assert worst > 10 * TENSOR_RELATIVE and overall > 10 * GLOBAL_RELATIVE, (worst, overall)
