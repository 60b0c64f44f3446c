"""The doubly reparameterized IWAE gradient (Tucker et al., 2018): for the encoder,
the same expectation as the standard IWAE gradient with a lower variance; for the
decoder, the very same gradient; the loss value unchanged.

On the linear-Gaussian model with a deliberately poor q (its mean map and scales
off), the gradients of both estimators are drawn for many seeds with common random
numbers, and the paired differences are tested against zero parameter by parameter.
A biased estimator (the path-only gradient with w~ instead of w~^2 weights) fails
the same test, so the test can tell a wrong estimator apart.
"""
import numpy as np
import pytest
import tensorflow as tf

import keras_vae as kv
from helpers import exact_posterior, linear_gaussian_vae, sample_data
from keras_vae.objectives._log_weights import log_weights

W = np.array([[1.0, 0.8], [0.5, 1.0], [0.3, -0.2], [0.0, 0.7], [0.9, 0.4]])
B = np.linspace(-0.5, 0.5, W.shape[0])
K = 8
SEEDS = 400


@pytest.fixture(scope="module")
def gradients():
    """Per seed: the encoder and decoder gradients of the batch-mean loss under the
    standard, DReG and a biased path-only estimator, and the losses."""
    A, cov = exact_posterior(W)
    vae = linear_gaussian_vae(W, B, A=A * 0.6, c=-A @ B + 0.3, scales=1.8 * np.sqrt(np.diag(cov)))
    x = tf.constant(sample_data(W, B, 4, seed=2))
    encoder = vae.posterior_layer.trainable_weights
    decoder = vae.likelihood_layer.trainable_weights
    assert encoder and decoder
    objectives = {g: kv.objectives.IWAE(num_samples=K, gradient=g) for g in ("standard", "dreg")}

    def path_only(terms):  # biased for K > 1: the weights should be squared
        log_w_q_fixed = log_weights(terms.log_px, terms.log_pz, terms.stopped_log_qz())
        normalized = tf.stop_gradient(tf.nn.softmax(terms.log_weights(), axis=0))
        return -tf.reduce_sum(normalized * log_w_q_fixed, axis=0)

    @tf.function
    def draw(seed):
        out = {}
        for name in ("standard", "dreg", "path_only"):
            with tf.GradientTape() as tape:
                terms = vae.terms(x, num_samples=K, seed=seed, training=True)
                loss = path_only(terms) if name == "path_only" else objectives[name](terms)[0]
                mean = tf.reduce_mean(loss)
            enc, dec = tape.gradient(mean, [encoder, decoder])
            out[name] = (tf.concat([tf.reshape(g, [-1]) for g in enc], 0),
                         tf.concat([tf.reshape(g, [-1]) for g in dec], 0), loss)
        return out

    runs = [draw(tf.constant([s, 17])) for s in range(SEEDS)]
    return {
        name: tuple(np.stack([r[name][i].numpy() for r in runs]).astype(np.float64) for i in range(3))
        for name in ("standard", "dreg", "path_only")
    }


def _t_statistics(a, b):
    """Paired t statistic of mean(a - b) per parameter (common random numbers)."""
    d = a - b
    return d.mean(0) / (d.std(0, ddof=1) / np.sqrt(len(d)))


def test_dreg_encoder_gradient_equals_the_standard_one_in_expectation(gradients):
    standard, dreg = gradients["standard"][0], gradients["dreg"][0]
    assert np.abs(standard.mean(0)).max() > 0.05  # q is poor: there is a gradient to agree on
    t = _t_statistics(dreg, standard)
    # 20 parameters; |t| > 4 by chance has probability about 1e-3 in all.
    assert np.abs(t).max() < 4.0, t


def test_the_expectation_test_rejects_a_biased_estimator(gradients):
    t = _t_statistics(gradients["path_only"][0], gradients["standard"][0])
    assert np.abs(t).max() > 8.0, t


def test_dreg_encoder_gradient_has_lower_variance(gradients):
    standard, dreg = gradients["standard"][0], gradients["dreg"][0]
    ratio = dreg.var(0).sum() / standard.var(0).sum()
    assert ratio < 0.5, ratio
    # Parameter by parameter, too.
    assert np.all(dreg.var(0) < standard.var(0))


def test_dreg_decoder_gradient_and_loss_are_the_standard_ones_seed_by_seed(gradients):
    np.testing.assert_allclose(gradients["dreg"][1], gradients["standard"][1], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(gradients["dreg"][2], gradients["standard"][2], rtol=1e-6, atol=1e-5)


def test_one_sample_iwae_is_the_elbo_with_a_monte_carlo_kl():
    vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(5,), kl="mc", seed=0)
    x = np.random.default_rng(0).integers(0, 2, (6, 5)).astype("float32")
    terms = vae.terms(x, num_samples=1, seed=4)
    iwae, values = kv.objectives.IWAE(num_samples=1)(terms)
    elbo, _ = kv.objectives.ELBO()(terms)
    np.testing.assert_allclose(iwae.numpy(), elbo.numpy(), rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(values["iwae_bound"].numpy(), values["elbo"].numpy(), rtol=1e-6, atol=1e-5)
