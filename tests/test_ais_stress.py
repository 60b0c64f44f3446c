"""AIS from the prior does not depend on the encoder (issue 20): on the
linear-Gaussian model with the true decoder and a poor encoder (untrained heads of
several initialisations, scales 100x too large or too small) the estimate is within
0.05 nats of the exact log p(x) on the mean and 0.2 on every example."""
import numpy as np
import pytest

import keras_vae as kv
from helpers import exact_posterior, linear_gaussian_vae, log_marginal, sample_data

SIGMA = 0.5
W = np.array([[1.0, 0.8], [0.9, 1.1], [0.7, 0.6], [1.2, 0.9], [0.4, 0.6]])
B = np.array([0.1, -0.2, 0.3, 0.0, 0.2])
X = sample_data(W, B, 32, seed=9, sigma=SIGMA)
EXACT = log_marginal(X, W, B, SIGMA)
TRUE_SCALES = np.sqrt(np.diag(exact_posterior(W, SIGMA)[1]))


def _encoder(kind: str):
    if kind.startswith("untrained"):
        rng = np.random.default_rng(int(kind[-1]))
        return linear_gaussian_vae(W, B, SIGMA, A=rng.normal(0, 0.6, (2, 5)), c=rng.normal(0, 0.3, 2),
                                   scales=np.exp(rng.normal(0, 0.5, 2)))
    return linear_gaussian_vae(W, B, SIGMA, scales=TRUE_SCALES * {"large": 100.0, "small": 0.01}[kind])


@pytest.mark.parametrize("kind", ["untrained0", "untrained1", "untrained2", "large", "small"])
def test_ais_from_the_prior_is_exact_whatever_the_encoder(kind):
    vae = _encoder(kind)
    estimate = vae.log_likelihood(X, method="ais", num_steps=500, num_chains=16, seed=0)
    error = np.asarray(estimate, np.float64) - EXACT
    assert abs(error.mean()) < 0.05, (kind, error.mean())
    assert np.max(np.abs(error)) < 0.2, (kind, error)
