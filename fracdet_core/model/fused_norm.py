"""Keras's batch normalization, computed by TensorFlow's fused kernel where that kernel applies.

Keras 3 normalizes a batch under the TensorFlow backend with `tf.nn.moments` and
`tf.nn.batch_normalization`: about ten elementwise kernels forward and more backward, each a
pass over the activations, where tf.keras used one `FusedBatchNormV3` (oneDNN's on a CPU,
cuDNN's on a GPU) each way. The unfused graph also hides the Conv2D + FusedBatchNorm pattern
that TensorFlow's graph optimizer folds into one convolution at inference.

`FusedBatchNormalization` is `keras.layers.BatchNormalization` with the same arguments, weights
and config; it computes the same function (Ioffe and Szegedy, 2015) with the statistics Keras
keeps: the moving variance follows the biased batch variance, as Keras 3 updates it, where
the fused kernel reports the unbiased one. Where the fused kernel does not apply (another
backend, such as JAX on the GPU machine; a mask; renormalization; synchronized statistics; not
a 4-D NHWC float32 or float16 tensor) it is Keras's own layer.
"""

from __future__ import annotations

import keras
from keras import layers, ops

_TENSORFLOW = keras.backend.backend() == "tensorflow"
if _TENSORFLOW:  # hosts of other backends may have no TensorFlow at all
    import tensorflow as tf

_FUSED_DTYPES = ("float32", "float16")


@keras.saving.register_keras_serializable(package="fracdet")
class FusedBatchNormalization(layers.BatchNormalization):
    """`keras.layers.BatchNormalization`, one fused kernel each way under TensorFlow (see the module)."""

    def call(self, inputs, training=None, mask=None):  # noqa: ANN001, ANN201 - Keras tensors
        if not self._fused_kernel_applies(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        gamma = self.gamma if self.scale else ops.ones_like(self.moving_mean)
        beta = self.beta if self.center else ops.zeros_like(self.moving_mean)
        if training and self.trainable:
            outputs, mean, unbiased_variance = tf.compat.v1.nn.fused_batch_norm(
                inputs, gamma, beta, epsilon=self.epsilon, is_training=True
            )
            count = ops.cast(ops.size(inputs) // ops.shape(inputs)[-1], "float32")  # values per channel: N * H * W
            variance = unbiased_variance * ((count - 1.0) / count)
            self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
            self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        else:
            outputs, _, _ = tf.compat.v1.nn.fused_batch_norm(
                inputs, gamma, beta, mean=self.moving_mean, variance=self.moving_variance, epsilon=self.epsilon,
                is_training=False,
            )
        return ops.cast(outputs, self.compute_dtype)

    def _fused_kernel_applies(self, inputs, mask) -> bool:  # noqa: ANN001
        """Whether `FusedBatchNormV3` computes this call: TensorFlow, NHWC 4-D float input, plain statistics."""
        return (_TENSORFLOW and mask is None and not self.renorm and not self.synchronized
                and len(inputs.shape) == 4 and self.axis in (3, -1)
                and keras.backend.standardize_dtype(inputs.dtype) in _FUSED_DTYPES)
