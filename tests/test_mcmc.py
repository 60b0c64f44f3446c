"""MCMC beside variational inference, checked against the closed forms of the
linear-Gaussian model (tests/helpers.py): AIS log p(x), the BDMC sandwich, HMC
posterior moments, and the approximation / amortization gaps.

The correlated W makes the exact posterior N(A (x - b), Sigma) far from diagonal,
so a diagonal q has an approximation gap with a closed form: the best diagonal
Gaussian under KL(q || p) has the exact mean and variances 1 / Lambda_ii
(Lambda = Sigma^-1), and KL = (sum_i log Lambda_ii - log det Lambda) / 2.
"""
import math

import numpy as np
import pytest
import tensorflow as tf

import keras_vae as kv
from keras_vae import evaluation
from helpers import analytic_elbo, exact_posterior, linear_gaussian_vae, log_marginal, sample_data

W = np.array([[1.0, 0.8], [0.5, 1.0], [0.3, -0.2], [0.0, 0.7], [0.9, 0.4]])
B = np.linspace(-0.5, 0.5, W.shape[0])
A_EXACT, COV = exact_posterior(W)
# A deliberately poor amortized posterior: a shrunken mean map and wrong scales
# (what an untrained or under-trained encoder gives).
A_POOR, SCALES_POOR = 0.4 * A_EXACT, np.array([1.0, 0.25])


@pytest.fixture(scope="module")
def poor_vae():
    return linear_gaussian_vae(W, B, A=A_POOR, scales=SCALES_POOR)


@pytest.fixture(scope="module")
def data():
    x = sample_data(W, B, 48, seed=3)
    return x, log_marginal(x.astype(np.float64), W, B)


# One AIS setting for most tests: its traced function is cached per model and
# settings, so the tests share one trace (tracing the annealing loop takes seconds).
AIS = dict(num_steps=300, num_chains=16)


def _se(values) -> float:
    return float(np.std(values) / math.sqrt(len(values)))


# --------------------------------------------------------------------- AIS
@pytest.mark.parametrize("anneal_from", ["prior", "q"])
def test_ais_recovers_exact_log_px_where_small_k_importance_sampling_does_not(poor_vae, data, anneal_from):
    x, exact = data
    ais = evaluation.ais_log_likelihood(poor_vae, x, anneal_from=anneal_from, seed=0, **AIS)
    assert abs(np.mean(ais - exact)) < 0.05, np.mean(ais - exact)
    assert np.max(np.abs(ais - exact)) < 0.3
    iwae = evaluation.log_likelihood(poor_vae, x, num_samples=10, seed=0)
    assert np.mean(exact - iwae) > 0.3, np.mean(exact - iwae)  # the poor q misleads it


def test_ais_is_reproducible_batched_and_runs_in_tf_function(poor_vae, data):
    x = data[0][:12]
    kwargs = dict(seed=5, batch_size=6, **AIS)
    a = evaluation.ais_log_likelihood(poor_vae, x, **kwargs)
    again, bpd = evaluation.ais_log_likelihood(poor_vae, x, return_bits_per_dim=True, **kwargs)
    np.testing.assert_array_equal(a, again)
    np.testing.assert_allclose(bpd, -a / (W.shape[0] * math.log(2)))
    dataset = tf.data.Dataset.from_tensor_slices(x).batch(6)
    np.testing.assert_array_equal(a, evaluation.ais_log_likelihood(poor_vae, dataset, **kwargs))
    other = evaluation.ais_log_likelihood(poor_vae, x[:6], **{**kwargs, "seed": 6})
    assert not np.array_equal(a[:6], other)

    # The tensor-level building block: eager and inside a user's tf.function agree.
    # (A small step keeps every acceptance probability near 1: a Metropolis decision
    # near its threshold could otherwise flip on the last bit of a float, which
    # differs between the eager and the graph computation.)
    seed = tf.constant([1, 2], tf.int32)
    settings = dict(num_steps=3, num_chains=3, step_size=1e-3)
    eager = evaluation.annealed_importance_log_weights(poor_vae, tf.constant(x[:4]), seed, **settings)

    @tf.function
    def traced(batch):
        return evaluation.annealed_importance_log_weights(poor_vae, batch, seed, **settings)["log_weights"]

    assert eager["log_weights"].shape == (3, 4) and eager["state"].shape == (3, 4, 2)
    np.testing.assert_allclose(traced(tf.constant(x[:4])), eager["log_weights"], rtol=1e-4, atol=1e-4)


