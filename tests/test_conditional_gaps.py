"""The inference gaps and HMC posterior samples of a conditioned model (issue 25), on the
linear-Gaussian conditional model z ~ N(0, I), x = W z + V onehot(c) + b + sigma eps,
whose posterior given (x, c) and log p(x | c) are closed-form."""
import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

import keras_vae as kv
from helpers import _softplus_inverse, exact_posterior, linear_gaussian_vae, log_marginal_given_c, sample_conditional_linear
from keras_vae.evaluation import _common, optimized_q

K_CLASSES, SIGMA = 3, 0.5
rng = np.random.default_rng(0)
# Correlated columns: the best diagonal q leaves a mean-field gap (the same for every x and c).
W = np.array([[1.0, 0.8], [0.9, 1.1], [0.7, 0.6], [1.2, 0.9], [0.4, 0.6]])
DIM, LATENT = W.shape
V = rng.standard_normal((DIM, K_CLASSES)) * 2.0
B = np.array([0.1, -0.2, 0.3, 0.0, 0.2])
A_EXACT, COV = exact_posterior(W, SIGMA)
PRECISION = np.linalg.inv(COV)
MEAN_FIELD_GAP = 0.5 * (np.sum(np.log(np.diag(PRECISION))) - np.linalg.slogdet(PRECISION)[1])


def conditional_data(n, seed):
    return sample_conditional_linear(n, seed, W, V, B, SIGMA)


def exact_log_px_given_c(x, c):
    return log_marginal_given_c(x, c, W, V, B, SIGMA)


def exact_posterior_mean(x, c):
    return (x - V[:, c].T - B) @ A_EXACT.T


def poor_cvae(mean_factor, scales):
    """p(x | z, c) exact; q(z | x, c) = N(mean_factor * A x + const, diag(scales^2)): a
    poor encoder that ignores c (its condition weights are zero)."""
    vae = kv.VAE(encoder=kv.encoders.MLPEncoder([]), decoder=keras.layers.Identity(), latent_dim=LATENT,
                 input_shape=(DIM,), posterior=kv.posteriors.DiagonalGaussianPosterior(min_scale=1e-6),
                 likelihood=kv.likelihoods.Gaussian(scale=SIGMA), seed=0,
                 condition={"name": "one_hot", "num_classes": K_CLASSES})
    vae.likelihood_layer.projection.set_weights([np.concatenate([W.T, V.T]).astype("float32"), B.astype("float32")])
    kernel = np.zeros((DIM + K_CLASSES, 2 * LATENT))
    kernel[:DIM, :LATENT] = mean_factor * A_EXACT.T
    bias = np.concatenate([-mean_factor * A_EXACT @ B, _softplus_inverse(np.asarray(scales) - 1e-6)])
    vae.posterior_layer.projection.set_weights([kernel.astype("float32"), bias.astype("float32")])
    return vae


def test_the_optimized_elbo_given_c_reaches_the_mean_field_gap_from_a_poor_encoder():
    assert MEAN_FIELD_GAP > 0.3  # a visible gap, which a stuck optimizer (or an ignored c) would miss
    x, c = conditional_data(12, seed=5)
    vae = poor_cvae(1.0, 100.0 * np.sqrt(np.diag(COV)))  # scales 100x too broad, c ignored
    gaps = kv.evaluation.inference_gaps(vae, x, log_px=exact_log_px_given_c(x, c), condition=c, seed=0)
    assert gaps.num_unconverged == 0, gaps.steps
    assert abs(np.mean(gaps.approximation_gap) - MEAN_FIELD_GAP) < 0.05, (gaps.table(), MEAN_FIELD_GAP)
    assert np.all(np.abs(gaps.approximation_gap - MEAN_FIELD_GAP) < 0.25), gaps.approximation_gap
    assert np.mean(gaps.amortization_gap) > 5.0  # the 100x scales cost many nats


