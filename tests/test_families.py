"""The model families on the wider contract: objectives, priors and posteriors,
checked against the linear-Gaussian model's closed forms and against sampling."""
import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

import keras_vae as kv
from helpers import exact_posterior, linear_gaussian_vae, log_marginal, sample_data

SIGMA = 0.5
# Correlated columns: a trained decoder could rotate W until W^T W is diagonal and
# hide the mean-field gap, so the decoder is held fixed at this W.
W = np.array([[1.0, 0.8], [0.9, 1.1], [0.7, 0.6], [1.2, 0.9], [0.4, 0.6]])
B = np.array([0.1, -0.2, 0.3, 0.0, 0.2])


def _fixed_decoder_vae(posterior):
    vae = linear_gaussian_vae(W, B, sigma=SIGMA)
    fitted = kv.VAE(
        encoder=kv.encoders.MLPEncoder([]),
        decoder=keras.layers.Identity(),
        latent_dim=2,
        input_shape=(5,),
        posterior=posterior,
        likelihood=kv.likelihoods.Gaussian(scale=SIGMA),
        objective={"name": "elbo", "num_samples": 8},
        seed=3,
    )
    fitted.likelihood_layer.set_weights(vae.likelihood_layer.get_weights())
    fitted.likelihood_layer.trainable = False
    return fitted


def _fit_gap(posterior, x):
    keras.utils.set_random_seed(0)  # the initial weights
    vae = _fixed_decoder_vae(posterior)
    vae.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(3e-2, 500, 0.5)))
    # 1,600 steps of 250: 25 passes over the data repeated 8 times (the same steps as
    # 200 epochs, with an eighth of Keras' per-epoch overhead).
    vae.fit(np.tile(x, (8, 1)), epochs=25, batch_size=250, verbose=0)
    elbo = np.mean(vae.elbo(x, seed=0, num_samples=64).numpy())
    return float(np.mean(log_marginal(x, W, B, SIGMA)) - elbo)


@pytest.mark.slow
def test_full_gaussian_closes_the_gap_and_diagonal_leaves_the_mean_field_gap():
    x = sample_data(W, B, 2000, seed=1, sigma=SIGMA)
    precision = np.eye(2) + W.T @ W / SIGMA**2
    mean_field_gap = 0.5 * (np.sum(np.log(np.diag(precision))) - np.linalg.slogdet(precision)[1])
    assert mean_field_gap > 0.1  # the test is only meaningful for a visible gap
    full_gap = _fit_gap("full_gaussian", x)
    diagonal_gap = _fit_gap("diagonal_gaussian", x)
    assert abs(full_gap) < 0.02, full_gap
    assert diagonal_gap == pytest.approx(mean_field_gap, abs=0.02)


def test_iwae_bound_rises_with_k_towards_log_px_and_k1_is_the_elbo():
    # A diagonal posterior for a correlated posterior: the gap IWAE closes.
    vae = linear_gaussian_vae(W, B, sigma=SIGMA)
    x = tf.constant(sample_data(W, B, 1000, seed=2, sigma=SIGMA))
    exact = float(np.mean(log_marginal(x.numpy(), W, B, SIGMA)))
    bounds = []
    for k in (1, 2, 5, 20, 100):
        terms = vae.terms(x, num_samples=k, seed=k)
        _, values = kv.objectives.IWAE(num_samples=k)(terms)
        bounds.append(float(tf.reduce_mean(values["iwae_bound"])))
    assert all(b2 >= b1 - 0.01 for b1, b2 in zip(bounds, bounds[1:])), bounds
    assert bounds[-1] <= exact + 0.01 and exact - bounds[-1] < 0.25 * (exact - bounds[0]), (bounds, exact)

    terms = vae.terms(x, num_samples=1, seed=0)
    iwae_loss, _ = kv.objectives.IWAE(num_samples=1)(terms)
    terms.kl_method = "mc"
    elbo_loss, _ = kv.objectives.ELBO()(terms)
    np.testing.assert_allclose(iwae_loss.numpy(), elbo_loss.numpy(), rtol=1e-5, atol=1e-5)


def test_dreg_changes_the_gradient_not_the_loss():
    vae = linear_gaussian_vae(W, B, sigma=SIGMA)
    x = tf.constant(sample_data(W, B, 64, seed=3, sigma=SIGMA))
    losses, grads = {}, {}
    for gradient in ("standard", "dreg"):
        with tf.GradientTape() as tape:
            terms = vae.terms(x, num_samples=8, seed=5)
            loss, _ = kv.objectives.IWAE(8, gradient=gradient)(terms)
            loss = tf.reduce_mean(loss)
        losses[gradient] = float(loss)
        grads[gradient] = tape.gradient(loss, vae.posterior_layer.trainable_weights)
    assert losses["dreg"] == pytest.approx(losses["standard"], rel=1e-6)
    assert all(g is not None for g in grads["dreg"])
    assert not np.allclose(grads["dreg"][0].numpy(), grads["standard"][0].numpy())


