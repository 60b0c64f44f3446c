"""Evaluation: the importance-sampled log-likelihood against the closed form of a
linear-Gaussian model, its chunking / seeding, KL diagnostics and latent paths.

The linear-Gaussian model ``z ~ N(0, I)``, ``x = W z + b + eps``, ``eps ~ N(0, s^2 I)``
has ``log p(x) = log N(x; b, W W^T + s^2 I)`` and the exact posterior
``q(z|x) = N(A (x - b), Sigma)`` with ``Sigma = (I + W^T W / s^2)^-1`` and
``A = Sigma W^T / s^2``. It is built as a keras_vae VAE: an identity encoder, a
diagonal Gaussian posterior head whose projection computes ``A (x - b)`` and a
constant scale, an identity decoder body and a Gaussian likelihood head with fixed
scale ``s`` whose projection computes ``W z + b``.
"""
import math
import warnings

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

import keras_vae as kv
from keras_vae import evaluation
from keras_vae.evaluation import PosteriorCollapseWarning
from helpers import (
    LINEAR_SIGMA,
    analytic_elbo,
    exact_posterior,
    linear_gaussian_vae,
    log_marginal,
    sample_data,
)

SIGMA = LINEAR_SIGMA
W_ORTHOGONAL = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 0.0], [0.0, -1.0]])  # W^T W diagonal
W_CORRELATED = np.array([[1.0, 0.8], [0.5, 1.0], [0.3, -0.2], [0.0, 0.7], [0.9, 0.4]])


@pytest.fixture(scope="module")
def correlated():
    W = W_CORRELATED
    b = np.linspace(-0.5, 0.5, W.shape[0])
    return W, b, linear_gaussian_vae(W, b)


@pytest.fixture(scope="module")
def mlp_vae():
    vae = kv.VAE(encoder=kv.encoders.MLPEncoder([32]), decoder=kv.decoders.MLPDecoder([32]),
                 latent_dim=3, input_shape=(6, 5, 1), seed=1)
    x = (np.random.default_rng(0).uniform(size=(40, 6, 5, 1)) > 0.5).astype("float32")
    return vae, x


# ----------------------------------------------------------- log-likelihood
def test_exact_posterior_gives_exact_log_likelihood():
    """With q = p(z|x) every importance weight equals p(x): zero variance, any K."""
    W = W_ORTHOGONAL
    b = np.array([0.3, -0.2, 0.1, 0.5])
    _, cov = exact_posterior(W)
    assert abs(cov[0, 1]) < 1e-12  # the exact posterior is diagonal
    vae = linear_gaussian_vae(W, b)
    x = sample_data(W, b, 64)
    expected = log_marginal(x.astype(np.float64), W, b)
    for k in (1, 17):
        estimate = evaluation.log_likelihood(vae, x, num_samples=k, seed=k)
        np.testing.assert_allclose(estimate, expected, rtol=1e-5, atol=2e-4)


def test_converges_to_closed_form_with_approximate_posterior(correlated):
    W, b, vae = correlated
    A, cov = exact_posterior(W)
    assert abs(cov[0, 1]) / np.sqrt(cov[0, 0] * cov[1, 1]) > 0.5  # far from diagonal
    x = sample_data(W, b, 40, seed=1)
    truth = log_marginal(x.astype(np.float64), W, b)
    estimate = evaluation.log_likelihood(vae, x, num_samples=5000, seed=0)
    error = estimate - truth
    assert abs(error.mean()) < 0.01
    assert np.abs(error).max() < 0.1
    # The ELBO is strictly below: q ignores the posterior correlation.
    elbo = analytic_elbo(x.astype(np.float64), W, b, A, -A @ b, np.sqrt(np.diag(cov)))
    assert np.all(elbo < truth)
    assert (truth - elbo).mean() > 0.1
    # ... and the model's own one-sample ELBO agrees with the analytic one on average.
    model_elbo = np.mean([vae.elbo(x, seed=s).numpy() for s in range(200)], axis=0)
    np.testing.assert_allclose(model_elbo.mean(), elbo.mean(), atol=0.1)


def test_mean_estimate_increases_with_k(correlated):
    W, b, vae = correlated
    x = sample_data(W, b, 1000, seed=2)
    truth = log_marginal(x.astype(np.float64), W, b).mean()
    means = [evaluation.log_likelihood(vae, x, num_samples=k, seed=10 + k).mean() for k in (1, 10, 100, 1000)]
    for lower, higher in zip(means, means[1:]):
        assert higher >= lower - 0.01, means
    assert means[-1] - means[0] > 0.2, means  # K = 1 is the ELBO, well below
    assert all(m <= truth + 0.01 for m in means), (means, truth)
    assert abs(means[-1] - truth) < 0.01


