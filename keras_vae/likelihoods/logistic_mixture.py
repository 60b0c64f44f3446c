"""Discretized mixture of logistics (PixelCNN++) for 8-bit data."""
from __future__ import annotations

import math
import numbers

import tensorflow as tf
import tensorflow_probability as tfp

from keras_vae._arguments import check_number
from keras_vae.likelihoods._levels import check_num_values, levels_fix
from keras_vae.likelihoods.likelihood import Likelihood, soft_bound
from keras_vae.registry import register

tfd = tfp.distributions

# The raw location and scale outputs are used as they are up to this magnitude
# (locations within 100 half-ranges of the middle level, scales up to ~70 ranges)
# and soft-bounded beyond (``soft_bound``).
_RAW_BOUND = 100.0


class _DiscretizedLogistic(tfd.QuantizedDistribution):
    """``tfd.QuantizedDistribution`` of a ``tfd.Logistic``, with a mean.

    TFP's quantized distribution has no ``mean``. For the logistic the mean of the
    clipped variable is closed-form,
    ``E[clip(X, low, high)] = s (softplus((m - low) / s) - softplus((m - high) / s)) + low``,
    and the mean of the discretized variable is its midpoint-rule sum, so the value
    returned (the closed form) is within half a level of the exact mean. Everything
    else (log_prob, sampling) is TFP's.
    """

    def _mean(self):
        base = self.distribution
        center = base.loc + 0.5  # bins (k - 1/2, k + 1/2]: the base is shifted by -1/2
        scale = base.scale
        low, high = tf.cast(self.low, center.dtype), tf.cast(self.high, center.dtype)
        return low + scale * (
            tf.math.softplus((center - low) / scale) - tf.math.softplus((center - high) / scale)
        )


@register("likelihood", "logistic_mixture")
class LogisticMixture(Likelihood):
    """Discretized mixture of logistics for 8-bit data (Salimans et al., 2017).

    Each sub-pixel (each channel of each pixel) is an integer level
    ``x in {0, ..., 255}`` with::

        P(x) = sum_k pi_k [F_k(x + 1/2) - F_k(x - 1/2)],   F_k = logistic CDF(m_k, s_k)

    where the first and last bins take the tails (``F(0.5)`` and ``1 - F(254.5)``),
    so the 256 probabilities sum to 1 exactly. Built from TFP:
    ``tfd.MixtureSameFamily(tfd.Categorical, tfd.QuantizedDistribution(tfd.Logistic))``.
    The log-likelihood is a log probability (a code length): report it in bits per
    dimension, ``-log p(x) / (D ln 2)`` (``vae.log_likelihood(x,
    return_bits_per_dim=True)``).

    Each component's location and scale are the decoder's outputs (scaled to
    levels) wherever those are below 100 in magnitude, i.e. locations up to 100
    half-ranges from the middle level, and soft-bounded beyond (see
    ``soft_bound``), so ``log_prob`` and its gradient stay finite for any decoder
    output, at 0 and 255 too (a location far outside the levels used to give NaN).

    Colour images get one mixture per channel (the channels of a pixel are
    independent given z); PixelCNN++ additionally couples the channels of a pixel
    linearly, which this head does not.

    The data stay integers 0..255 (any dtype, e.g. ``uint8``); values that are not
    integers in range are refused, never rescaled silently. The encoder sees the
    same levels, so give it a ``keras.layers.Rescaling(1 / 255)`` in front (as in the
    example): raw levels make the first posterior huge and training slow.

    Args:
        num_components: K, logistic components per sub-pixel (3K parameters each).
        num_values: number of levels (256 for 8-bit data).
        min_scale: lower bound on each component's scale, in levels.
        data_shape: the shape of one example (filled in by the VAE).

    Example:
        8-bit images as stored (uint8 levels 0..255); the encoder rescales them, the
        likelihood scores the levels. Bits per dimension of an untrained model are
        about 8 (a uniform guess over 256 levels).

        >>> import numpy as np, keras, keras_vae as kv
        >>> encoder = keras.Sequential([keras.layers.Rescaling(1 / 255), kv.encoders.MLPEncoder([8])])
        >>> vae = kv.VAE(encoder, kv.decoders.MLPDecoder([8]), latent_dim=2, input_shape=(4, 4, 1),
        ...              likelihood={"name": "logistic_mixture", "num_components": 3}, seed=0)
        >>> x = np.random.default_rng(0).integers(0, 256, size=(4, 4, 4, 1), dtype="uint8")
        >>> elbo = vae.elbo(x, seed=0).numpy()  # nats per image, a lower bound on log p(x)
        >>> bits_per_dim = -elbo / (16 * np.log(2))  # 16 sub-pixels
        >>> bits_per_dim.shape, bool(((5 < bits_per_dim) & (bits_per_dim < 12)).all())
        ((4,), True)

        ``vae.log_likelihood(x, num_samples=1000, return_bits_per_dim=True)`` gives
        the tighter importance-sampled estimate (it traces a graph: seconds of CPU).
    """

    integer_valued = True
    discrete = True

    def __init__(
        self,
        num_components: int = 5,
        num_values: int = 256,
        min_scale: float = 0.05,
        data_shape=None,
        **kwargs,
    ):
        super().__init__(data_shape=data_shape, **kwargs)
        if (
            isinstance(num_components, bool)
            or not isinstance(num_components, numbers.Integral)
            or num_components < 1
        ):
            raise ValueError(
                f"LogisticMixture num_components must be an integer >= 1, got {num_components!r}."
            )
        self.num_components = int(num_components)
        self.num_values = check_num_values("LogisticMixture", num_values)
        self.min_scale = check_number(
            min_scale, "LogisticMixture min_scale", minimum=0.0, exclusive_minimum=True
        )
        self.num_params = 3 * self.num_components
        self.support = (0, self.num_values - 1)
        self.support_fix = levels_fix(self.num_values)

    def elementwise(self, params):
        k = self.num_components
        half = 0.5 * (self.num_values - 1)
        # Raw outputs near 0 give a broad component centred on the middle level.
        logits, raw_loc, raw_scale = params[..., :k], params[..., k : 2 * k], params[..., 2 * k :]
        # Soft bounds far outside the levels (see the class docstring): finite
        # probabilities and gradients for any output, the same values inside.
        loc = half * (1.0 + soft_bound(raw_loc, -_RAW_BOUND, _RAW_BOUND))
        scale = half * tf.math.softplus(soft_bound(raw_scale, -math.inf, _RAW_BOUND)) + self.min_scale
        components = _DiscretizedLogistic(
            # The quantizer maps X to ceil(X): shift by -1/2 for bins centred on levels.
            tfd.Logistic(loc=loc - 0.5, scale=scale),
            low=0.0,
            high=float(self.num_values - 1),
        )
        return tfd.MixtureSameFamily(tfd.Categorical(logits=logits), components)

    def get_config(self):
        config = super().get_config()
        config.update(
            num_components=self.num_components, num_values=self.num_values, min_scale=self.min_scale
        )
        return config