def test_gaps_given_c_take_log_p_x_given_c_from_ais():
    x, c = conditional_data(4, seed=6)
    vae = poor_cvae(0.4, [1.0, 0.25])
    with pytest.warns(RuntimeWarning, match="had not converged"):
        gaps = kv.evaluation.inference_gaps(vae, x, ais={"num_steps": 100, "num_chains": 8}, optimize_steps=100,
                                            condition=c, seed=0)
    assert abs(np.mean(gaps.log_px - exact_log_px_given_c(x, c))) < 0.15, gaps.log_px - exact_log_px_given_c(x, c)
    assert gaps.settings["log_px"] == "AIS T=100 C=8"


def test_shared_noise_scores_given_c_are_log_p_x_given_c_row_by_row():
    # q(z | x, c) with the exact posterior's mean and marginal scales: the
    # importance-sampled log p(x | c) is then close to the closed form at K = 2000.
    x, c = conditional_data(6, seed=4)
    vae = poor_cvae(1.0, np.sqrt(np.diag(COV)))
    kernel, bias = vae.posterior_layer.projection.get_weights()
    kernel[DIM:, :LATENT] = -(A_EXACT @ V).T
    vae.posterior_layer.projection.set_weights([kernel, bias])
    scores = kv.evaluation.anomaly_scores(vae, x, num_samples=2000, condition=c)
    np.testing.assert_allclose(scores, exact_log_px_given_c(x, c), atol=0.05)
    alone = kv.evaluation.anomaly_scores(vae, x[2:3], num_samples=2000, condition=c[2:3], batch_size=1)
    assert alone[0] == pytest.approx(scores[2], abs=1e-4)  # the same draws alone or in a batch
    other = kv.evaluation.anomaly_scores(vae, x, num_samples=2000, condition=(c + 1) % K_CLASSES)
    assert np.all(other < scores - 1.0)  # each row is scored under its own class


def test_hmc_given_c_matches_the_exact_posterior_and_q_given_c_does_not():
    x, c = conditional_data(4, seed=7)
    vae = poor_cvae(0.4, [1.0, 0.25])
    hmc = vae.posterior_samples(x, num_samples=1200, num_chains=4, num_burnin_steps=300, condition=c, seed=0)
    assert hmc.samples.shape == (4, 1200, LATENT) and hmc.max_r_hat() < 1.1  # strongly correlated posterior
    exact_mean = exact_posterior_mean(x, c)
    tolerance = 4 * np.sqrt(np.diag(COV) / hmc.effective_sample_size)
    assert np.all(np.abs(hmc.mean() - exact_mean) < tolerance), (hmc.mean() - exact_mean, tolerance)
    np.testing.assert_allclose(hmc.covariance().mean(0), COV, atol=0.025)
    # under another class each x has a posterior mean outside these tolerances: c is used
    other = (c + 1) % K_CLASSES
    assert np.all(np.max(np.abs(exact_posterior_mean(x, other) - exact_mean) / tolerance, axis=1) > 3)
    amortized = kv.evaluation.posterior_samples(vae, x, num_samples=2000, method="q", condition=c, seed=0)
    np.testing.assert_allclose(amortized.mean(), (x - B) @ (0.4 * A_EXACT).T, atol=0.08)
    np.testing.assert_allclose(amortized.covariance().mean(0), np.diag([1.0, 0.0625]), atol=0.05)


def _cached(vae) -> bool:
    return vae in optimized_q._OPTIMIZERS or vae in _common._TRACED


@pytest.mark.parametrize("call", [
    lambda vae, x, c: kv.evaluation.inference_gaps(vae, x, log_px=np.zeros(len(x)), **c),
    lambda vae, x, c: kv.evaluation.optimized_elbo(vae, x, **c),
    lambda vae, x, c: kv.evaluation.posterior_samples(vae, x, num_samples=8, **c),
    lambda vae, x, c: kv.evaluation.posterior_samples(vae, x, num_samples=8, method="q", **c),
    lambda vae, x, c: kv.evaluation.anomaly_scores(vae, x, num_samples=4, **c),
    lambda vae, x, c: kv.evaluation.estimates_vs_cost(vae, x, iwae_samples=(2,), ais_steps=(2,), **c),
], ids=["inference_gaps", "optimized_elbo", "posterior_samples", "posterior_samples_q", "anomaly_scores",
        "estimates_vs_cost"])
