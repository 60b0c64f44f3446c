"""A fully connected encoder body."""
from __future__ import annotations

from typing import Sequence

import keras

from keras_vae._arguments import check_number
from keras_vae._layer_stack import apply_layers, build_layers, check_units, dense_layers
from keras_vae.registry import register


@register("encoder", "mlp")
class MLPEncoder(keras.layers.Layer):
    """Flattens the input and applies a stack of dense layers.

    The encoder only produces features; the posterior head owns the projection to
    distribution parameters.

    Args:
        hidden_units: sizes of the dense layers, e.g. ``[400]``.
        activation: activation of every dense layer.
        kernel_initializer: initializer of every dense kernel.
        input_scale: the input is multiplied by this first, e.g. ``1 / 255`` when the
            data are raw 8-bit levels for a ``logistic_mixture`` or ``categorical``
            likelihood (those keep the data as integers 0..255; the encoder trains
            badly on values that large). Default 1.0: no scaling.

    Example:
        >>> import numpy as np, keras_vae as kv
        >>> kv.encoders.MLPEncoder([32])(np.zeros((2, 28, 28, 1), "float32")).shape
        TensorShape([2, 32])
    """

    def __init__(
        self,
        hidden_units: Sequence[int] = (400,),
        activation: str = "relu",
        kernel_initializer: str = "glorot_uniform",
        input_scale: float = 1.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.hidden_units = check_units(hidden_units)
        self.activation = activation
        self.kernel_initializer = kernel_initializer
        self.input_scale = float(check_number(input_scale, "MLPEncoder input_scale", minimum=0.0, exclusive_minimum=True))
        self.flatten = keras.layers.Flatten(dtype=self.dtype_policy)
        self.hidden = dense_layers(self.hidden_units, activation, self.dtype_policy, kernel_initializer)

    def build(self, input_shape):
        build_layers(self.hidden, self.flatten.compute_output_shape(input_shape))

    def call(self, x):
        if self.input_scale != 1.0:
            x = keras.ops.cast(x, self.compute_dtype) * self.input_scale
        return apply_layers(self.hidden, self.flatten(x))

    def compute_output_shape(self, input_shape):
        shape = self.flatten.compute_output_shape(input_shape)
        return (shape[0], self.hidden_units[-1]) if self.hidden_units else shape

    def get_config(self):
        config = super().get_config()
        config.update(
            hidden_units=self.hidden_units,
            activation=self.activation,
            kernel_initializer=self.kernel_initializer,
            input_scale=self.input_scale,
        )
        return config