# -------------------------------------------------------------------- BDMC
def test_bdmc_brackets_the_exact_log_px(poor_vae):
    result = evaluation.bdmc(poor_vae, num_examples=64, seed=1, **AIS)
    exact = log_marginal(result.x.astype(np.float64), W, B)
    lower, upper = result.lower - exact, result.upper - exact
    assert lower.mean() <= 3 * _se(lower), lower.mean()
    assert upper.mean() >= -3 * _se(upper), upper.mean()
    gap = result.gap()  # >= 0 in expectation; ~0 here, where AIS is nearly exact
    assert -3 * _se(gap) < gap.mean() < 0.1, result.summary()
    # The data are simulated from the model: x = W z + b + noise with z the latent.
    resid = result.x - result.z @ W.T - B
    assert abs(resid.std() - 0.6) < 0.1


# --------------------------------------------------------------------- HMC
def test_hmc_matches_the_exact_posterior_and_q_does_not(poor_vae, data):
    x = data[0][:4]
    hmc = evaluation.posterior_samples(poor_vae, x, num_samples=1200, num_chains=4,
                                       num_burnin_steps=150, seed=0)
    assert hmc.samples.shape == (4, 1200, 2) and hmc.max_r_hat() < 1.05
    exact_mean = (x - B) @ A_EXACT.T
    tolerance = 4 * np.sqrt(np.diag(COV) / hmc.effective_sample_size)
    assert np.all(np.abs(hmc.mean() - exact_mean) < tolerance), (hmc.mean() - exact_mean, tolerance)
    np.testing.assert_allclose(hmc.covariance().mean(0), COV, atol=0.025)
    assert np.all((hmc.acceptance_rate > 0.3) & (hmc.acceptance_rate <= 1))

    amortized = evaluation.posterior_samples(poor_vae, x, num_samples=2000, method="q", seed=0)
    assert amortized.r_hat is None and amortized.samples.shape == (4, 2000, 2)
    np.testing.assert_allclose(amortized.covariance().mean(0), np.diag(SCALES_POOR**2), atol=0.05)
    np.testing.assert_allclose(amortized.mean(), (x - B) @ A_POOR.T, atol=0.08)


def test_hmc_without_preconditioning_or_jitter_and_their_checks(poor_vae, data):
    """The defaults precondition with q's spreads and jitter the step size (what made
    the chains of an MNIST model mix, see hmc.py); without either HMC is plain TFP
    HMC with one adapted step size per example, and still exact here."""
    x = data[0][:4]
    plain = evaluation.posterior_samples(poor_vae, x, num_samples=1200, num_chains=4, num_burnin_steps=150,
                                         seed=0, precondition=False, step_size_jitter=0.0)
    assert plain.max_r_hat() < 1.05
    exact_mean = (x - B) @ A_EXACT.T
    tolerance = 4 * np.sqrt(np.diag(COV) / plain.effective_sample_size)
    assert np.all(np.abs(plain.mean() - exact_mean) < tolerance), (plain.mean() - exact_mean, tolerance)
    np.testing.assert_allclose(plain.covariance().mean(0), COV, atol=0.025)
    # the step size is reported in units of z either way (preconditioned: the mean
    # over dimensions of the per-dimension steps)
    default = evaluation.posterior_samples(poor_vae, x, num_samples=1200, num_chains=4, num_burnin_steps=150, seed=0)
    assert np.all((default.step_size > plain.step_size / 3) & (default.step_size < plain.step_size * 3))
    for bad in (1.0, -0.1, True, "0.5"):
        with pytest.raises(ValueError, match="step_size_jitter"):
            evaluation.posterior_samples(poor_vae, x, num_samples=8, step_size_jitter=bad)


