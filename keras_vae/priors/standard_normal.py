"""The standard normal prior N(0, I)."""
from __future__ import annotations

import tensorflow as tf
import tensorflow_probability as tfp

from keras_vae.priors.prior import Prior
from keras_vae.registry import register

tfd = tfp.distributions


@register("prior", "standard_normal")
class StandardNormal(Prior):
    """p(z) = N(0, I), with the same ``Independent(Normal)`` structure as the
    diagonal Gaussian posterior so ``tfd.kl_divergence`` finds the analytic KL.

    Example:
        >>> import keras_vae as kv
        >>> p = kv.priors.StandardNormal(latent_dim=3).distribution()
        >>> p.event_shape
        TensorShape([3])
    """

    def distribution(self, posterior_fn=None):
        if self.latent_dim is None:
            self.build()
        zeros = tf.zeros([self.latent_dim], tf.float32)
        return tfd.Independent(
            tfd.Normal(loc=zeros, scale=tf.ones_like(zeros)), reinterpreted_batch_ndims=1
        )