def test_k_equal_1_is_the_elbo(correlated):
    W, b, vae = correlated
    x = np.repeat(sample_data(W, b, 4, seed=3), 500, axis=0)
    A, cov = exact_posterior(W)
    elbo = analytic_elbo(x.astype(np.float64), W, b, A, -A @ b, np.sqrt(np.diag(cov)))
    estimate = evaluation.log_likelihood(vae, x, num_samples=1, seed=0)
    np.testing.assert_allclose(estimate.reshape(4, 500).mean(1), elbo.reshape(4, 500).mean(1), atol=0.25)


@pytest.mark.parametrize("chunk_size", [1, 7, 333, 999])
def test_chunked_equals_unchunked(correlated, chunk_size):
    W, b, vae = correlated
    x = sample_data(W, b, 30, seed=4)
    whole = evaluation.log_likelihood(vae, x, num_samples=1000, batch_size=16, chunk_size=1000, seed=5)
    chunked = evaluation.log_likelihood(vae, x, num_samples=1000, batch_size=16, chunk_size=chunk_size, seed=5)
    np.testing.assert_allclose(chunked, whole, rtol=0, atol=1e-4)


def test_chunked_equals_unchunked_bernoulli_mlp(mlp_vae):
    vae, x = mlp_vae
    whole = evaluation.log_likelihood(vae, x, num_samples=500, batch_size=8, chunk_size=500, seed=0)
    chunked = evaluation.log_likelihood(vae, x, num_samples=500, batch_size=8, chunk_size=13, seed=0)
    np.testing.assert_allclose(chunked, whole, rtol=1e-6, atol=1e-4)
    assert whole.shape == (40,) and np.all(whole < 0)


@pytest.mark.parametrize("fixture", ["correlated", "mlp_vae"])
def test_xla_and_the_plain_graph_give_the_same_estimate(fixture, request):
    """jit_compile changes how a chunk is computed (fused by XLA), never the samples."""
    if fixture == "correlated":
        W, b, vae = request.getfixturevalue(fixture)
        x = sample_data(W, b, 20, seed=4)
    else:
        vae, x = request.getfixturevalue(fixture)
    plain = evaluation.log_likelihood(vae, x, num_samples=300, chunk_size=70, seed=6, jit_compile=False)
    fused = evaluation.log_likelihood(vae, x, num_samples=300, chunk_size=70, seed=6, jit_compile=True)
    auto = evaluation.log_likelihood(vae, x, num_samples=300, chunk_size=70, seed=6)
    np.testing.assert_allclose(fused, plain, rtol=1e-6, atol=1e-4)
    np.testing.assert_allclose(auto, plain, rtol=1e-6, atol=1e-4)
    assert np.all(np.isfinite(plain))


def test_seeding(mlp_vae):
    vae, x = mlp_vae
    a = evaluation.log_likelihood(vae, x, num_samples=50, seed=3)
    np.testing.assert_array_equal(a, evaluation.log_likelihood(vae, x, num_samples=50, seed=3))
    assert not np.array_equal(a, evaluation.log_likelihood(vae, x, num_samples=50, seed=4))
    # Unseeded runs draw fresh samples.
    assert not np.array_equal(
        evaluation.log_likelihood(vae, x, num_samples=5), evaluation.log_likelihood(vae, x, num_samples=5)
    )


def test_dataset_input_matches_array_input(mlp_vae):
    vae, x = mlp_vae
    from_array = evaluation.log_likelihood(vae, x, num_samples=40, batch_size=16, seed=2)
    ds = tf.data.Dataset.from_tensor_slices((x, np.zeros(len(x)))).batch(16)
    from_ds = evaluation.log_likelihood(vae, ds, num_samples=40, seed=2)
    np.testing.assert_allclose(from_ds, from_array, atol=1e-6)


def test_bits_per_dim_and_vae_method(mlp_vae):
    vae, x = mlp_vae
    ll, bpd = vae.log_likelihood(x, num_samples=20, seed=1, return_bits_per_dim=True)
    np.testing.assert_allclose(bpd, -ll / (30 * math.log(2)))
    np.testing.assert_array_equal(ll, evaluation.log_likelihood(vae, x, num_samples=20, seed=1))


