"""The FactorVAE discriminator: codes -> one logit, "drawn from q(z)" vs "drawn from
the product of its marginals"."""
from __future__ import annotations

from typing import Sequence

import keras


@keras.saving.register_keras_serializable(package="keras_vae")
class Discriminator(keras.layers.Layer):
    """An MLP from a code ``[B, L]`` to one logit ``[B]``: LeakyReLU(0.2) hidden
    layers (Kim & Mnih 2018 use six of 1000 units) and a linear output.

    Args:
        units: hidden layer widths (may be empty: a logistic regression).

    Example:
        >>> import numpy as np
        >>> from keras_vae.objectives.discriminator import Discriminator
        >>> Discriminator(units=(8, 8))(np.zeros((3, 2), "float32")).shape
        TensorShape([3])
    """

    def __init__(self, units: Sequence[int] = (1000,) * 6, **kwargs):
        super().__init__(**kwargs)
        units = [int(u) for u in units]
        if any(u < 1 for u in units):
            raise ValueError(f"Discriminator units must be positive integers, got {units!r}.")
        self.units = tuple(units)
        self.hidden = [keras.layers.Dense(u, name=f"dense_{i}") for i, u in enumerate(self.units)]
        self.activation = keras.layers.LeakyReLU(negative_slope=0.2)
        self.logit = keras.layers.Dense(1, name="logit")

    def build(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.hidden:
            if not layer.built:
                layer.build(shape)
            shape = (shape[0], layer.units)
        if not self.logit.built:
            self.logit.build(shape)

    def call(self, z):
        h = z
        for layer in self.hidden:
            h = self.activation(layer(h))
        return self.logit(h)[..., 0]

    def get_config(self):
        return {**super().get_config(), "units": list(self.units)}
