"""Poisson likelihood for counts."""
from __future__ import annotations

import tensorflow_probability as tfp

from keras_vae.likelihoods._counts import CountLikelihood
from keras_vae.registry import register

tfd = tfp.distributions


@register("likelihood", "poisson")
class Poisson(CountLikelihood):
    """p(x|z) = prod_i Poisson(x_i; mu_i(z)), for non-negative integer counts.

    The decoder predicts ``log mu`` per element (``tfd.Poisson(log_rate=...)``, stable
    for any mean). The variance equals the mean; for over-dispersed counts
    (single-cell RNA, word counts) use ``"negative_binomial"``.

    Size factors: with ``library_size=L`` each example's mean is scaled by its size
    factor ``s = sum(x) / L`` (sum over all of the example's counts), so the
    decoder models composition and the library size is taken as observed, as in
    scVI with observed library sizes. ``log_prob`` is then ``log p(x | z, sum(x))``,
    not a density of x alone: compare log-likelihoods only between models with the
    same setting. ``mean``, ``sample``, decode and export describe an example whose
    library size is ``L``; pass e.g. ``library_size=float(x_train.sum(axis=1).mean())``.

    Args:
        library_size: None (default: no size factors) or the reference library size.
        data_shape: the shape of one example (filled in by the VAE).

    Example:
        >>> import numpy as np, keras_vae as kv
        >>> counts = np.random.default_rng(0).poisson(3.0, size=(64, 20))
        >>> vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(20,), likelihood="poisson")
        >>> vae.compile(optimizer="adam")
        >>> history = vae.fit(counts, epochs=1, verbose=0)
    """

    num_params = 1

    def __init__(self, library_size: float | None = None, data_shape=None, **kwargs):
        super().__init__(library_size=library_size, data_shape=data_shape, **kwargs)

    def counts(self, params, log_mean):
        return tfd.Poisson(log_rate=log_mean)