def test_log_likelihood_argument_errors(mlp_vae):
    vae, x = mlp_vae
    with pytest.raises(ValueError, match="num_samples"):
        evaluation.log_likelihood(vae, x, num_samples=0)
    with pytest.raises(ValueError, match="chunk_size"):
        evaluation.log_likelihood(vae, x, num_samples=5, chunk_size=-1)
    with pytest.raises(ValueError, match="jit_compile must be True, False or 'auto'"):
        evaluation.log_likelihood(vae, x, num_samples=5, jit_compile="yes")
    with pytest.raises(ValueError, match="shape"):
        evaluation.log_likelihood(vae, x[:, :3], num_samples=5)
    with pytest.raises(ValueError, match=r"\[0.0, 1.0\]|\[0, 1\]"):
        evaluation.log_likelihood(vae, x + 2.0, num_samples=5)


# ------------------------------------------------------------- diagnostics
def _partly_ignoring_vae():
    """Latent dim 0 follows x; dim 1 is N(0, 1) whatever x is (ignored)."""
    W = W_ORTHOGONAL
    b = np.zeros(4)
    A, cov = exact_posterior(W)
    A = A.copy()
    A[1] = 0.0
    scales = np.array([np.sqrt(cov[0, 0]), 1.0])
    return linear_gaussian_vae(W, b, A=A, c=np.zeros(2), scales=scales), W, b, A, scales


def test_kl_per_dimension_analytic_and_mc():
    vae, W, b, A, scales = _partly_ignoring_vae()
    x = sample_data(W, b, 300, seed=5)
    mu = x.astype(np.float64) @ A.T
    expected = np.mean(0.5 * (scales**2 + mu**2 - 1) - np.log(scales), axis=0)
    kl = evaluation.kl_per_dimension(vae, x, batch_size=64)
    np.testing.assert_allclose(kl, expected, rtol=1e-4, atol=1e-6)
    assert kl[1] == pytest.approx(0.0, abs=1e-6)
    mc = vae.kl_per_dimension(x, method="mc", num_samples=400, seed=0)
    np.testing.assert_allclose(mc, expected, atol=0.05)
    # The sum is the model's total KL.
    q = vae.posterior(tf.constant(x))
    total = tfp.distributions.kl_divergence(q, vae.prior()).numpy().mean()
    assert kl.sum() == pytest.approx(total, rel=1e-4)


def test_active_units():
    vae, W, b, *_ = _partly_ignoring_vae()
    x = sample_data(W, b, 300, seed=6)
    assert evaluation.active_units(vae, x) == 1
    units, activity = vae.active_units(x, return_activity=True)
    assert units == 1 and activity.shape == (2,) and activity[1] < 1e-10 < 0.01 < activity[0]
    assert evaluation.active_units(vae, x, threshold=activity[0] + 1) == 0


def test_check_posterior_collapse_warns_on_collapsed_model():
    W = W_ORTHOGONAL
    b = np.zeros(4)
    collapsed = linear_gaussian_vae(W, b, A=np.zeros((2, 4)), c=np.zeros(2), scales=np.ones(2))
    x = sample_data(W, b, 100, seed=7)
    with pytest.warns(PosteriorCollapseWarning, match="0 of 2 latent units are active"):
        report = evaluation.check_posterior_collapse(collapsed, x)
    assert report["collapsed"] and report["active_units"] == 0
    assert report["kl_total"] == pytest.approx(0.0, abs=1e-5)
    assert report["kl_per_dimension"].shape == (2,) and report["latent_dim"] == 2