# -------------------------------------------------------------------- gaps
def test_gaps_match_their_closed_forms(poor_vae, data):
    x, exact = data
    gaps = evaluation.inference_gaps(poor_vae, x, log_px=exact, optimize_steps=300, seed=0)
    precision = np.linalg.inv(COV)
    best_diagonal_kl = 0.5 * (np.sum(np.log(np.diag(precision))) - np.linalg.slogdet(precision)[1])
    assert abs(gaps.approximation_gap.mean() - best_diagonal_kl) < 0.03, (gaps.table(), best_diagonal_kl)
    elbo_poor = analytic_elbo(x.astype(np.float64), W, B, A_POOR, -A_POOR @ B, SCALES_POOR)
    np.testing.assert_allclose(gaps.elbo_amortized.mean(), elbo_poor.mean(), atol=0.05)
    expected_amortization = (exact - best_diagonal_kl - elbo_poor).mean()
    assert abs(gaps.amortization_gap.mean() - expected_amortization) < 0.05
    # The decomposition adds up, example by example.
    np.testing.assert_allclose(
        gaps.approximation_gap + gaps.amortization_gap, exact - gaps.elbo_amortized, rtol=0, atol=1e-9
    )
    assert "amortization gap" in gaps.summary()


def test_gaps_with_ais_default(poor_vae, data):
    x, exact = data[0][:8], data[1][:8]
    gaps = evaluation.inference_gaps(poor_vae, x, ais=AIS, optimize_steps=50, seed=0)
    assert abs(np.mean(gaps.log_px - exact)) < 0.1
    assert set(gaps.seconds) == {"log_px", "elbo_amortized", "elbo_optimized"}


def test_full_covariance_q_closes_the_approximation_gap():
    if not hasattr(kv.posteriors, "FullGaussianPosterior"):
        pytest.skip("no full-covariance posterior in this version")
    import keras

    vae = kv.VAE(encoder=kv.encoders.MLPEncoder([]), decoder=keras.layers.Identity(), latent_dim=2,
                 input_shape=(W.shape[0],), posterior=kv.posteriors.FullGaussianPosterior(),
                 likelihood=kv.likelihoods.Gaussian(scale=0.6), seed=0)
    vae.likelihood_layer.projection.set_weights([W.T.astype("float32"), B.astype("float32")])
    kernel, bias = vae.posterior_layer.projection.get_weights()  # an untrained encoder
    vae.posterior_layer.projection.set_weights([0.1 * kernel, np.zeros_like(bias)])
    x = sample_data(W, B, 24, seed=4)
    exact = log_marginal(x.astype(np.float64), W, B)
    gaps = evaluation.inference_gaps(vae, x, log_px=exact, optimize_steps=400, learning_rate=0.05, seed=0)
    assert abs(gaps.approximation_gap.mean()) < 0.02, gaps.table()
    assert gaps.amortization_gap.mean() > 0.5, gaps.table()


# ------------------------------------- other posteriors and priors, errors
@pytest.mark.parametrize("posterior, prior", [("iaf", "standard_normal"), ("diagonal_gaussian", "vamp")])
def test_runs_with_a_flow_posterior_and_a_vampprior(posterior, prior):
    """Only log_prob / sample are used: a flow (no mean, no stddev) and a prior that
    runs the encoder work like the Gaussians. (Flow and VampPrior together also
    work, but tracing HMC through a mixture of inverted flows takes a minute.)"""
    try:
        vae = kv.VAE(encoder=kv.encoders.MLPEncoder([8]), decoder=kv.decoders.MLPDecoder([8]),
                     latent_dim=2, input_shape=(6,), posterior=posterior, prior=prior, seed=0)
    except (KeyError, ValueError, TypeError) as error:  # not in this version
        pytest.skip(f"{posterior} / {prior}: {error}")
    x = (np.random.default_rng(0).uniform(size=(3, 6)) > 0.5).astype("float32")
    # From the prior: a flow's log q at a chain's z inverts the flow, one network
    # pass per dimension, and tracing HMC gradients through that takes ~20 s.
    ll = evaluation.ais_log_likelihood(vae, x, num_steps=5, num_chains=2, seed=0)
    assert ll.shape == (3,) and np.all(np.isfinite(ll))
    if posterior == "iaf":
        samples = evaluation.posterior_samples(vae, x, num_samples=8, num_chains=2, num_burnin_steps=2, seed=0)
        assert samples.samples.shape == (3, 8, 2) and np.all(np.isfinite(samples.samples))
        assert samples.r_hat.shape == (3, 2)
    else:
        best = evaluation.optimized_elbo(vae, x, optimize_steps=3, num_elbo_samples=4, seed=0)
        assert best.shape == (3,) and np.all(np.isfinite(best))


