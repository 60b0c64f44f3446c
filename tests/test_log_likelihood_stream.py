"""The streaming log-likelihood estimator: each chunk's draws are the very draws
``q.sample(K, seed)`` makes for the whole batch, and the estimate is a float64
log-sum-exp of the same log-weights the model computes for them."""
import math

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
from scipy.special import logsumexp

import keras_vae as kv
from keras_vae import _seeds, evaluation
from helpers import exact_posterior, linear_gaussian_vae, log_marginal, sample_data
from keras_vae.evaluation.shared_noise import noise_layout, normal_stream, reparameterize, stream_noise

tfd = tfp.distributions
SHAPE = (6,)


def _vae(posterior="diagonal_gaussian"):
    return kv.VAE("mlp", "mlp", latent_dim=3, input_shape=SHAPE, posterior=posterior, seed=2)


def _data(n=5, seed=0):
    return np.random.default_rng(seed).integers(0, 2, (n, *SHAPE)).astype("float32")


def _batch_seed(seed: int, index: int = 0) -> tf.Tensor:
    """The stateless seed log_likelihood gives batch ``index`` for an int ``seed``."""
    base = tf.constant([seed, _seeds.LOG_LIKELIHOOD], tf.int32)
    return tf.random.experimental.stateless_fold_in(base, index)


@pytest.mark.parametrize("start, size", [(0, 1), (0, 13), (1, 4), (3, 9), (6, 2), (4093, 7), (10**6 + 1, 5)])
def test_normal_stream_resumes_the_stateless_stream_anywhere(start, size):
    seed = tf.constant([11, 7], tf.int32)
    whole = tf.random.stateless_normal([start + size + 3], seed).numpy()
    part = normal_stream(seed, tf.constant(start, tf.int64), size).numpy()
    np.testing.assert_array_equal(part, whole[start : start + size])


@pytest.mark.parametrize("posterior, layout", [("diagonal_gaussian", "BL"), ("full_gaussian", "LB"), ("iaf", "BL")])
def test_chunks_of_the_stream_are_the_draws_of_q_sample(posterior, layout):
    """For every built-in posterior, chunk by chunk, z equals q.sample(K, seed)[chunk]
    and log q equals q.log_prob at it: the estimator sees the samples q.sample
    would draw for the whole batch at once, whatever the chunk size."""
    vae = _vae(posterior)
    x = vae.prepare(_data())
    q = vae.posterior(x)
    assert noise_layout(q) == layout
    seed = _batch_seed(3)
    k, chunk = 23, 5
    z_all = q.sample(k, seed=seed)
    log_q_all = q.log_prob(z_all)
    for first in range(0, k, chunk):
        size = min(chunk, k - first)
        eps = stream_noise(seed, tf.constant(first, tf.int64), size, tf.shape(x)[0], vae.latent_dim, layout)
        z, log_q = reparameterize(q, eps)
        np.testing.assert_allclose(z.numpy(), z_all[first : first + size].numpy(), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(log_q.numpy(), log_q_all[first : first + size].numpy(), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("posterior", ["diagonal_gaussian", "full_gaussian", "iaf"])
@pytest.mark.parametrize("chunk_size", [1, 6, 40])
def test_estimate_is_the_logsumexp_of_the_models_own_log_weights(posterior, chunk_size):
    """log_likelihood == scipy's logsumexp (float64) of the log-weights vae.terms
    computes for the same K draws, minus log K, for any chunk size."""
    vae = _vae(posterior)
    x = _data()
    k, seed = 40, 9
    estimate = evaluation.log_likelihood(vae, x, num_samples=k, batch_size=len(x), chunk_size=chunk_size, seed=seed)
    log_w = vae.terms(x, num_samples=k, seed=_batch_seed(seed)).log_weights().numpy().astype(np.float64)
    expected = logsumexp(log_w, axis=0) - math.log(k)
    assert estimate.dtype == np.float64
    np.testing.assert_allclose(estimate, expected, rtol=1e-6, atol=2e-5)


class LogisticPosterior(kv.posteriors.DiagonalGaussianPosterior):
    """A posterior q.sample draws in a way the stream does not reproduce."""

    def distribution(self, params):
        loc, scale = self._loc_scale(params)
        return tfd.Independent(tfd.Logistic(loc=loc, scale=scale), reinterpreted_batch_ndims=1)


def test_another_posterior_draws_each_chunk_from_its_own_sample():
    """A posterior outside the stream's families: chunk i is q.sample(chunk, seed
    folded with i), and the estimate is the logsumexp of exactly those weights."""
    vae = _vae(LogisticPosterior())
    x = _data(4)
    q = vae.posterior(vae.prepare(x))
    assert noise_layout(q) is None
    k, chunk, seed = 30, 8, 4
    estimate = evaluation.log_likelihood(vae, x, num_samples=k, chunk_size=chunk, seed=seed)
    seed_b = _batch_seed(seed)
    log_w = []
    for i in range(-(-k // chunk)):
        z = q.sample(chunk, seed=tf.random.experimental.stateless_fold_in(seed_b, i))
        log_px, log_pz = vae.joint_log_prob(vae.prepare(x), z)
        log_w.append((log_px + log_pz - q.log_prob(z)).numpy())
    log_w = np.concatenate(log_w)[:k].astype(np.float64)
    np.testing.assert_allclose(estimate, logsumexp(log_w, axis=0) - math.log(k), rtol=1e-6, atol=2e-5)


def test_huge_k_streams_to_the_exact_log_likelihood():
    """K = 1.7e7 for two examples (2 * K * latent = 6.8e7 numbers, twice the old
    one-block sample budget of 2**25) runs in chunks to the closed-form log p(x) of a
    linear-Gaussian model whose q is 1.5 times too wide."""
    W = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 0.0], [0.0, -1.0]])
    b = np.linspace(-0.5, 0.5, 4)
    _, cov = exact_posterior(W)
    vae = linear_gaussian_vae(W, b, scales=1.5 * np.sqrt(np.diag(cov)))
    x = sample_data(W, b, 2, seed=1)
    estimate = evaluation.log_likelihood(vae, x, num_samples=17 * 10**6 + 3, seed=1)
    np.testing.assert_allclose(estimate, log_marginal(x.astype(np.float64), W, b), atol=2e-3)