def test_check_posterior_collapse_quiet_on_healthy_model():
    vae, W, b, *_ = _partly_ignoring_vae()
    x = sample_data(W, b, 100, seed=8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = evaluation.check_posterior_collapse(vae, x)
    assert not report["collapsed"]
    assert report["active_units"] == 1 and report["active_dimensions"] == [0]
    assert report["kl_total"] > 0.1


def test_per_dimension_kl_uses_exact_marginals_and_refuses_a_flow():
    tfd = tfp.distributions
    cov = np.array([[1.0, 0.6], [0.6, 2.0]], "float32")
    full = tfd.MultivariateNormalTriL(loc=tf.ones([3, 2]), scale_tril=tf.linalg.cholesky(cov) * tf.ones([3, 1, 1]))
    marginals = evaluation._marginals(full, 2, "posterior")
    np.testing.assert_allclose(marginals.scale.numpy()[0], np.sqrt(np.diag(cov)), rtol=1e-6)
    mixture = kv.priors.MixturePrior(latent_dim=2, num_components=3).distribution()
    z = tf.constant([[0.3, -1.0], [2.0, 0.5]])
    per_dim = evaluation._marginals(mixture, 2, "prior").log_prob(z)  # [2, 2]
    comps = mixture.components_distribution.distribution  # Normal [3, 2]
    w = tf.nn.log_softmax(mixture.mixture_distribution.logits)
    expected = tf.reduce_logsumexp(w[None, None, :] + comps.log_prob(z[:, None, :]).numpy().transpose(0, 2, 1), -1)
    np.testing.assert_allclose(per_dim.numpy(), expected.numpy(), rtol=1e-5)
    flow = kv.posteriors.IAFPosterior(latent_dim=2, hidden_units=[4])
    q = flow.distribution(flow(tf.zeros((3, 5))))
    with pytest.raises(ValueError, match="flow"):
        evaluation._marginals(q, 2, "posterior")


# ------------------------------------------------------------ latent paths
def _identity_like_vae():
    """W = I: the posterior mean is a positive multiple of x (norms are comparable)."""
    W = np.eye(2)
    return linear_gaussian_vae(W, np.zeros(2)), W


def test_interpolation_endpoints_and_linear_midpoint(correlated):
    W, b, vae = correlated
    x = sample_data(W, b, 2, seed=9)
    for method in ("linear", "slerp"):
        path, z = vae.interpolate(x[0], x[1], steps=5, method=method, return_latents=True)
        assert path.shape == (5, 5) and z.shape == (5, 2)
        ends = vae.reconstruct(x).numpy()
        np.testing.assert_allclose(path[0], ends[0], atol=1e-5)
        np.testing.assert_allclose(path[-1], ends[1], atol=1e-5)
    path, z = evaluation.interpolate(vae, x[0], x[1], steps=3, return_latents=True)
    np.testing.assert_allclose(z[1], (z[0] + z[2]) / 2, atol=1e-6)
    # Linear model: the decoded mean is affine in z, so the decoded midpoint is the mean.
    np.testing.assert_allclose(path[1], (path[0] + path[2]) / 2, atol=1e-5)


def test_slerp_keeps_norm_linear_does_not():
    vae, _ = _identity_like_vae()
    x1, x2 = np.array([3.0, 0.0], "float32"), np.array([0.0, 3.0], "float32")
    _, z_slerp = vae.interpolate(x1, x2, steps=9, method="slerp", return_latents=True)
    _, z_linear = vae.interpolate(x1, x2, steps=9, method="linear", return_latents=True)
    norms_slerp = np.linalg.norm(z_slerp, axis=1)
    norms_linear = np.linalg.norm(z_linear, axis=1)
    np.testing.assert_allclose(norms_slerp, norms_slerp[0], rtol=1e-5)
    assert norms_linear[4] == pytest.approx(norms_linear[0] / math.sqrt(2), rel=1e-5)
    # The slerp midpoint bisects the angle.
    assert z_slerp[4, 0] == pytest.approx(z_slerp[4, 1], rel=1e-5)


def test_slerp_function():
    t = np.linspace(0, 1, 5)
    z = evaluation.slerp(np.array([1.0, 0.0]), np.array([0.0, 2.0]), t)
    np.testing.assert_allclose(z[0], [1, 0], atol=1e-12)
    np.testing.assert_allclose(z[-1], [0, 2], atol=1e-12)
    # Parallel vectors fall back to linear interpolation.
    np.testing.assert_allclose(evaluation.slerp(np.array([1.0, 1.0]), np.array([2.0, 2.0]), t)[2], [1.5, 1.5])
    # Batched: (B, L) endpoints give (B, steps, L).
    assert evaluation.slerp(np.ones((3, 4)), -np.ones((3, 4)) + 0.1, t).shape == (3, 5, 4)


def test_interpolate_batches_and_errors(mlp_vae):
    vae, x = mlp_vae
    paths = vae.interpolate(x[:3], x[3:6], steps=4)
    assert paths.shape == (3, 4, 6, 5, 1)
    with pytest.raises(ValueError, match="method"):
        vae.interpolate(x[0], x[1], method="cubic")
    with pytest.raises(ValueError, match="steps"):
        vae.interpolate(x[0], x[1], steps=1)


def test_traverse(mlp_vae):
    vae, x = mlp_vae
    out, z = vae.traverse(x[0], dim=1, return_latents=True)
    assert out.shape == (9, 6, 5, 1) and z.shape == (9, 3)
    np.testing.assert_allclose(z[:, 1], np.linspace(-3, 3, 9), atol=1e-6)
    mean = vae.encode(x[:1]).numpy()[0]
    np.testing.assert_allclose(z[:, [0, 2]], np.tile(mean[[0, 2]], (9, 1)), atol=1e-6)
    np.testing.assert_allclose(out[4], vae.decode(z[4:5]).numpy()[0], atol=1e-6)
    assert evaluation.traverse(vae, x[:2], 0, values=[-1.0, 1.0]).shape == (2, 2, 6, 5, 1)
    with pytest.raises(ValueError, match="dim"):
        vae.traverse(x[0], dim=3)
