"""A transposed-convolution decoder body that starts from a grid (for discrete latents)."""
from __future__ import annotations

from typing import Sequence

import keras

from keras_vae._arguments import check_number
from keras_vae._layer_stack import apply_layers, build_layers, check_units
from keras_vae.registry import register


@register("decoder", "conv_grid")
class ConvGridDecoder(keras.layers.Layer):
    """Strided transposed convolutions from a grid of vectors (a VQ-VAE's quantized
    codes) up to the image size; each doubles the spatial size. The likelihood head
    maps the last feature map to the data's parameters.

    Args:
        filters: channels of each transposed convolution, e.g. ``[64, 32]`` maps 7x7 to 28x28.
        kernel_size: kernel size.
        activation: activation of every layer.

    Example:
        >>> import numpy as np, keras_vae as kv
        >>> dec = kv.decoders.ConvGridDecoder([16, 8])
        >>> dec(np.zeros((2, 7, 7, 4), "float32")).shape
        TensorShape([2, 28, 28, 8])
    """

    def __init__(self, filters: Sequence[int] = (64, 32), kernel_size: int = 3, activation: str = "relu", **kwargs):
        super().__init__(**kwargs)
        self.filters = check_units(filters, "filters", allow_empty=False)
        self.kernel_size = int(check_number(kernel_size, "kernel_size", minimum=1, integer=True))
        self.activation = activation
        self.deconvs = [
            keras.layers.Conv2DTranspose(f, self.kernel_size, strides=2, padding="same", activation=activation,
                                         dtype=self.dtype_policy, name=f"deconv_{i}")
            for i, f in enumerate(self.filters)
        ]

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(
                f"ConvGridDecoder expects a grid shaped (batch, height, width, channels), got {tuple(input_shape)}."
            )
        build_layers(self.deconvs, input_shape)

    def call(self, z):
        return apply_layers(self.deconvs, z)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, kernel_size=self.kernel_size, activation=self.activation)
        return config
