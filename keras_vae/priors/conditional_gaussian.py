"""A Gaussian prior whose parameters depend on the condition: p(z | c)."""
from __future__ import annotations

from typing import Sequence

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from keras_vae._arguments import check_number
from keras_vae.priors.prior import Prior
from keras_vae.registry import register

tfd = tfp.distributions


@register("prior", "conditional_gaussian")
class ConditionalGaussianPrior(Prior):
    """p(z | c) = N(mu(c), diag(sigma(c)^2)), a small network from the condition's
    features (Sohn et al. 2015, the CVAE's prior network).

    A model with a condition passes its features as ``condition_features``; the
    distribution then has batch shape ``(batch,)``. Starts as N(0, I) (zero-initialized
    output), so an untrained model samples as an unconditional VAE would.

    Args:
        latent_dim: size of z (filled in by the VAE when ``None``).
        hidden_units: widths of the network's hidden layers.
        min_scale: lower bound added to sigma (softplus-parameterized).

    Example:
        >>> import numpy as np, keras_vae as kv
        >>> vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(4,), likelihood="gaussian",
        ...              condition={"name": "one_hot", "num_classes": 3},
        ...              prior="conditional_gaussian")
        >>> vae.prior(condition=np.array([0, 2])).batch_shape
        TensorShape([2])
    """

    takes_condition = True

    def __init__(self, latent_dim: int | None = None, hidden_units: Sequence[int] = (64,),
                 min_scale: float = 1e-3, **kwargs):
        super().__init__(latent_dim=latent_dim, **kwargs)
        self.hidden_units = [int(check_number(u, "hidden_units", minimum=1, integer=True)) for u in hidden_units]
        self.min_scale = check_number(min_scale, "min_scale", minimum=0.0, exclusive_minimum=True)
        self.network = None

    def build_for(self, feature_size: int) -> None:
        """Create the network for conditions of ``feature_size`` features."""
        latent = self.require_latent_dim()
        if self.network is None:
            layers = [keras.layers.Dense(u, activation="relu") for u in self.hidden_units]
            layers.append(keras.layers.Dense(2 * latent, kernel_initializer="zeros", bias_initializer="zeros"))
            self.network = keras.Sequential(layers, name="prior_network")
        if not self.network.built:
            self.network.build((None, feature_size))
        self.built = True

    def build(self, input_shape=None):
        self.require_latent_dim()  # the network is built by build_for, once the condition is known

    def distribution(self, posterior_fn=None, condition_features=None):
        if condition_features is None:
            raise ValueError(
                "conditional_gaussian is p(z | c): it needs the condition. Use it in a model "
                "with condition= and give condition= to prior() / sample()."
            )
        params = tf.cast(self.network(tf.cast(condition_features, tf.float32)), tf.float32)
        loc, raw = tf.split(params, 2, axis=-1)
        # softplus(raw + 0.5413) = 1 at raw = 0: the prior starts at N(0, I).
        scale = tf.math.softplus(raw + 0.5413248546129181) + self.min_scale
        return tfd.Independent(tfd.Normal(loc=loc, scale=scale), reinterpreted_batch_ndims=1)

    def get_config(self):
        return {**super().get_config(), "hidden_units": list(self.hidden_units), "min_scale": self.min_scale}
