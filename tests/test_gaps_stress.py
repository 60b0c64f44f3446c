"""The inference gaps from a poor encoder (issue 20): the per-example q* converges to
the best diagonal Gaussian whatever the encoder gives, or says it did not."""
import numpy as np
import pytest

import keras_vae as kv
from helpers import exact_posterior, linear_gaussian_vae, log_marginal, sample_data

SIGMA = 0.5
# Correlated columns, so the best diagonal q leaves the mean-field gap.
W = np.array([[1.0, 0.8], [0.9, 1.1], [0.7, 0.6], [1.2, 0.9], [0.4, 0.6]])
B = np.array([0.1, -0.2, 0.3, 0.0, 0.2])
PRECISION = np.eye(2) + W.T @ W / SIGMA**2
# The optimal diagonal Gaussian's gap: 1/2 (sum log Lambda_ii - log det Lambda).
MEAN_FIELD_GAP = 0.5 * (np.sum(np.log(np.diag(PRECISION))) - np.linalg.slogdet(PRECISION)[1])
X = sample_data(W, B, 24, seed=5, sigma=SIGMA)
TRUE_SCALES = np.sqrt(np.diag(exact_posterior(W, SIGMA)[1]))


def _poor_encoder(kind: str, seed: int):
    rng = np.random.default_rng(seed)
    if kind == "untrained":  # a freshly initialised head: random map, unit-ish scales
        return linear_gaussian_vae(W, B, SIGMA, A=rng.normal(0, 0.6, (2, 5)), c=rng.normal(0, 0.3, 2),
                                   scales=np.exp(rng.normal(0, 0.3, 2)))
    factor = {"scales_100x_large": 100.0, "scales_100x_small": 0.01}[kind]
    return linear_gaussian_vae(W, B, SIGMA, scales=TRUE_SCALES * factor)


@pytest.mark.parametrize("kind,seed", [("untrained", 0), ("untrained", 1), ("scales_100x_large", 0),
                                       ("scales_100x_small", 0)])
def test_the_optimized_elbo_reaches_the_mean_field_gap_from_a_poor_encoder(kind, seed):
    assert MEAN_FIELD_GAP > 0.3  # a visible gap, which a stuck optimizer would overshoot
    vae = _poor_encoder(kind, seed)
    gaps = kv.evaluation.inference_gaps(vae, X, log_px=log_marginal(X, W, B, SIGMA), seed=0)
    assert gaps.num_unconverged == 0, gaps.steps
    assert abs(np.mean(gaps.approximation_gap) - MEAN_FIELD_GAP) < 0.05, (np.mean(gaps.approximation_gap), MEAN_FIELD_GAP)
    # Every example, not only the mean (the gap is the same for every x here).
    assert np.all(np.abs(gaps.approximation_gap - MEAN_FIELD_GAP) < 0.25), gaps.approximation_gap
    assert np.all(gaps.amortization_gap > -0.05)


def test_a_step_limit_too_small_is_reported_and_warned_about():
    vae = _poor_encoder("scales_100x_small", 0)
    with pytest.warns(RuntimeWarning, match="had not converged"):
        gaps = kv.evaluation.inference_gaps(vae, X[:4], log_px=log_marginal(X[:4], W, B, SIGMA),
                                            optimize_steps=2, seed=0)
    assert gaps.num_unconverged == 4 and "WARNING: q* had not converged" in gaps.summary()


def test_a_non_finite_log_px_is_refused():
    vae = _poor_encoder("untrained", 0)
    log_px = log_marginal(X[:4], W, B, SIGMA)
    log_px[2] = np.nan
    with pytest.raises(ValueError, match="non-finite values .* example 2"):
        kv.evaluation.inference_gaps(vae, X[:4], log_px=log_px, seed=0)
