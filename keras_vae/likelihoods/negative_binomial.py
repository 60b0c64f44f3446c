"""Negative binomial likelihood for over-dispersed counts."""
from __future__ import annotations

import tensorflow as tf
import tensorflow_probability as tfp

from keras_vae.likelihoods._counts import MEAN_RANGE, CountLikelihood
from keras_vae.registry import register

tfd = tfp.distributions


def negative_binomial(log_mean, log_theta):
    """``tfd.NegativeBinomial`` with mean ``mu`` and inverse dispersion ``theta``
    (variance ``mu + mu^2 / theta``): total count theta, logits ``log mu - log theta``."""
    return tfd.NegativeBinomial(
        total_count=tf.exp(log_theta),
        logits=log_mean - log_theta,
        require_integer_total_count=False,
    )


@register("likelihood", "negative_binomial")
class NegativeBinomial(CountLikelihood):
    """p(x|z) = prod_i NB(x_i; mu_i(z), theta_i), for over-dispersed counts.

    The mean ``mu`` is predicted per element; the inverse dispersion ``theta``
    (``Var x = mu + mu^2 / theta``; large theta is Poisson) is, by ``dispersion``:

    * ``"per_feature"`` (default, scVI's ``"gene"``): one learned theta per data
      element;
    * ``"shared"``: one learned theta;
    * ``"predicted"``: predicted per example and element (scVI's ``"gene-cell"``).

    Built on ``tfd.NegativeBinomial(total_count=theta, logits=log mu - log theta)``.
    ``log mu`` is the decoder's output for means in ``mean_range`` and ``log theta``
    the learned or predicted value for theta in [1e-6, 1e6]; both are soft-bounded
    beyond, so ``log_prob`` and its gradient are finite for any decoder output
    (see ``CountLikelihood``). The encoder is given ``log(1 + x)``
    (``log1p_inputs``).

    Size factors: with ``library_size=L`` each example's mean is scaled by
    ``s = sum(x) / L``, the library size taken as observed (scVI with observed
    library sizes); ``log_prob`` is then ``log p(x | z, sum(x))``, and ``mean``,
    ``sample``, decode and export describe an example of library size ``L`` (see
    :class:`~keras_vae.likelihoods.Poisson`).

    Args:
        dispersion: ``"per_feature"``, ``"shared"`` or ``"predicted"``.
        library_size: None (no size factors) or the reference library size.
        log1p_inputs: give the encoder ``log(1 + x)`` (default) rather than raw counts.
        mean_range: ``(low, high)``, the means the decoder's output gives exactly
            (default ``(1e-8, 1e6)``; see :class:`~keras_vae.likelihoods.Poisson`).
        data_shape: the shape of one example (filled in by the VAE).

    Example:
        Over-dispersed counts (variance 3x the mean here), with one inverse
        dispersion theta shared by all features; the head owns the weight
        ``log_theta`` (theta = 1 at the start).

        >>> import numpy as np, keras_vae as kv
        >>> counts = np.random.default_rng(0).negative_binomial(2, 0.3, size=(8, 6))
        >>> vae = kv.VAE(kv.encoders.MLPEncoder([8]), kv.decoders.MLPDecoder([8]), latent_dim=2,
        ...              input_shape=(6,), seed=0,
        ...              likelihood={"name": "negative_binomial", "dispersion": "shared"})
        >>> elbo = vae.elbo(counts, seed=0).numpy()
        >>> elbo.shape, bool(np.isfinite(elbo).all())
        ((8,), True)
        >>> [w.path for w in vae.likelihood_layer.weights if "theta" in w.path]
        [...log_theta']

        Train with ``vae.compile(optimizer="adam")`` then ``vae.fit(counts, epochs=...)``
        (not run here: ``fit`` traces the training step, seconds of CPU).
    """

    num_params = 1
    uses_dispersion = True

    def __init__(self, dispersion: str = "per_feature", library_size: float | None = None,
                 log1p_inputs: bool = True, mean_range=MEAN_RANGE, data_shape=None, **kwargs):
        super().__init__(library_size=library_size, dispersion=dispersion,
                         log1p_inputs=log1p_inputs, mean_range=mean_range,
                         data_shape=data_shape, **kwargs)

    def counts(self, params, log_mean):
        return negative_binomial(log_mean, self._log_theta(params))
