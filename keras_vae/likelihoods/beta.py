"""Beta likelihood for data strictly inside (0, 1)."""
from __future__ import annotations

import math

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from keras_vae._arguments import check_number
from keras_vae.likelihoods.likelihood import Likelihood, soft_bound
from keras_vae.registry import register

tfd = tfp.distributions


# The raw outputs used as they are (concentrations up to 1e4); beyond, soft_bound.
_RAW_BOUND = 1e4
# The float32 values nearest 0 and 1 inside (0, 1).
_INSIDE = (float(np.finfo(np.float32).tiny), float(np.nextafter(np.float32(1.0), np.float32(0.0))))


class _InsideBeta(tfd.Beta):
    """``tfd.Beta`` whose ``log_prob`` reads 0 and 1 as the nearest float32 values
    inside (0, 1), where the density is finite. A float32 Beta sample can round to
    exactly 0 or 1 for small concentrations, and with ``validate_inputs=False`` the
    data can hold them: TFP gives +-inf there, and an infinite gradient. Values in
    between are scored as they are. Everything else is TFP's."""

    def _log_prob(self, x):
        x = tf.clip_by_value(tf.convert_to_tensor(x, self.dtype), *_INSIDE)
        return super()._log_prob(x)


@register("likelihood", "beta")
class Beta(Likelihood):
    """p(x|z) = prod_i Beta(x_i; a_i(z), b_i(z)), for proportions strictly in (0, 1).

    Both concentrations are predicted per element (``softplus(.) + min_concentration``;
    outputs above 1e4 are soft-bounded, see ``soft_bound``, so that ``log_prob``
    and its gradient are finite for any decoder output).
    The Beta density is 0 or infinite at exactly 0 and 1, so such values are
    refused: squeeze the data first (e.g. ``(x * (n - 1) + 0.5) / n`` for n
    observations, Smithson & Verkuilen 2006), or use ``"continuous_bernoulli"``,
    whose support includes 0 and 1. (``log_prob`` itself scores an exact 0 or 1,
    e.g. a float32 sample that rounded there, as the nearest float32 value inside,
    so it and its gradient stay finite.)

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
        # Raw outputs above _RAW_BOUND are soft-bounded: finite for any output.
        raw = soft_bound(params, -math.inf, _RAW_BOUND)
        concentration = tf.math.softplus(raw) + self.min_concentration
        return _InsideBeta(concentration1=concentration[..., 0], concentration0=concentration[..., 1])

    def get_config(self):
        config = super().get_config()
        config.update(min_concentration=self.min_concentration)
        return config
