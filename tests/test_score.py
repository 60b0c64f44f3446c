"""The exported ``score`` signature: importance-weighted log p(x) with fixed noise."""
import numpy as np
import pytest
import tensorflow as tf
from scipy.special import logsumexp
from tensorflow_probability import distributions as tfd

import keras_vae as kv
from keras_vae.evaluation.shared_noise import shared_noise_log_likelihood, standard_noise
from keras_vae.posteriors.posterior import Posterior

SHAPE = (6,)
K = 16


def _vae(posterior="diagonal_gaussian", seed=4):
    return kv.VAE("mlp", "mlp", latent_dim=3, input_shape=SHAPE, posterior=posterior, seed=seed)


def _data(n=7, seed=0):
    return np.random.default_rng(seed).integers(0, 2, (n, *SHAPE)).astype("float32")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    vae = _vae()
    directory = vae.export(tmp_path_factory.mktemp("score"), score_samples=K, warmup=False)
    return vae, tf.saved_model.load(directory).signatures["score"]


def test_score_is_the_k_sample_importance_estimate_written_out(served):
    """log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x) by hand (numpy densities), with
    z_k = mean + stddev * eps_k and eps the K draws fixed from the model's seed."""
    vae, score = served
    x = _data()
    out = score(x=tf.constant(x))
    q = vae.posterior(x)
    mean, std = q.mean().numpy(), q.stddev().numpy()  # [B, L]
    eps = standard_noise(K, vae.latent_dim, vae.seed)  # [K, L]
    z = mean[None] + std[None] * eps[:, None]  # [K, B, L]
    probs = vae.decode(z.reshape(-1, 3)).numpy().reshape(K, len(x), *SHAPE)
    log_px = np.sum(x * np.log(probs) + (1 - x) * np.log1p(-probs), axis=-1)
    log_pz = np.sum(-0.5 * z**2 - 0.5 * np.log(2 * np.pi), axis=-1)
    log_qz = np.sum(-0.5 * eps[:, None] ** 2 - np.log(std)[None] - 0.5 * np.log(2 * np.pi), axis=-1)
    expected = logsumexp(log_px + log_pz - log_qz, axis=0) - np.log(K)
    np.testing.assert_allclose(out["log_px"].numpy(), expected, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(out["reconstruction_log_prob"].numpy(), log_px.mean(0), rtol=1e-5, atol=1e-4)
    kl = 0.5 * np.sum(mean**2 + std**2 - 1.0 - 2.0 * np.log(std), axis=-1)  # analytic
    np.testing.assert_allclose(out["kl"].numpy(), kl, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out["elbo"].numpy(), log_px.mean(0) - kl, rtol=1e-5, atol=1e-4)
    # Jensen: the K-sample bound is above the mean of the same log-weights.
    assert np.all(out["log_px"].numpy() >= (log_px + log_pz - log_qz).mean(0) - 1e-4)


def test_an_example_scores_the_same_alone_and_in_any_batch(served):
    _, score = served
    x = _data(9)
    full = score(x=tf.constant(x))["log_px"].numpy()
    alone = np.array([score(x=tf.constant(x[i : i + 1]))["log_px"].numpy()[0] for i in range(len(x))])
    order = np.random.default_rng(1).permutation(len(x))
    shuffled = score(x=tf.constant(x[order]))["log_px"].numpy()
    others = score(x=tf.constant(np.concatenate([_data(5, seed=3), x[:2]])))["log_px"].numpy()[-2:]
    np.testing.assert_allclose(alone, full, rtol=0, atol=2e-5)
    np.testing.assert_allclose(shuffled, full[order], rtol=0, atol=2e-5)
    np.testing.assert_allclose(others, full[:2], rtol=0, atol=2e-5)
    assert np.ptp(full) > 0.01  # different examples do score differently


def test_the_score_graph_has_no_per_row_loop_and_no_random_op(served):
    _, score = served
    ops = {op.type for op in score.graph.get_operations()}
    for function in score.graph._functions.values():
        ops |= {node.op for node in function.definition.node_def}
    assert not ops & {"While", "StatelessWhile", "TensorListReserve"}, ops
    assert not any("Random" in op for op in ops), sorted(o for o in ops if "Random" in o)


def test_served_score_is_shared_noise_log_likelihood(served):
    vae, score = served
    x = _data(6)
    expected = shared_noise_log_likelihood(vae, x, num_samples=K)
    np.testing.assert_allclose(score(x=tf.constant(x))["log_px"].numpy(), expected, rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("posterior", ["diagonal_gaussian", "full_gaussian", "iaf"])
def test_score_equals_log_likelihood_under_the_same_noise(posterior):
    """Row i is vae.log_likelihood(x[i:i+1], num_samples=K, seed=vae.seed): the
    very draws ``evaluation.log_likelihood`` makes for one example (the served score
    is this function: the test above)."""
    vae = _vae(posterior)
    x = _data(4)
    got = shared_noise_log_likelihood(vae, x, num_samples=K)
    expected = [vae.log_likelihood(x[i : i + 1], num_samples=K, seed=vae.seed)[0] for i in range(len(x))]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)


@pytest.mark.slow
def test_score_ranks_mnist_like_a_large_k_log_likelihood(mnist_dir, tmp_path):
    """On real MNIST, after a short training, the served K=64 score correlates with
    vae.log_likelihood at K=1000 above 0.99."""
    from keras_vae.datasets import load_mnist

    x, _ = load_mnist("train", path=mnist_dir, download=False)
    x = (x[:1024] > 0.5).astype("float32")
    vae = kv.VAE(kv.encoders.MLPEncoder([128]), kv.decoders.MLPDecoder([128]), latent_dim=8,
                 input_shape=(28, 28, 1), seed=0)
    vae.compile(optimizer="adam")
    vae.fit(x, epochs=2, batch_size=128, verbose=0)
    test = x[:100]
    score = tf.saved_model.load(vae.export(tmp_path, warmup=False)).signatures["score"]
    served = score(x=tf.constant(test))["log_px"].numpy()
    reference = vae.log_likelihood(test, num_samples=1000, seed=1)
    correlation = np.corrcoef(served, reference)[0, 1]
    assert correlation > 0.99, correlation
    assert abs(float(np.mean(served - reference))) < 2.0  # nats: K=64 sits just below K=1000


def test_score_samples_must_be_a_positive_integer(tmp_path):
    with pytest.raises(ValueError, match=r"score_samples must be an integer >= 1.*got 0"):
        _vae().export(tmp_path, score_samples=0)


class LaplacePosterior(Posterior):
    """A posterior that is not a transform of standard-normal noise."""

    @property
    def param_size(self):
        return 2 * self.latent_dim

    def distribution(self, params):
        loc, raw = tf.split(params, 2, axis=-1)
        return tfd.Independent(tfd.Laplace(loc, tf.math.softplus(raw) + 1e-3), 1)

    def natural_parameters(self, params):
        return {"loc": tf.split(params, 2, axis=-1)[0]}


def test_a_posterior_that_cannot_share_noise_is_named(tmp_path):
    vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=SHAPE, posterior=LaplacePosterior())
    with pytest.raises(ValueError, match=r"'score' signature.*Independent cannot be drawn from shared"):
        vae.export(tmp_path, warmup=False)
