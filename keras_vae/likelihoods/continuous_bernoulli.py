"""Continuous Bernoulli likelihood for data in [0, 1]."""
from __future__ import annotations

import numpy as np
import tensorflow_probability as tfp

from keras_vae.likelihoods.likelihood import Likelihood, soft_bound
from keras_vae.registry import register

tfd = tfp.distributions

# Logits are used as they are up to this magnitude and soft-bounded beyond
# (``soft_bound``): TFP's log normalizer has a NaN gradient at huge logits.
_LOGIT_BOUND = 1e4


def _continuous_bernoulli_mean(eta: np.ndarray) -> np.ndarray:
    """The mean of CB(logit eta), ``1 / (1 - exp(-eta)) - 1 / eta``, in float64;
    its Taylor series ``1/2 + eta / 12`` near 0, where both terms blow up."""
    small = np.abs(eta) < 1e-4
    safe = np.where(small, 1.0, eta)
    with np.errstate(over="ignore"):
        mean = 1.0 / -np.expm1(-safe) - 1.0 / safe
    return np.where(small, 0.5 + eta / 12.0, mean)


@register("likelihood", "continuous_bernoulli")
class ContinuousBernoulli(Likelihood):
    """p(x|z) = prod_i CB(x_i; lambda_i(z)), a normalized density on [0, 1].

    The continuous Bernoulli (Loaiza-Ganem & Cunningham, 2019) is the Bernoulli
    formula ``lambda^x (1 - lambda)^(1 - x)`` made a proper density on [0, 1] by its
    normalizing constant::

        C(lambda) = 2 artanh(1 - 2 lambda) / (1 - 2 lambda)     (C(1/2) = 2)

    Using the plain Bernoulli on grey values (the usual practice for MNIST in
    [0, 1]) drops ``log C``, so its "log-likelihood" is not one. TFP's
    ``tfd.ContinuousBernoulli`` evaluates ``log C`` with a Taylor expansion near
    ``lambda = 1/2``, where the closed form is 0/0. Parameterized by logits.

    Logits are the decoder's outputs up to 1e4 in magnitude (everything a model
    computes in practice, so values are unchanged) and soft-bounded beyond (see
    ``soft_bound``): ``log_prob`` and its gradient are finite for any decoder
    output, at x = 0 and x = 1 too.

    Note the mean of CB(lambda) is not lambda: for images, decode/reconstruct
    return the mean (``tfd.ContinuousBernoulli.mean``), which is less extreme.

    Example:
        >>> import numpy as np, keras_vae as kv
        >>> vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(28, 28, 1),
        ...              likelihood="continuous_bernoulli")
        >>> x = np.random.default_rng(0).uniform(size=(8, 28, 28, 1)).astype("float32")
        >>> vae.elbo(x).shape
        TensorShape([8])
    """

    num_params = 1
    support = (0.0, 1.0)
    support_fix = (
        "Rescale the data to [0, 1] (e.g. x / 255.0 for 8-bit images), or keep 8-bit "
        "integers and use 'logistic_mixture' or 'categorical'."
    )

    # How far from 0 and 1 a mean is taken before it is inverted (as for the
    # Bernoulli): a pixel that is 0 in every image starts at a mean of 0.001.
    mean_clip = 1e-3

    def parameters_for_mean(self, mean: np.ndarray) -> np.ndarray:
        """The logits whose continuous Bernoulli has the mean ``m`` (clipped to
        ``[mean_clip, 1 - mean_clip]``), ``[*mean.shape, 1]``.

        The continuous Bernoulli is far sharper than a Bernoulli of the same mean: a
        mean of 0.001 is logit -1000 (a Bernoulli's is -6.9), so a pixel that is 0 in
        every training image starts where a grey value there costs hundreds of nats.
        Set ``mean_clip`` higher on the head (e.g. ``0.05``: logit -20) for a milder
        start.

        The mean of CB(logit eta) is ``1 / (1 - exp(-eta)) - 1 / eta`` (1/2 at 0),
        increasing in eta; it is inverted by bisection (it is not the Bernoulli's
        logit: a mean of 0.8 needs eta = 4.8, not log 4 = 1.39).

        Example:
            >>> import numpy as np, keras_vae as kv
            >>> head = kv.likelihoods.ContinuousBernoulli(data_shape=(3,))
            >>> np.round(head.parameters_for_mean(np.array([0.5, 0.8, 0.0]))[:, 0], 2) + 0.0
            array([    0. ,     4.8, -1000. ], dtype=float32)
        """
        m = np.clip(np.asarray(mean, np.float64), self.mean_clip, 1.0 - self.mean_clip)
        bound = 2.0 / self.mean_clip  # the mean at -bound is about 1 / bound, below the clip
        low, high = np.full(m.shape, -bound), np.full(m.shape, bound)
        for _ in range(80):  # the bracket halves each time: far below float32 resolution
            mid = 0.5 * (low + high)
            below = _continuous_bernoulli_mean(mid) < m
            low, high = np.where(below, mid, low), np.where(below, high, mid)
        return (0.5 * (low + high)).astype(np.float32)[..., None]

    def elementwise(self, params):
        return tfd.ContinuousBernoulli(logits=soft_bound(params[..., 0], -_LOGIT_BOUND, _LOGIT_BOUND))
