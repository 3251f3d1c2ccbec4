"""The fused batch norm computes Keras's BatchNormalization: outputs, gradients and moving statistics.

Both layers get the same weights and the same batch. The tolerance is float32 round-off: the two
sum N * H * W values per channel in different orders (the fused kernel in one pass, Keras in
`tf.nn.moments`), so each figure may differ by a few units in the last place of its largest
value, about 1e-6 relative; 1e-5 relative (plus 1e-6 absolute near zero) leaves room for that
and for nothing else: swapping the biased and unbiased variance alone moves the moving variance
by 1 / (N * H * W - 1), 1e-3 here, and is caught (the last test).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from fracdet_core.model.fused_norm import FusedBatchNormalization

RELATIVE, ABSOLUTE = 1e-5, 1e-6
SHAPE = (4, 16, 16, 8)  # 1,024 values per channel


def _pair(**arguments: object) -> tuple[keras.layers.BatchNormalization, FusedBatchNormalization]:
    """Keras's layer and the fused one, built alike, with the same non-trivial scale and offset."""
    keras_norm = keras.layers.BatchNormalization(**arguments)
    fused_norm = FusedBatchNormalization(**arguments)
    for layer in (keras_norm, fused_norm):
        layer.build(SHAPE)
        layer.gamma.assign(np.linspace(0.5, 2.0, SHAPE[-1]))
        layer.beta.assign(np.linspace(-1.0, 1.0, SHAPE[-1]))
    return keras_norm, fused_norm


def _inputs(seed: int = 0) -> tf.Tensor:
    """Activations with a mean and spread far from 0 and 1, per channel."""
    rng = np.random.default_rng(seed)
    return tf.constant(rng.normal(size=SHAPE) * np.arange(1, 9) + np.arange(-4, 4), tf.float32)


def _training_call(layer: keras.layers.Layer, inputs: tf.Tensor, upstream: tf.Tensor) -> dict[str, np.ndarray]:
    """Outputs, the gradients of <outputs, upstream> by input, scale and offset, and the moving statistics after."""
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        outputs = layer(inputs, training=True)
        product = tf.reduce_sum(outputs * upstream)
    by_input, by_gamma, by_beta = tape.gradient(product, [inputs, layer.gamma, layer.beta])
    return {"outputs": outputs.numpy(), "by_input": by_input.numpy(), "by_gamma": by_gamma.numpy(),
            "by_beta": by_beta.numpy(), "moving_mean": layer.moving_mean.numpy(),
            "moving_variance": layer.moving_variance.numpy()}


def test_a_training_step_matches_keras():
    keras_norm, fused_norm = _pair(momentum=0.97, epsilon=1e-3)
    inputs, upstream = _inputs(), tf.constant(np.random.default_rng(1).normal(size=SHAPE), tf.float32)
    expected = _training_call(keras_norm, inputs, upstream)
    actual = _training_call(fused_norm, inputs, upstream)
    for name, values in expected.items():
        np.testing.assert_allclose(actual[name], values, rtol=RELATIVE, atol=ABSOLUTE * np.abs(values).max(), err_msg=name)
    assert np.abs(expected["moving_variance"] - 1.0).max() > 0.1  # the step moved the statistics: the check means something


def test_inference_uses_the_moving_statistics_like_keras():
    keras_norm, fused_norm = _pair(momentum=0.5, epsilon=1e-3)
    for seed in range(3):  # a few steps, so that the moving statistics are far from their start
        _training_call(keras_norm, _inputs(seed), tf.ones(SHAPE))
        _training_call(fused_norm, _inputs(seed), tf.ones(SHAPE))
    expected = keras_norm(_inputs(7), training=False).numpy()
    np.testing.assert_allclose(fused_norm(_inputs(7), training=False).numpy(), expected, rtol=RELATIVE,
                               atol=ABSOLUTE * np.abs(expected).max())


def test_half_precision_inputs_give_half_precision_outputs_like_keras():
    """Mixed precision on a GPU: float16 activations, float32 statistics."""
    keras_norm, fused_norm = _pair(dtype="mixed_float16")
    inputs = tf.cast(_inputs(), tf.float16)
    expected, actual = keras_norm(inputs, training=True), fused_norm(inputs, training=True)
    assert actual.dtype == expected.dtype == tf.float16
    np.testing.assert_allclose(actual.numpy().astype(np.float32), expected.numpy().astype(np.float32), atol=2e-2)
    np.testing.assert_allclose(fused_norm.moving_variance.numpy(), keras_norm.moving_variance.numpy(), rtol=1e-3)


@pytest.mark.parametrize("case", ["mask", "rank 2", "frozen"])
def test_where_the_fused_kernel_does_not_apply_it_is_keras(case):
    """A mask, a 2-D input, or a frozen layer (moving statistics in training too): the same results as Keras."""
    keras_norm, fused_norm = _pair()
    inputs, call = _inputs(), {"training": True}
    if case == "mask":
        call["mask"] = tf.constant(np.random.default_rng(2).random(SHAPE[:-1]) > 0.3)
    elif case == "rank 2":
        keras_norm, fused_norm = keras.layers.BatchNormalization(), FusedBatchNormalization()
        inputs = tf.reshape(inputs, (-1, SHAPE[-1]))
    else:
        keras_norm.trainable = fused_norm.trainable = False
    np.testing.assert_allclose(fused_norm(inputs, **call).numpy(), keras_norm(inputs, **call).numpy(), rtol=RELATIVE,
                               atol=1e-5)
    np.testing.assert_allclose(fused_norm.moving_variance.numpy(), keras_norm.moving_variance.numpy(), rtol=RELATIVE)


def test_its_config_is_keras_batch_normalization_config():
    arguments = {"momentum": 0.97, "epsilon": 1e-3, "name": "norm"}
    config = FusedBatchNormalization(**arguments).get_config()
    assert config == keras.layers.BatchNormalization(**arguments).get_config()
    assert FusedBatchNormalization.from_config(config).get_config() == config


def test_the_unbiased_variance_would_be_caught():
    """The fused kernel reports the unbiased variance; Keras keeps the biased one: the difference exceeds the tolerance."""
    _, fused_norm = _pair(momentum=0.0)
    inputs = _inputs()
    fused_norm(inputs, training=True)
    count = np.prod(SHAPE[:-1])
    unbiased = np.var(inputs.numpy().reshape(-1, SHAPE[-1]), axis=0, ddof=1)
    np.testing.assert_allclose(fused_norm.moving_variance.numpy(), unbiased * (count - 1) / count, rtol=RELATIVE)
    assert np.all(np.abs(unbiased / fused_norm.moving_variance.numpy() - 1) > 10 * RELATIVE)
