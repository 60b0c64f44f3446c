"""Zero-inflated negative binomial likelihood (scVI's observation model)."""
from __future__ import annotations

import tensorflow as tf
import tensorflow_probability as tfp

from keras_vae.likelihoods._counts import MEAN_RANGE, ZERO_LOGIT_RANGE, CountLikelihood
from keras_vae.likelihoods.likelihood import soft_bound
from keras_vae.likelihoods.negative_binomial import negative_binomial
from keras_vae.registry import register

tfd = tfp.distributions


@register("likelihood", "zero_inflated_negative_binomial")
class ZeroInflatedNegativeBinomial(CountLikelihood):
    """p(x|z) = prod_i [pi_i 1{x_i = 0} + (1 - pi_i) NB(x_i; mu_i, theta_i)].

    scVI's observation model (Lopez et al., 2018): a negative binomial (see
    :class:`~keras_vae.likelihoods.NegativeBinomial` for ``mu``, ``theta`` and
    ``dispersion``) with extra zeros, whose probability ``pi_i(z)`` is predicted
    per example and element. Built on ``tfd.Mixture`` of ``tfd.Deterministic(0)`` and
    ``tfd.NegativeBinomial`` (what ``tfd.Inflated`` is; see ``counts`` for why it
    is not used directly); the mean is ``(1 - pi) mu``. The zero-inflation logit is
    soft-bounded to +-30 and ``log mu``, ``log theta`` as in the negative binomial,
    so ``log_prob`` and its gradient are finite for any decoder output. The encoder
    is given ``log(1 + x)`` (``log1p_inputs``).

    Size factors: with ``library_size=L`` the NB mean of each example is scaled by
    ``s = sum(x) / L``, the library size taken as observed (scVI with observed
    library sizes); ``log_prob`` is then ``log p(x | z, sum(x))`` (see
    :class:`~keras_vae.likelihoods.Poisson`).

    Args:
        dispersion: ``"per_feature"`` (default), ``"shared"`` or ``"predicted"``.
        library_size: None (no size factors) or the reference library size.
        log1p_inputs: give the encoder ``log(1 + x)`` (default) rather than raw counts.
        mean_range: ``(low, high)``, the NB means the decoder's output gives exactly
            (default ``(1e-8, 1e6)``; see :class:`~keras_vae.likelihoods.Poisson`).
        data_shape: the shape of one example (filled in by the VAE).

    Example:
        >>> import numpy as np, keras_vae as kv
        >>> lik = kv.likelihoods.ZeroInflatedNegativeBinomial(data_shape=(5,))
        >>> lik.num_params                      # log-mean, zero-inflation logit
        2
    """

    num_params = 2
    uses_dispersion = True

    def __init__(self, dispersion: str = "per_feature", library_size: float | None = None,
                 log1p_inputs: bool = True, mean_range=MEAN_RANGE, data_shape=None, **kwargs):
        super().__init__(library_size=library_size, dispersion=dispersion,
                         log1p_inputs=log1p_inputs, mean_range=mean_range,
                         data_shape=data_shape, **kwargs)

    # A zero logit is pi = 0.5: the negative binomial's mean is twice the data's.
    zero_bias_nonzero_fraction = 0.5

    def counts(self, params, log_mean):
        nb = negative_binomial(log_mean, self._log_theta(params))
        zero_logit = soft_bound(params[..., 1], *ZERO_LOGIT_RANGE)
        # tfd.Inflated(inflated_loc_logits=l) mixes with softmax([l, -l]), i.e. pi =
        # sigmoid(2 l), not the sigmoid(l) its docstring promises (TFP 0.25). The
        # same mixture spelled out, with pi = sigmoid(l), does not depend on that.
        return tfd.Mixture(
            cat=tfd.Categorical(logits=tf.stack([zero_logit, tf.zeros_like(zero_logit)], axis=-1)),
            components=[tfd.Deterministic(tf.zeros_like(zero_logit)), nb],
        )
