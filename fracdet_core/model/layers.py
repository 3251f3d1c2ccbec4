"""Keras 3 layers of the detector, written the keras-hub way.

Constructor arguments are kept as attributes and returned by `get_config()`; sub-layers are
made in `__init__` and built in `build()`; math goes through `keras.ops`, so the layers also
run on the JAX backend.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from fracdet_core.model.fused_norm import FusedBatchNormalization

_PACKAGE = "fracdet"


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ConvBNAct(layers.Layer):
    """Convolution, batch norm, SiLU: the unit every stage is made of.

    `fused_norm` computes the batch norm with TensorFlow's fused kernel
    (`fracdet_core.model.fused_norm`): the same function as Keras's layer, in fewer passes over
    the activations; False gives Keras's own layer, to compare the two.
    """

    def __init__(self, filters: int, kernel_size: int = 3, strides: int = 1, activation: bool = True,
                 fused_norm: bool = True, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = kernel_size
        self.strides = strides
        self.activation = activation
        self.fused_norm = fused_norm
        norm = FusedBatchNormalization if fused_norm else layers.BatchNormalization
        self.conv = layers.Conv2D(filters, kernel_size, strides=strides, padding="same", use_bias=False, name="conv")
        self.norm = norm(momentum=0.97, epsilon=1e-3, name="norm")

    def build(self, input_shape) -> None:  # noqa: ANN001 - Keras shape tuple
        self.conv.build(input_shape)
        self.norm.build(self.conv.compute_output_shape(input_shape))
        self.built = True

    def call(self, inputs, training=None):  # noqa: ANN001, ANN201 - Keras tensors
        outputs = self.norm(self.conv(inputs), training=training)
        return ops.silu(outputs) if self.activation else outputs

    def compute_output_shape(self, input_shape):  # noqa: ANN001, ANN201
        return self.conv.compute_output_shape(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "activation": self.activation, "fused_norm": self.fused_norm}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ResidualBlock(layers.Layer):
    """Two 3x3 ConvBNAct with an identity (or 1x1 projection) shortcut (He et al., 2016).

    The first block of a stage has `strides=2` and halves the resolution.
    """

    def __init__(self, filters: int, strides: int = 1, fused_norm: bool = True, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.filters = filters
        self.strides = strides
        self.fused_norm = fused_norm
        self.first = ConvBNAct(filters, 3, strides, fused_norm=fused_norm, name="first")
        self.second = ConvBNAct(filters, 3, 1, activation=False, fused_norm=fused_norm, name="second")
        self.projection: ConvBNAct | None = None

    def build(self, input_shape) -> None:  # noqa: ANN001
        self.first.build(input_shape)
        self.second.build(self.first.compute_output_shape(input_shape))
        if self.strides != 1 or input_shape[-1] != self.filters:
            self.projection = ConvBNAct(self.filters, 1, self.strides, activation=False, fused_norm=self.fused_norm,
                                        name="projection")
            self.projection.build(input_shape)
        self.built = True

    def call(self, inputs, training=None):  # noqa: ANN001, ANN201
        shortcut = self.projection(inputs, training=training) if self.projection is not None else inputs
        return ops.silu(self.second(self.first(inputs, training=training), training=training) + shortcut)

    def compute_output_shape(self, input_shape):  # noqa: ANN001, ANN201
        return self.first.compute_output_shape(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "filters": self.filters, "strides": self.strides, "fused_norm": self.fused_norm}
