"""A convolutional encoder body that keeps the spatial grid (for discrete latents)."""
from __future__ import annotations

from typing import Sequence

import keras

from keras_vae._arguments import check_number
from keras_vae._layer_stack import apply_layers, build_layers, check_units
from keras_vae.registry import register


@register("encoder", "conv_grid")
class ConvGridEncoder(keras.layers.Layer):
    """Strided 2-D convolutions, then a linear 1x1 convolution to ``channels``: an
    image becomes a grid of vectors (no flatten), as a VQ-VAE's quantizer needs.

    Args:
        filters: channels of each strided convolution; each halves the spatial size,
            e.g. ``[32, 64]`` maps 28x28 to 7x7.
        channels: channels of the output grid (the VQ-VAE's ``embedding_dim``); set by
            ``kv.VQVAE`` when ``None``.
        kernel_size: convolution kernel size.
        activation: activation of the strided convolutions.

    Example:
        >>> import numpy as np, keras_vae as kv
        >>> enc = kv.encoders.ConvGridEncoder([8, 16], channels=4)
        >>> enc(np.zeros((2, 28, 28, 1), "float32")).shape
        TensorShape([2, 7, 7, 4])
    """

    def __init__(
        self,
        filters: Sequence[int] = (32, 64),
        channels: int | None = None,
        kernel_size: int = 3,
        activation: str = "relu",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = check_units(filters, "filters", allow_empty=False)
        self.channels = None if channels is None else int(check_number(channels, "channels", minimum=1, integer=True))
        self.kernel_size = int(check_number(kernel_size, "kernel_size", minimum=1, integer=True))
        self.activation = activation
        self.convs = [
            keras.layers.Conv2D(f, self.kernel_size, strides=2, padding="same", activation=activation,
                                dtype=self.dtype_policy, name=f"conv_{i}")
            for i, f in enumerate(self.filters)
        ]

    def configure(self, *, embedding_dim: int | None = None, **_) -> None:
        """Take the output channels from the model (``VQVAE`` passes ``embedding_dim``)."""
        if embedding_dim is not None and self.channels is None:
            self.channels = int(embedding_dim)

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(
                "ConvGridEncoder expects images shaped (batch, height, width, channels), got "
                f"input shape {tuple(input_shape)}."
            )
        if self.channels is None:
            raise ValueError("ConvGridEncoder needs channels= (or use it inside kv.VQVAE).")
        self.project = keras.layers.Conv2D(self.channels, 1, dtype=self.dtype_policy, name="project")
        shape = build_layers(self.convs, input_shape)
        self.project.build(shape)

    def call(self, x):
        return self.project(apply_layers(self.convs, x))

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, channels=self.channels, kernel_size=self.kernel_size,
                      activation=self.activation)
        return config
