"""Negative binomial likelihood for over-dispersed counts."""
from __future__ import annotations

import tensorflow as tf
import tensorflow_probability as tfp

from keras_vae.likelihoods._counts import CountLikelihood
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

    Size factors: with ``library_size=L`` each example's mean is scaled by
    ``s = sum(x) / L``, the library size taken as observed (scVI with observed
    library sizes); ``log_prob`` is then ``log p(x | z, sum(x))``, and ``mean``,
    ``sample``, decode and export describe an example of library size ``L`` (see
    :class:`~keras_vae.likelihoods.Poisson`).

    Args:
        dispersion: ``"per_feature"``, ``"shared"`` or ``"predicted"``.
        library_size: None (no size factors) or the reference library size.
        data_shape: the shape of one example (filled in by the VAE).

    Example:
        >>> import numpy as np, keras_vae as kv
        >>> counts = np.random.default_rng(0).negative_binomial(2, 0.3, size=(64, 20))
        >>> vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(20,),
        ...              likelihood={"name": "negative_binomial", "dispersion": "shared"})
        >>> vae.compile(optimizer="adam")
        >>> history = vae.fit(counts, epochs=1, verbose=0)
    """

    num_params = 1
    uses_dispersion = True

    def __init__(self, dispersion: str = "per_feature", library_size: float | None = None,
                 data_shape=None, **kwargs):
        super().__init__(library_size=library_size, dispersion=dispersion, data_shape=data_shape, **kwargs)

    def counts(self, params, log_mean):
        return negative_binomial(log_mean, self._log_theta(params))
