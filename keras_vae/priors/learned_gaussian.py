"""A diagonal Gaussian prior with learned mean and scale."""
from __future__ import annotations

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from keras_vae._arguments import check_number
from keras_vae.priors.prior import Prior
from keras_vae.registry import register

tfd = tfp.distributions


@register("prior", "learned_gaussian")
class LearnedGaussian(Prior):
    """p(z) = N(m, diag(s^2)) with m and s learned with the rest of the model.

    Starts at N(0, I). Structured like the diagonal posterior (``Independent`` of
    ``Normal``), so the KL stays analytic.

    Args:
        latent_dim: size of z (filled in by the VAE when ``None``).
        min_scale: lower bound added to s (softplus-parameterized).

    Example:
        >>> import keras_vae as kv
        >>> prior = kv.priors.LearnedGaussian(latent_dim=3)
        >>> prior.build()
        >>> [tuple(w.shape) for w in prior.weights]
        [(3,), (3,)]
    """

    def __init__(self, latent_dim: int | None = None, min_scale: float = 1e-3, **kwargs):
        super().__init__(latent_dim=latent_dim, **kwargs)
        self.min_scale = check_number(min_scale, "min_scale", minimum=0.0, exclusive_minimum=True)

    def build(self, input_shape=None):
        latent = self.require_latent_dim()
        raw_one = float(np.log(np.expm1(1.0 - self.min_scale)))
        self.loc = self.add_weight(shape=(latent,), initializer="zeros", name="loc")
        self.raw_scale = self.add_weight(
            shape=(latent,), initializer=lambda shape, dtype=None: tf.fill(shape, raw_one), name="raw_scale"
        )

    def distribution(self, posterior_fn=None):
        if not self.built:
            self.build()
        scale = tf.math.softplus(tf.cast(self.raw_scale, tf.float32)) + self.min_scale
        return tfd.Independent(
            tfd.Normal(loc=tf.cast(self.loc, tf.float32), scale=scale), reinterpreted_batch_ndims=1
        )

    def get_config(self):
        config = super().get_config()
        config.update(min_scale=self.min_scale)
        return config
