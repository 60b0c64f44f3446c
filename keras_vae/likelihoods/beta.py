"""Beta likelihood for data strictly inside (0, 1)."""
from __future__ import annotations

import tensorflow as tf
import tensorflow_probability as tfp

from keras_vae._arguments import check_number
from keras_vae.likelihoods.likelihood import Likelihood
from keras_vae.registry import register

tfd = tfp.distributions


@register("likelihood", "beta")
class Beta(Likelihood):
    """p(x|z) = prod_i Beta(x_i; a_i(z), b_i(z)), for proportions strictly in (0, 1).

    Both concentrations are predicted per element (``softplus(.) + min_concentration``).
    The Beta density is 0 or infinite at exactly 0 and 1, so such values are
    refused: squeeze the data first (e.g. ``(x * (n - 1) + 0.5) / n`` for n
    observations, Smithson & Verkuilen 2006), or use ``"continuous_bernoulli"``,
    whose support includes 0 and 1.

    Args:
        min_concentration: lower bound on both concentrations (keeps the density
            bounded while training).
        data_shape: the shape of one example (filled in by the VAE).

    Example:
        >>> import numpy as np, keras_vae as kv
        >>> lik = kv.likelihoods.Beta(data_shape=(3,))
        >>> p = lik.distribution(lik(np.zeros((2, 8), "float32")))
        >>> float(p.mean()[0, 0])
        0.5
    """

    num_params = 2
    support = (0.0, 1.0)
    open_support = True
    support_fix = (
        "Squeeze the data into (0, 1), e.g. (x * (n - 1) + 0.5) / n or "
        "np.clip(x, 1e-4, 1 - 1e-4), or use 'continuous_bernoulli' for data that "
        "include exact 0s and 1s."
    )

    def __init__(self, min_concentration: float = 1e-2, data_shape=None, **kwargs):
        super().__init__(data_shape=data_shape, **kwargs)
        self.min_concentration = check_number(
            min_concentration, "Beta min_concentration", minimum=0.0, exclusive_minimum=True
        )

    def elementwise(self, params):
        concentration = tf.math.softplus(params) + self.min_concentration
        return tfd.Beta(concentration1=concentration[..., 0], concentration0=concentration[..., 1])

    def get_config(self):
        config = super().get_config()
        config.update(min_concentration=self.min_concentration)
        return config
