"""Evaluating a trained VAE: importance-sampled log-likelihood, KL diagnostics and
latent-space interpolation.

One concern per module: ``log_likelihood`` (importance-sampled log p(x), bits per
dimension), ``diagnostics`` (per-dimension KL, active units, posterior collapse),
``latent_paths`` (slerp, interpolation, traversal).

Every function takes a :class:`keras_vae.VAE` as first argument (the VAE has thin
methods of the same names) and returns numpy values.

Example:
    >>> import numpy as np, keras_vae as kv
    >>> from keras_vae import evaluation
    >>> vae = kv.VAE(encoder=kv.encoders.MLPEncoder([16]), decoder=kv.decoders.MLPDecoder([16]),
    ...              latent_dim=2, input_shape=(8,), seed=0)
    >>> x = np.random.default_rng(0).integers(0, 2, (5, 8)).astype("float32")
    >>> evaluation.log_likelihood(vae, x, num_samples=100, seed=0).shape
    (5,)
"""
from keras_vae.evaluation.diagnostics import (
    PosteriorCollapseWarning,
    _factorized,
    active_units,
    check_posterior_collapse,
    kl_per_dimension,
)
from keras_vae.evaluation.latent_paths import interpolate, slerp, traverse
from keras_vae.evaluation.log_likelihood import bits_per_dim, log_likelihood

__all__ = [
    "PosteriorCollapseWarning",
    "active_units",
    "check_posterior_collapse",
    "interpolate",
    "kl_per_dimension",
    "log_likelihood",
    "slerp",
    "traverse",
]

