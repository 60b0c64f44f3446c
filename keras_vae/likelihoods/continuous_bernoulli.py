"""Continuous Bernoulli likelihood for data in [0, 1]."""
from __future__ import annotations

import tensorflow_probability as tfp

from keras_vae.likelihoods.likelihood import Likelihood, soft_bound
from keras_vae.registry import register

tfd = tfp.distributions

# Logits are used as they are up to this magnitude and soft-bounded beyond
# (``soft_bound``): TFP's log normalizer has a NaN gradient at huge logits.
_LOGIT_BOUND = 1e4


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

    def elementwise(self, params):
        return tfd.ContinuousBernoulli(logits=soft_bound(params[..., 0], -_LOGIT_BOUND, _LOGIT_BOUND))
