"""Poisson likelihood for counts."""
from __future__ import annotations

import tensorflow_probability as tfp

from keras_vae.likelihoods._counts import MEAN_RANGE, CountLikelihood
from keras_vae.registry import register

tfd = tfp.distributions


@register("likelihood", "poisson")
class Poisson(CountLikelihood):
    """p(x|z) = prod_i Poisson(x_i; mu_i(z)), for non-negative integer counts.

    The decoder predicts ``log mu`` per element (``tfd.Poisson(log_rate=...)``,
    evaluated in log space), exactly for means in ``mean_range`` and soft-bounded
    beyond, so ``log_prob`` and its gradient are finite for any decoder output (see
    ``CountLikelihood``). The variance equals the mean; for over-dispersed counts
    (single-cell RNA, word counts) use ``"negative_binomial"``.

    The encoder is given ``log(1 + x)`` (``encoder_input``; ``log1p_inputs=False``
    gives it the raw counts); the likelihood scores the raw counts.

    Size factors: with ``library_size=L`` each example's mean is scaled by its size
    factor ``s = sum(x) / L`` (sum over all of the example's counts), so the
    decoder models composition and the library size is taken as observed, as in
    scVI with observed library sizes. ``log_prob`` is then ``log p(x | z, sum(x))``,
    not a density of x alone: compare log-likelihoods only between models with the
    same setting. ``mean``, ``sample``, decode and export describe an example whose
    library size is ``L``; pass e.g. ``library_size=float(x_train.sum(axis=1).mean())``.

    Args:
        library_size: None (default: no size factors) or the reference library size.
        log1p_inputs: give the encoder ``log(1 + x)`` (default) rather than raw counts.
        mean_range: ``(low, high)``, the means on which the decoder's output is
            exactly ``log mu`` (default ``(1e-8, 1e6)``); beyond, ``log mu`` grows
            logarithmically in the output.
        data_shape: the shape of one example (filled in by the VAE).

    Example:
        A VAE on raw counts, as stored (no scaling): its ELBO is finite from the first
        step, and its samples are the means of p(x|z), in counts.

        >>> import numpy as np, keras_vae as kv
        >>> counts = np.random.default_rng(0).poisson(3.0, size=(8, 6))
        >>> vae = kv.VAE(kv.encoders.MLPEncoder([8]), kv.decoders.MLPDecoder([8]), latent_dim=2,
        ...              input_shape=(6,), likelihood="poisson", seed=0)
        >>> elbo = vae.elbo(counts, seed=0).numpy()  # nats per example
        >>> elbo.shape, bool(np.isfinite(elbo).all())
        ((8,), True)
        >>> bool((vae.sample(4, seed=0).numpy() > 0).all())  # rates
        True

        Training is the usual ``vae.compile(optimizer="adam")`` then
        ``vae.fit(counts, epochs=...)`` (not run here: ``fit`` traces the training
        step, seconds of CPU).
    """

    num_params = 1

    def __init__(self, library_size: float | None = None, log1p_inputs: bool = True,
                 mean_range=MEAN_RANGE, data_shape=None, **kwargs):
        super().__init__(library_size=library_size, log1p_inputs=log1p_inputs,
                         mean_range=mean_range, data_shape=data_shape, **kwargs)

    def counts(self, params, log_mean):
        return tfd.Poisson(log_rate=log_mean)
