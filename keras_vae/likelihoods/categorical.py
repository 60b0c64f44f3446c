"""256-way categorical likelihood for 8-bit data."""
from __future__ import annotations

import tensorflow as tf
import tensorflow_probability as tfp

from keras_vae.likelihoods._levels import check_num_values, levels_fix
from keras_vae.likelihoods.likelihood import Likelihood
from keras_vae.registry import register

tfd = tfp.distributions


class _LevelCategorical(tfd.Categorical):
    """``tfd.Categorical`` over levels 0..n-1 with the mean ``sum_k k p_k``
    (TFP defines no mean for a categorical: its classes need not be numbers)."""

    def _mean(self):
        probs = tf.math.softmax(self.logits)
        levels = tf.range(tf.shape(probs)[-1], dtype=probs.dtype)
        return tf.reduce_sum(probs * levels, axis=-1)


@register("likelihood", "categorical")
class Categorical(Likelihood):
    """p(x|z) = prod_i Categorical(x_i; softmax(l_i(z))) over the levels 0..255.

    A 256-way softmax per sub-pixel (van den Oord et al., 2016, PixelRNN): no
    assumption that nearby levels have similar probability, so it is the most
    flexible discrete likelihood and the costliest (256 parameters per sub-pixel;
    with an MLP decoder the head's kernel is ``hidden * D * 256``, use a conv
    decoder for large images). Normalized by construction; report it in bits/dim.

    The data stay integers 0..255; non-integers or values out of range are refused.
    Give the encoder a ``keras.layers.Rescaling(1 / 255)`` in front (see
    :class:`~keras_vae.likelihoods.LogisticMixture`).

    Args:
        num_values: number of levels (256 for 8-bit data).
        data_shape: the shape of one example (filled in by the VAE).

    Example:
        >>> import numpy as np, keras_vae as kv
        >>> lik = kv.likelihoods.Categorical(num_values=4, data_shape=(3,))
        >>> p = lik.distribution(lik(np.zeros((2, 8), "float32")))
        >>> p.event_shape, float(p.mean()[0, 0])
        (TensorShape([3]), 1.5)
    """

    integer_valued = True
    discrete = True

    def __init__(self, num_values: int = 256, data_shape=None, **kwargs):
        super().__init__(data_shape=data_shape, **kwargs)
        self.num_values = check_num_values("Categorical", num_values)
        self.num_params = self.num_values
        self.support = (0, self.num_values - 1)
        self.support_fix = levels_fix(self.num_values)

    def elementwise(self, params):
        # float32 samples, like every other likelihood (decode / sample return floats).
        return _LevelCategorical(logits=params, dtype=tf.float32)

    def get_config(self):
        config = super().get_config()
        config.update(num_values=self.num_values)
        return config