def test_a_missing_wrong_or_extra_condition_is_refused_before_anything_runs(call):
    x, c = conditional_data(4, seed=8)
    vae = poor_cvae(0.4, [1.0, 0.25])
    bad = [
        ({}, "is conditioned \\(OneHot\\): give .*condition=c"),
        ({"condition": c[:3]}, "holds 3 conditions for 4 examples"),
        ({"condition": np.array([0, 1, 2, 3])}, "num_classes|outside|range"),
        ({"condition": tf.data.Dataset.from_tensor_slices(c).batch(2)}, "takes arrays"),
    ]
    for kwargs, message in bad:
        with pytest.raises(ValueError, match=message):
            call(vae, x, kwargs)
    plain = linear_gaussian_vae(W, B, SIGMA)
    with pytest.raises(ValueError, match="has no condition, but .* was given condition="):
        call(plain, x, {"condition": c})
    assert not _cached(vae) and not _cached(plain)


def test_kl_diagnostics_take_each_examples_condition():
    # q(z | x, c) = N(A (x - b) + U[c], diag(s^2)) against N(0, I): the KL per
    # dimension and the activity Var(E[z | x, c]) are closed-form; U makes c matter.
    x, c = conditional_data(40, seed=9)
    scales = np.array([0.6, 0.3])
    vae = poor_cvae(1.0, scales)
    kernel, bias = vae.posterior_layer.projection.get_weights()
    U = np.array([[2.0, -1.0], [0.0, 1.5], [-2.0, 0.5]])
    kernel[DIM:, :LATENT] = U
    vae.posterior_layer.projection.set_weights([kernel, bias])
    mu = (x - B) @ A_EXACT.T + U[c]
    expected = np.mean(0.5 * (scales**2 + mu**2 - 1) - np.log(scales), axis=0)
    np.testing.assert_allclose(vae.kl_per_dimension(x, condition=c, batch_size=16), expected, rtol=1e-4)
    np.testing.assert_allclose(vae.kl_per_dimension({"x": x, "condition": c}), expected, rtol=1e-4)
    units, activity = kv.evaluation.active_units(vae, x, condition=c, batch_size=16, return_activity=True)
    np.testing.assert_allclose(activity, np.var(mu, axis=0), rtol=1e-4)
    assert units == 2
    report = kv.evaluation.check_posterior_collapse(vae, x, condition=c, warn=False)
    assert report["kl_total"] == pytest.approx(expected.sum(), rel=1e-4) and not report["collapsed"]
    for call, match in [
        (lambda: vae.kl_per_dimension(x), "give kl_per_dimension"),
        (lambda: vae.active_units(x, condition=c[:-1]), "39 conditions for 40"),
        (lambda: kv.evaluation.active_units(vae, x, condition=np.full(40, 3)), r"\[0, 3\)"),
        (lambda: vae.kl_per_dimension({"x": x, "condition": c}, condition=c), "given twice"),
        (lambda: kv.evaluation.kl_per_dimension(kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(DIM,)), x,
                                                condition=c), "has no condition"),
    ]:
        with pytest.raises(ValueError, match=match):
            call()


def test_kl_per_dimension_is_against_the_conditional_prior():
    x, c = conditional_data(20, seed=3)
    vae = kv.VAE("mlp", "mlp", latent_dim=LATENT, input_shape=(DIM,), likelihood="gaussian", seed=0,
                 prior="conditional_gaussian", condition={"name": "one_hot", "num_classes": K_CLASSES})
    for weight in vae.prior_layer.weights:  # a prior that moves with c (its init may be flat)
        weight.assign(np.random.default_rng(1).normal(size=weight.shape).astype("float32"))
    total = tfp.distributions.kl_divergence(vae.posterior(x, condition=c), vae.prior(condition=c)).numpy().mean()
    assert vae.kl_per_dimension(x, condition=c, batch_size=7).sum() == pytest.approx(total, rel=1e-4)
    shuffled = vae.kl_per_dimension(x, condition=np.roll(c, 1), batch_size=7).sum()
    assert abs(shuffled - total) > 1e-2  # the prior's c is each example's own
