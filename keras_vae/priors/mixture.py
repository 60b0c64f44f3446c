"""A learned mixture-of-Gaussians prior."""
from __future__ import annotations

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from keras_vae._arguments import check_number
from keras_vae.priors.prior import Prior
from keras_vae.registry import register

tfd = tfp.distributions


@register("prior", "mixture")
class MixturePrior(Prior):
    """p(z) = sum_k pi_k N(m_k, diag(s_k^2)), with weights, means and scales learned.

    The mixture-of-Gaussians prior of Tomczak & Welling (2018, Table 1 "MoG").
    Means start as draws from N(0, I) so the components differ, scales at 1, the
    weights uniform. The KL to it has no closed form: the VAE estimates it by Monte
    Carlo (``kl="auto"``).

    Args:
        latent_dim: size of z (filled in by the VAE when ``None``).
        num_components: number of mixture components K.
        min_scale: lower bound added to every scale.

    Example:
        >>> import keras_vae as kv
        >>> p = kv.priors.MixturePrior(latent_dim=2, num_components=5).distribution()
        >>> p.event_shape, p.batch_shape
        (TensorShape([2]), TensorShape([]))
    """

    def __init__(
        self, latent_dim: int | None = None, num_components: int = 10, min_scale: float = 1e-3, **kwargs
    ):
        super().__init__(latent_dim=latent_dim, **kwargs)
        self.num_components = int(check_number(num_components, "num_components", minimum=1, integer=True))
        self.min_scale = check_number(min_scale, "min_scale", minimum=0.0, exclusive_minimum=True)

    def build(self, input_shape=None):
        latent = self.require_latent_dim()
        shape = (self.num_components, latent)
        raw_one = float(np.log(np.expm1(1.0 - self.min_scale)))
        self.logits = self.add_weight(shape=(self.num_components,), initializer="zeros", name="logits")
        self.means = self.add_weight(shape=shape, initializer="random_normal", name="means")
        self.raw_scales = self.add_weight(
            shape=shape, initializer=lambda shape, dtype=None: tf.fill(shape, raw_one), name="raw_scales"
        )

    def distribution(self, posterior_fn=None):
        if not self.built:
            self.build()
        scales = tf.math.softplus(tf.cast(self.raw_scales, tf.float32)) + self.min_scale
        components = tfd.Independent(
            tfd.Normal(loc=tf.cast(self.means, tf.float32), scale=scales), reinterpreted_batch_ndims=1
        )
        return tfd.MixtureSameFamily(tfd.Categorical(logits=tf.cast(self.logits, tf.float32)), components)

    def get_config(self):
        config = super().get_config()
        config.update(num_components=self.num_components, min_scale=self.min_scale)
        return config
