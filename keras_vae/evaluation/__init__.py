"""Evaluating a trained VAE: importance-sampled log-likelihood, KL diagnostics and
latent-space interpolation.

One concern per module: ``log_likelihood`` (importance-sampled log p(x), bits per
dimension), ``diagnostics`` (per-dimension KL, active units, posterior collapse),
``latent_paths`` (slerp, interpolation, traversal); beside variational inference,
MCMC: ``ais`` (annealed importance sampling of log p(x)), ``bdmc`` (its upper and
lower bounds on simulated data), ``hmc`` (true-posterior samples), ``gaps``
(approximation and amortization gaps), ``cost_curve`` (estimates vs cost);
``disentanglement`` (MIG, DCI, SAP, FactorVAE / β-VAE scores, modularity, as
disentanglement_lib computes them; :func:`disentanglement_metrics` runs them all).
``anomaly`` (fixed-noise scores, thresholds, ROC AUC and a Gaussian baseline).

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
from keras_vae.evaluation.anomaly import (
    GaussianBaseline,
    anomaly_report,
    anomaly_scores,
    anomaly_threshold,
    roc_auc,
)
from keras_vae.evaluation.diagnostics import (
    NoMarginalsError,
    PosteriorCollapseWarning,
    _marginals,
    active_units,
    check_posterior_collapse,
    kl_per_dimension,
)
from keras_vae.evaluation.latent_paths import interpolate, slerp, traverse
from keras_vae.evaluation.log_likelihood import bits_per_dim, log_likelihood
from keras_vae.evaluation.ais import ais_log_likelihood, annealed_importance_log_weights
from keras_vae.evaluation.bdmc import BDMCResult, bdmc, simulate
from keras_vae.evaluation.cost_curve import estimates_vs_cost, plot_estimates_vs_cost
from keras_vae.evaluation import disentanglement
from keras_vae.evaluation.disentanglement.metrics import disentanglement_metrics
from keras_vae.evaluation.gaps import InferenceGaps, inference_gaps, optimized_elbo
from keras_vae.evaluation.hmc import PosteriorSamples, hmc_posterior_samples, posterior_samples

__all__ = [
    "BDMCResult",
    "GaussianBaseline",
    "anomaly_report",
    "anomaly_scores",
    "anomaly_threshold",
    "roc_auc",
    "InferenceGaps",
    "NoMarginalsError",
    "PosteriorCollapseWarning",
    "PosteriorSamples",
    "active_units",
    "ais_log_likelihood",
    "annealed_importance_log_weights",
    "bdmc",
    "check_posterior_collapse",
    "disentanglement",
    "disentanglement_metrics",
    "estimates_vs_cost",
    "hmc_posterior_samples",
    "inference_gaps",
    "interpolate",
    "kl_per_dimension",
    "log_likelihood",
    "optimized_elbo",
    "plot_estimates_vs_cost",
    "posterior_samples",
    "simulate",
    "slerp",
    "traverse",
]

