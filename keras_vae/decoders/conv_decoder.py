"""A transposed-convolution decoder body for images."""
from __future__ import annotations

from typing import Sequence

import keras

from keras_vae._arguments import check_number
from keras_vae._layer_stack import apply_layers, build_layers, check_units
from keras_vae.registry import register


@register("decoder", "conv")
class ConvDecoder(keras.layers.Layer):
    """Dense to a small feature map, then strided transposed convolutions.

    Each transposed convolution doubles the spatial size, so the first feature map
    is the image size divided by ``2 ** len(filters)``. The image size comes from the
    VAE (``configure``) or from ``target_shape``.

    Args:
        filters: channels of each transposed convolution, e.g. ``[64, 32]``.
        kernel_size: kernel size.
        activation: activation of every layer.
        target_shape: ``(height, width, channels)`` of the data; filled in by the
            VAE when left ``None``.

    Example:
        >>> import numpy as np, keras_vae as kv
        >>> dec = kv.decoders.ConvDecoder([16, 8], target_shape=(28, 28, 1))
        >>> dec(np.zeros((2, 2), "float32")).shape
        TensorShape([2, 28, 28, 8])
    """

    def __init__(
        self,
        filters: Sequence[int] = (64, 32),
        kernel_size: int = 3,
        activation: str = "relu",
        target_shape: Sequence[int] | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = check_units(filters, "filters", allow_empty=False)
        self.kernel_size = check_number(kernel_size, "kernel_size", minimum=1, integer=True)
        self.activation = activation
        self.target_shape = None
        if target_shape is not None:
            self.configure(data_shape=target_shape)

    def configure(self, *, data_shape: Sequence[int], **_) -> None:
        """Set the image shape to decode to (called by the VAE)."""
        data_shape = tuple(int(d) for d in data_shape)
        if self.target_shape is not None and tuple(self.target_shape) != data_shape:
            raise ValueError(
                f"ConvDecoder was built for images of shape {tuple(self.target_shape)} "
                f"but the model's data has shape {data_shape}."
            )
        factor = 2 ** len(self.filters)
        if len(data_shape) != 3 or data_shape[0] % factor or data_shape[1] % factor:
            raise ValueError(
                f"ConvDecoder with {len(self.filters)} upsampling layers needs image data "
                f"shaped (height, width, channels) with height and width divisible by "
                f"{factor}; got {data_shape}. Use fewer filters or MLPDecoder."
            )
        self.target_shape = list(data_shape)

    def build(self, input_shape):
        if self.target_shape is None:
            raise ValueError(
                "ConvDecoder does not know the image shape: pass target_shape=(H, W, C) "
                "or use it inside a keras_vae.VAE with input_shape set."
            )
        factor = 2 ** len(self.filters)
        h, w = self.target_shape[0] // factor, self.target_shape[1] // factor
        self.project = keras.layers.Dense(
            h * w * self.filters[0], activation=self.activation, dtype=self.dtype_policy
        )
        self.reshape = keras.layers.Reshape((h, w, self.filters[0]), dtype=self.dtype_policy)
        self.deconvs = [
            keras.layers.Conv2DTranspose(
                f,
                self.kernel_size,
                strides=2,
                padding="same",
                activation=self.activation,
                dtype=self.dtype_policy,
                name=f"deconv_{i}",
            )
            for i, f in enumerate(self.filters)
        ]
        self.project.build(input_shape)
        build_layers(self.deconvs, (input_shape[0], h, w, self.filters[0]))

    def call(self, z):
        return apply_layers(self.deconvs, self.reshape(self.project(z)))

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            activation=self.activation,
            target_shape=self.target_shape,
        )
        return config
