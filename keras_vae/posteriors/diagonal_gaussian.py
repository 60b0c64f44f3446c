"""Diagonal Gaussian posterior, the standard VAE choice."""
from __future__ import annotations

import tensorflow as tf
import tensorflow_probability as tfp

from keras_vae._arguments import check_number
from keras_vae.posteriors.posterior import Posterior
from keras_vae.registry import register

tfd = tfp.distributions


@register("posterior", "diagonal_gaussian")
class DiagonalGaussianPosterior(Posterior):
    """q(z|x) = N(mu(x), diag(sigma(x)^2)).

    ``sigma = softplus(raw) + min_scale``: softplus keeps the scale positive without
    the overflow of ``exp``, and ``min_scale`` keeps ``log q`` finite when the encoder
    pushes the scale towards zero.

    Args:
        latent_dim: size of z (filled in by the VAE when ``None``).
        min_scale: lower bound added to the scale.

    Example:
        >>> import numpy as np, keras_vae as kv
        >>> head = kv.posteriors.DiagonalGaussianPosterior(latent_dim=2)
        >>> q = head.distribution(head(np.zeros((3, 5), "float32")))
        >>> q.event_shape, q.batch_shape
        (TensorShape([2]), TensorShape([3]))
    """

    def __init__(self, latent_dim: int | None = None, min_scale: float = 1e-4, **kwargs):
        super().__init__(latent_dim=latent_dim, **kwargs)
        self.min_scale = check_number(
            min_scale, "DiagonalGaussianPosterior min_scale", minimum=0.0, exclusive_minimum=True
        )

    @property
    def param_size(self) -> int:
        return 2 * self.latent_dim

    def _loc_scale(self, params):
        params = tf.cast(params, tf.float32)
        loc, raw_scale = tf.split(params, 2, axis=-1)
        return loc, tf.math.softplus(raw_scale) + self.min_scale

    def distribution(self, params):
        loc, scale = self._loc_scale(params)
        return tfd.Independent(tfd.Normal(loc=loc, scale=scale), reinterpreted_batch_ndims=1)

    def natural_parameters(self, params):
        loc, scale = self._loc_scale(params)
        return {"mean": loc, "stddev": scale}

    def get_config(self):
        config = super().get_config()
        config.update(min_scale=self.min_scale)
        return config
