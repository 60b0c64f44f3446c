"""The bottom-up conv encoder of the conv hierarchy: features at every scale."""
from __future__ import annotations

import keras

from keras_vae.models._hierarchy.conv_cells import ResidualConvCell


@keras.saving.register_keras_serializable(package="keras_vae")
class ConvBottomUp(keras.layers.Layer):
    """Image ``[N, H, W, C]`` -> one feature map per scale, scale 0 (``H/2 x W/2``) first.

    A 3 x 3 stem, then per scale a stride-2 3 x 3 convolution (swish) and a
    :class:`ResidualConvCell`.

    Args:
        channels: channels of every feature map.
        scales: how many scales (halvings).

    Example:
        >>> import numpy as np
        >>> features = ConvBottomUp(8, 2)(np.zeros((3, 28, 28, 1), "float32"))
        >>> [tuple(f.shape) for f in features]
        [(3, 14, 14, 8), (3, 7, 7, 8)]
    """

    def __init__(self, channels: int, scales: int, **kwargs):
        super().__init__(**kwargs)
        self.channels, self.scales = int(channels), int(scales)
        self.stem = keras.layers.Conv2D(self.channels, 3, padding="same", name="stem")
        self.downs = [
            keras.layers.Conv2D(self.channels, 3, strides=2, padding="same", activation="silu", name=f"down_{s + 1}")
            for s in range(self.scales)
        ]
        self.cells = [ResidualConvCell(self.channels, name=f"cell_{s + 1}") for s in range(self.scales)]

    def build(self, input_shape):
        self.stem.build(input_shape)
        shape = (input_shape[0], input_shape[1], input_shape[2], self.channels)
        for down, cell in zip(self.downs, self.cells):
            down.build(shape)
            shape = down.compute_output_shape(shape)
            cell.build(shape)
        self.built = True

    def call(self, x, training=None) -> list:
        h = self.stem(x)
        features = []
        for down, cell in zip(self.downs, self.cells):
            h = cell(down(h))
            features.append(h)
        return features

    def get_config(self):
        config = super().get_config()
        config.update(channels=self.channels, scales=self.scales)
        return config