def test_clear_errors(poor_vae, data):
    x = data[0][:2]
    with pytest.raises(ValueError, match="anneal_from"):
        evaluation.ais_log_likelihood(poor_vae, x, anneal_from="posterior")
    with pytest.raises(ValueError, match="num_steps"):
        evaluation.ais_log_likelihood(poor_vae, x, num_steps=0)
    with pytest.raises(ValueError, match="target_accept_prob"):
        evaluation.ais_log_likelihood(poor_vae, x, target_accept_prob=1.5)
    with pytest.raises(ValueError, match="method"):
        evaluation.posterior_samples(poor_vae, x, method="nuts")
    with pytest.raises(ValueError, match="initial_state"):
        evaluation.annealed_importance_log_weights(poor_vae, tf.constant(x), [0, 0], reverse=True)
    with pytest.raises(ValueError, match="log_px"):
        evaluation.inference_gaps(poor_vae, x, log_px=np.zeros(5))
    with pytest.raises(ValueError, match="shape"):
        evaluation.ais_log_likelihood(poor_vae, x[:, :3])
    with pytest.raises(ValueError, match="jit_compile must be True, False or 'auto'"):
        evaluation.ais_log_likelihood(poor_vae, x, jit_compile="xla")
    with pytest.raises(ValueError, match="jit_compile must be True, False or 'auto'"):
        evaluation.bdmc(poor_vae, num_examples=2, jit_compile=1.0)
    with pytest.raises(ValueError, match="jit_compile must be True, False or 'auto'"):
        evaluation.posterior_samples(poor_vae, x, num_samples=4, jit_compile="False")


@pytest.mark.xla
def test_auto_jit_compiles_long_runs_only(poor_vae, data):
    """'auto' is the plain graph below XLA_MIN_STEPS steps (same numbers as
    jit_compile=False) and XLA from there on (same numbers as jit_compile=True)."""
    from keras_vae.evaluation import _mcmc

    x = data[0][:3]
    short = dict(num_steps=4, num_chains=2, seed=1)
    np.testing.assert_array_equal(
        evaluation.ais_log_likelihood(poor_vae, x, **short),
        evaluation.ais_log_likelihood(poor_vae, x, jit_compile=False, **short),
    )
    assert not _mcmc.resolve_jit(poor_vae, "auto", _mcmc.XLA_MIN_STEPS - 1)
    assert _mcmc.resolve_jit(poor_vae, "auto", _mcmc.XLA_MIN_STEPS)
    assert not _mcmc.resolve_jit(poor_vae, False, 10**6)


def test_estimates_vs_cost_and_plot(poor_vae, data):
    import matplotlib

    matplotlib.use("Agg")
    x = data[0][:6]
    points = evaluation.estimates_vs_cost(poor_vae, x, iwae_samples=(1, 100), ais_steps=(300,),
                                          ais={"num_chains": 16}, seed=0)
    assert [(p["method"], p["setting"]) for p in points] == [("iwae", 1), ("iwae", 100), ("ais", 300)]
    assert points[1]["log_px"] > points[0]["log_px"]  # more samples, tighter bound
    figure = evaluation.plot_estimates_vs_cost(points)
    assert len(figure.axes[0].lines) == 2


def test_the_model_delegates_ais_and_posterior_samples(poor_vae, data):
    x = data[0][:12]
    kwargs = dict(seed=5, batch_size=6, **AIS)
    np.testing.assert_array_equal(
        poor_vae.log_likelihood(x, method="ais", **kwargs), evaluation.ais_log_likelihood(poor_vae, x, **kwargs)
    )
    with pytest.raises(ValueError, match="method='ais' takes num_chains"):
        poor_vae.log_likelihood(x, num_samples=10, method="ais")
    with pytest.raises(ValueError, match="method must be 'iwae' or 'ais'"):
        poor_vae.log_likelihood(x, method="hmc")
    q_samples = poor_vae.posterior_samples(x[:2], num_samples=5, method="q", seed=0)
    direct = evaluation.posterior_samples(poor_vae, x[:2], num_samples=5, method="q", seed=0)
    np.testing.assert_array_equal(np.asarray(q_samples.samples), np.asarray(direct.samples))
