"""The residual posterior's head of a conv group: a feature map -> (dmu, dsigma) maps."""
from __future__ import annotations

import keras
import tensorflow as tf

from keras_vae.models._hierarchy.residual import residual_deltas


def flat_pair(maps):
    """``[N, h, w, 2c]`` -> ``[N, 2 h w c]``: the first ``c`` channels flattened, then the
    last ``c`` (so splitting the last axis in two gives each map in the latent's order)."""
    a, b = tf.split(maps, 2, axis=-1)
    n = tf.shape(maps)[0]
    return tf.concat([tf.reshape(a, [n, -1]), tf.reshape(b, [n, -1])], axis=-1)


@keras.saving.register_keras_serializable(package="keras_vae")
class ConvResidualHead(keras.layers.Layer):
    """Bottom-up features ``[N, h, w, C]`` -> the flat ``[N, 2 h w c]`` raw (dmu, log
    dsigma) of a residual normal posterior (one 3 x 3 convolution); ``deltas`` bounds
    them by the soft clamp, as :class:`ResidualGaussianHead` does for MLP bodies.

    Args:
        latent_channels: the group's channels ``c``.
        clamp: the soft clamp's bound (NVAE: 5), or ``None``.

    Example:
        >>> import numpy as np
        >>> head = ConvResidualHead(2)
        >>> dmu, dsigma = head.deltas(head(np.zeros((3, 7, 7, 8), "float32")))
        >>> tuple(dmu.shape), bool(np.all(dsigma.numpy() > 0))
        ((3, 98), True)
    """

    def __init__(self, latent_channels: int, clamp: float | None = 5.0, **kwargs):
        super().__init__(**kwargs)
        self.latent_channels = int(latent_channels)
        self.clamp = None if clamp is None else float(clamp)
        self.projection = keras.layers.Conv2D(2 * self.latent_channels, 3, padding="same", name="projection")

    def build(self, input_shape):
        if not self.projection.built:
            self.projection.build(input_shape)
        self.built = True

    def call(self, features, training=None):
        return flat_pair(self.projection(features))

    def deltas(self, params):
        """``(dmu, dsigma)`` from the head's output ``[..., 2 d]``."""
        return residual_deltas(params, self.clamp)

    def get_config(self):
        config = super().get_config()
        config.update(latent_channels=self.latent_channels, clamp=self.clamp)
        return config