def test_dreg_gradient_is_unbiased_for_the_decoder():
    """The decoder gradient of DReG equals the standard IWAE's (same samples)."""
    vae = linear_gaussian_vae(W, B, sigma=SIGMA)
    x = tf.constant(sample_data(W, B, 32, seed=4, sigma=SIGMA))
    grads = {}
    for gradient in ("standard", "dreg"):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(kv.objectives.IWAE(4, gradient=gradient)(vae.terms(x, 4, seed=9))[0])
        grads[gradient] = tape.gradient(loss, vae.likelihood_layer.trainable_weights)
    for a, b in zip(grads["standard"], grads["dreg"]):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-4, atol=1e-5)


def _random_iaf(latent=3, seed=0):
    head = kv.posteriors.IAFPosterior(latent_dim=latent, num_flows=2, hidden_units=[8], context_size=2)
    head.build((None, 4))
    rng = np.random.default_rng(seed)
    # Zero-initialised flows are the identity; random weights make a real flow.
    head.set_weights([0.3 * rng.standard_normal(w.shape).astype("float32") for w in head.get_weights()])
    return head


def test_iaf_log_prob_is_the_base_density_minus_the_log_determinant():
    head = _random_iaf()
    params = head(tf.constant(np.random.default_rng(1).standard_normal((5, 4)), tf.float32))
    q = head.distribution(params)
    loc, scale, context = head._split(params)
    base = tfp.distributions.Normal(loc, scale)
    z0 = base.sample(seed=[1, 2])
    bijector = head._bijector(context)
    with tf.GradientTape() as tape:
        tape.watch(z0)
        z = bijector.forward(z0)
    jacobian = tape.batch_jacobian(z, z0)  # [5, 3, 3], independent of TFP's log-det
    _, log_det = np.linalg.slogdet(jacobian.numpy().astype(np.float64))
    expected = np.sum(base.log_prob(z0).numpy(), axis=-1) - log_det
    # A fresh tensor: TFP cannot use its cache and inverts the flow.
    np.testing.assert_allclose(q.log_prob(tf.constant(z.numpy())).numpy(), expected, rtol=1e-4, atol=1e-4)
    # And point() is the flow at the base mean.
    np.testing.assert_allclose(head.point(params).numpy(), bijector.forward(loc).numpy(), atol=1e-6)


def test_iaf_samples_are_reparameterized():
    head = _random_iaf()
    features = tf.constant(np.ones((4, 4)), tf.float32)
    with tf.GradientTape() as tape:
        z = head.distribution(head(features)).sample(seed=[3, 4])
        target = tf.reduce_sum(z**2)
    grads = tape.gradient(target, head.trainable_weights)
    assert all(g is not None and np.any(g.numpy() != 0) for g in grads), [w.path for w in head.trainable_weights]


def test_full_gaussian_kl_to_the_standard_normal_is_analytic():
    head = kv.posteriors.FullGaussianPosterior(latent_dim=2)
    q = head.distribution(head(tf.ones((3, 4))))
    p = kv.priors.StandardNormal(latent_dim=2).distribution()
    analytic = kv.objectives.kl_divergence(q, p, method="analytic").numpy()
    z = q.sample(20000, seed=[0, 1])
    mc = np.mean((q.log_prob(z) - p.log_prob(z)).numpy(), axis=0)
    np.testing.assert_allclose(analytic, mc, atol=0.05)


def test_vamp_prior_is_the_mixture_of_posteriors_at_its_pseudo_inputs():
    vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(4,), seed=0,
                 prior={"name": "vamp", "num_pseudo_inputs": 3})
    u = vae.prior_layer.inputs()
    z = tf.constant(np.random.default_rng(0).standard_normal((6, 2)), tf.float32)
    per_component = vae.posterior(u).log_prob(z[:, None, :])  # [6, 3]
    expected = tf.reduce_logsumexp(per_component, axis=1) - np.log(3.0)
    np.testing.assert_allclose(vae.prior().log_prob(z).numpy(), expected.numpy(), rtol=1e-5)
    # The encoder is stored once: the prior owns only its pseudo-inputs.
    assert [w.path.split("/")[-1] for w in vae.prior_layer.weights] == ["pseudo_inputs"]


def test_an_objective_that_misses_a_declared_metric_is_refused():
    class Broken(kv.objectives.Objective):
        metric_names = ("elbo",)

        def __call__(self, terms):
            return -terms.reconstruction(), {}

    vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(4,), objective=Broken(), seed=0)
    vae.compile(optimizer="adam")
    with pytest.raises(ValueError, match="returned no value for"):
        vae.fit(np.full((8, 4), 0.5, "float32"), verbose=0)


def test_objective_arguments_are_checked():
    with pytest.raises(ValueError, match="num_samples must be an integer >= 1"):
        kv.objectives.IWAE(num_samples=0)
    with pytest.raises(ValueError, match="gradient must be one of"):
        kv.objectives.IWAE(gradient="reinforce")
    with pytest.raises(ValueError, match="VampPrior is built from the model's posterior"):
        kv.priors.VampPrior(latent_dim=2, data_shape=(3,)).distribution()
