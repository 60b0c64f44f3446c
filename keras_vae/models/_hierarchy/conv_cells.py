"""NVAE's residual cell, small: ``x + conv(swish(conv(swish(x))))`` (3 x 3, same size)."""
from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="keras_vae")
class ResidualConvCell(keras.layers.Layer):
    """A residual block on ``[N, h, w, channels]`` maps (swish, two 3 x 3 convolutions).

    Args:
        channels: the maps' channels (input and output).

    Example:
        >>> import numpy as np
        >>> cell = ResidualConvCell(4)
        >>> tuple(cell(np.zeros((2, 7, 7, 4), "float32")).shape)
        (2, 7, 7, 4)
    """

    def __init__(self, channels: int, **kwargs):
        super().__init__(**kwargs)
        self.channels = int(channels)
        self.conv_a = keras.layers.Conv2D(self.channels, 3, padding="same", name="conv_a")
        self.conv_b = keras.layers.Conv2D(self.channels, 3, padding="same", name="conv_b")

    def build(self, input_shape):
        self.conv_a.build(input_shape)
        self.conv_b.build((*input_shape[:-1], self.channels))
        self.built = True

    def call(self, x, training=None):
        return x + self.conv_b(keras.activations.silu(self.conv_a(keras.activations.silu(x))))

    def get_config(self):
        config = super().get_config()
        config.update(channels=self.channels)
        return config
