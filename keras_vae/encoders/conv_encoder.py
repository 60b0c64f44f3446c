"""A convolutional encoder body for images."""
from __future__ import annotations

from typing import Sequence

import keras

from keras_vae._arguments import check_number
from keras_vae._layer_stack import apply_layers, build_layers, check_units, dense_layers
from keras_vae.registry import register


@register("encoder", "conv")
class ConvEncoder(keras.layers.Layer):
    """Strided 2-D convolutions, then flatten and optional dense layers.

    Args:
        filters: channels of each convolution; each halves the spatial size
            (``strides=2``), e.g. ``[32, 64]`` maps 28x28 to 7x7.
        kernel_size: convolution kernel size.
        strides: convolution stride.
        hidden_units: dense layers after flattening, e.g. ``[16]``.
        activation: activation of every layer.
        input_scale: the input is multiplied by this first (e.g. ``1 / 255`` for raw
            8-bit levels, see :class:`MLPEncoder`). Default 1.0: no scaling.

    Example:
        >>> import numpy as np, keras_vae as kv
        >>> enc = kv.encoders.ConvEncoder([8, 16], hidden_units=[4])
        >>> enc(np.zeros((2, 28, 28, 1), "float32")).shape
        TensorShape([2, 4])
    """

    def __init__(
        self,
        filters: Sequence[int] = (32, 64),
        kernel_size: int = 3,
        strides: int = 2,
        hidden_units: Sequence[int] = (),
        activation: str = "relu",
        input_scale: float = 1.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = check_units(filters, "filters", allow_empty=False)
        self.kernel_size = check_number(kernel_size, "kernel_size", minimum=1, integer=True)
        self.strides = check_number(strides, "strides", minimum=1, integer=True)
        self.hidden_units = check_units(hidden_units)
        self.activation = activation
        self.input_scale = float(check_number(input_scale, "ConvEncoder input_scale", minimum=0.0, exclusive_minimum=True))
        self.convs = [
            keras.layers.Conv2D(
                f,
                self.kernel_size,
                strides=self.strides,
                padding="same",
                activation=activation,
                dtype=self.dtype_policy,
                name=f"conv_{i}",
            )
            for i, f in enumerate(self.filters)
        ]
        self.flatten = keras.layers.Flatten(dtype=self.dtype_policy)
        self.hidden = dense_layers(self.hidden_units, activation, self.dtype_policy)

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(
                "ConvEncoder expects images shaped (batch, height, width, channels), "
                f"got input shape {tuple(input_shape)}. Use MLPEncoder for flat data."
            )
        shape = build_layers(self.convs, input_shape)
        build_layers(self.hidden, self.flatten.compute_output_shape(shape))

    def call(self, x):
        if self.input_scale != 1.0:
            x = keras.ops.cast(x, self.compute_dtype) * self.input_scale
        return apply_layers(self.hidden, self.flatten(apply_layers(self.convs, x)))

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            strides=self.strides,
            hidden_units=self.hidden_units,
            activation=self.activation,
            input_scale=self.input_scale,
        )
        return config
