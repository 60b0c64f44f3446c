"""NVAE's residual normal posterior (Vahdat & Kautz 2020, sec. 3.2) on a top-down prior.

Given the prior p(z_l | z_{l+1}) = N(mu_p, sigma_p) of a group, the residual posterior
is defined *relative* to it::

    q(z_l | z_{l+1}, x) = N(mu_p + dmu, sigma_p * dsigma)
    KL(q || p) = 1/2 sum_i (dmu_i^2 / sigma_p,i^2 + dsigma_i^2 - 1 - log dsigma_i^2)

where (dmu, log dsigma) come from a head on the bottom-up features of x, each bounded
by NVAE's soft clamp ``c * tanh(v / c)`` (c = 5) so a step cannot send a scale to 0
or infinity. At dmu = 0, dsigma = 1 q *is* the prior; the KL depends on x only
through what the head changes.
"""
from __future__ import annotations

import keras
import tensorflow as tf
import tensorflow_probability as tfp

tfd = tfp.distributions


def soft_clamp(value, bound: float | None):
    """``bound * tanh(value / bound)``: the identity near 0, bounded by ``±bound``
    (``bound=None``: no bound).

    Example:
        >>> round(float(soft_clamp(100.0, 5.0)), 4), round(float(soft_clamp(0.01, 5.0)), 4)
        (5.0, 0.01)
    """
    if bound is None:
        return value
    return bound * tf.tanh(value / bound)


def residual_deltas(params, bound: float | None):
    """``(dmu, dsigma)`` from a residual head's output ``[..., 2 d]``: the location
    and the log scale, each soft-clamped to ``bound``."""
    raw_loc, raw_log_scale = tf.split(tf.cast(params, tf.float32), 2, axis=-1)
    return soft_clamp(raw_loc, bound), tf.exp(soft_clamp(raw_log_scale, bound))


def residual_gaussian(prior_loc, prior_scale, delta_loc, delta_scale):
    """``N(prior_loc + delta_loc, prior_scale * delta_scale)`` over the last axis.

    Example:
        >>> q = residual_gaussian(1.0, 2.0, [0.5], [0.5])
        >>> float(q.mean()[0]), float(q.stddev()[0])
        (1.5, 1.0)
    """
    loc = tf.convert_to_tensor(prior_loc, tf.float32) + tf.convert_to_tensor(delta_loc, tf.float32)
    scale = tf.convert_to_tensor(prior_scale, tf.float32) * tf.convert_to_tensor(delta_scale, tf.float32)
    return tfd.Independent(tfd.Normal(loc=loc, scale=scale), reinterpreted_batch_ndims=1)


@keras.saving.register_keras_serializable(package="keras_vae")
class ResidualGaussianHead(keras.layers.Layer):
    """Features -> (dmu, dsigma) of a residual normal posterior (one Dense projection).

    ``dmu = soft_clamp(a)``, ``dsigma = exp(soft_clamp(b))`` with ``[a, b]`` the
    projection's output; ``clamp=None`` leaves them unbounded.

    Args:
        latent_dim: size of the group.
        clamp: the soft clamp's bound (NVAE: 5), or ``None``.

    Example:
        >>> import numpy as np
        >>> head = ResidualGaussianHead(3)
        >>> dmu, dsigma = head.deltas(head(np.zeros((2, 4), "float32")))
        >>> tuple(dmu.shape), bool(np.all(dsigma.numpy() > 0))
        ((2, 3), True)
    """

    def __init__(self, latent_dim: int, clamp: float | None = 5.0, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = int(latent_dim)
        self.clamp = None if clamp is None else float(clamp)
        self.projection = keras.layers.Dense(2 * self.latent_dim, name="projection")

    def build(self, input_shape):
        if not self.projection.built:
            self.projection.build(input_shape)
        self.built = True

    def call(self, features, training=None):
        return self.projection(features)

    def deltas(self, params):
        """``(dmu, dsigma)`` from the head's output ``[..., 2 d]``."""
        return residual_deltas(params, self.clamp)

    def get_config(self):
        config = super().get_config()
        config.update(latent_dim=self.latent_dim, clamp=self.clamp)
        return config
