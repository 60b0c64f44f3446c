"""Conditional VAEs: the condition as an input of the model (issue 25)."""
import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_vae as kv
from helpers import LINEAR_SIGMA, _softplus_inverse, exact_posterior, log_marginal_given_c, sample_conditional_linear

K_CLASSES, DIM, LATENT = 3, 4, 2
rng = np.random.default_rng(0)
# Orthogonal columns: the exact posterior covariance is diagonal, so the diagonal
# Gaussian posterior can be exact.
W = np.linalg.qr(rng.standard_normal((DIM, LATENT)))[0] * np.array([1.5, 0.8])
V = rng.standard_normal((DIM, K_CLASSES)) * 2.0
B = rng.standard_normal(DIM) * 0.5


def conditional_data(n, seed):
    return sample_conditional_linear(n, seed, W, V, B, LINEAR_SIGMA)


def exact_log_px_given_c(x, c):
    return log_marginal_given_c(x, c, W, V, B, LINEAR_SIGMA)


def linear_cvae(scale_factor=1.0):
    """p(x | z, c) = N(W z + V onehot(c) + b, sigma^2 I); q(z | x, c) the exact posterior
    (its scales times ``scale_factor``)."""
    vae = kv.VAE(encoder=kv.encoders.MLPEncoder([]), decoder=keras.layers.Identity(), latent_dim=LATENT,
                 input_shape=(DIM,), posterior=kv.posteriors.DiagonalGaussianPosterior(min_scale=1e-6),
                 likelihood=kv.likelihoods.Gaussian(scale=LINEAR_SIGMA), seed=0,
                 condition={"name": "one_hot", "num_classes": K_CLASSES})
    A, cov = exact_posterior(W)
    vae.likelihood_layer.projection.set_weights(
        [np.concatenate([W.T, V.T]).astype("float32"), B.astype("float32")])
    scales = np.sqrt(np.diag(cov)) * scale_factor
    kernel = np.zeros((DIM + K_CLASSES, 2 * LATENT))
    kernel[:DIM, :LATENT] = A.T
    kernel[DIM:, :LATENT] = -(A @ V).T
    bias = np.concatenate([-A @ B, _softplus_inverse(scales - 1e-6)])
    vae.posterior_layer.projection.set_weights([kernel.astype("float32"), bias.astype("float32")])
    return vae


def test_log_likelihood_given_c_matches_the_closed_form_and_bounds_the_elbo():
    x, c = conditional_data(32, seed=1)
    exact = exact_log_px_given_c(x, c)
    vae = linear_cvae()
    # q is the exact posterior: every importance weight equals p(x | c).
    np.testing.assert_allclose(vae.log_likelihood(x, condition=c, num_samples=16), exact, atol=2e-3)
    broad = linear_cvae(scale_factor=1.6)
    estimate = broad.log_likelihood({"x": x, "condition": c}, num_samples=4000, seed=3)
    assert abs(np.mean(estimate - exact)) < 0.02 and np.max(np.abs(estimate - exact)) < 0.1
    elbo = broad.elbo(x, condition=c, num_samples=200, seed=0).numpy()
    assert np.all(elbo < exact + 0.05) and np.mean(exact - elbo) > 0.05


def test_a_cvae_trained_on_samples_reaches_the_held_out_exact_log_likelihood():
    x, c = conditional_data(4000, seed=2)
    x_test, c_test = conditional_data(500, seed=3)
    keras.utils.set_random_seed(0)
    vae = kv.VAE(encoder=kv.encoders.MLPEncoder([]), decoder=keras.layers.Identity(), latent_dim=LATENT,
                 input_shape=(DIM,), likelihood={"name": "gaussian", "scale": "shared"}, seed=0,
                 condition={"name": "one_hot", "num_classes": K_CLASSES})
    vae.compile(optimizer=keras.optimizers.Adam(3e-2))
    vae.fit({"x": x, "condition": c}, batch_size=200, epochs=60, verbose=0)
    estimate = vae.log_likelihood(x_test, condition=c_test, num_samples=500, seed=0)
    gap = np.mean(exact_log_px_given_c(x_test, c_test)) - np.mean(estimate)
    assert abs(gap) < 0.1, gap


@pytest.mark.xla  # the default path (XLA on a CPU) for this family
def test_conditional_prior_samples_save_and_resume_exactly(tmp_path):
    x, c = conditional_data(64, seed=4)
    vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(DIM,), likelihood="gaussian", seed=0,
                 condition={"name": "one_hot", "num_classes": K_CLASSES}, prior="conditional_gaussian")
    vae.compile(optimizer="adam")
    vae.fit({"x": x, "condition": c}, batch_size=16, epochs=1, verbose=0)
    assert vae.prior(condition=c[:5]).batch_shape == (5,)
    assert vae.sample(6, condition=2, seed=0).shape == (6, DIM)
    np.testing.assert_array_equal(vae.sample(3, condition=[0, 1, 2], seed=1), vae.sample(3, condition=[0, 1, 2], seed=1))
    vae.save(tmp_path / "cvae.keras")
    loaded = kv.load_model(tmp_path / "cvae.keras")
    assert loaded.condition_layer.num_classes == K_CLASSES
    for model in (vae, loaded):
        model.fit({"x": x, "condition": c}, batch_size=16, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(vae.weights, loaded.weights):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)


def test_tf_data_of_dicts_and_sample_weights_train():
    x, c = conditional_data(64, seed=5)
    vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(DIM,), likelihood="gaussian", seed=0,
                 condition={"name": "vector", "shape": (1,)})
    vae.compile(optimizer="adam")
    cov = c[:, None].astype("float32")
    ds = tf.data.Dataset.from_tensor_slices({"x": x, "condition": cov}).batch(16)
    assert np.isfinite(vae.fit(ds, epochs=1, verbose=0).history["loss"][-1])
    weights = np.ones(64, "float32")
    vae.fit({"x": x, "condition": cov}, sample_weight=weights, batch_size=16, epochs=1, verbose=0)
    assert vae.encode(x[:2], condition=cov[:2]).shape == (2, 2)


@pytest.mark.parametrize("call, message", [
    (lambda m, x, c: m.fit(x, verbose=0), "is conditioned: give x as"),
    (lambda m, x, c: m.fit({"x": x, "condition": c + 5}, verbose=0), r"label \d+, outside \[0, 3\)"),
    (lambda m, x, c: m.fit({"x": x, "condition": c[:3]}, verbose=0), "3 conditions for 64 examples"),
    (lambda m, x, c: m.fit({"x": x, "condition": c * 0.5}, verbose=0), "integer class labels"),
    (lambda m, x, c: m.fit({"x": x, "cond": c}, verbose=0), "got keys"),
    (lambda m, x, c: m.encode(x[:2]), "give the condition"),
    (lambda m, x, c: m.sample(2), "give the condition"),
    (lambda m, x, c: m.decode(np.zeros((4, 2), "float32"), condition=c[:2]), "2 conditions for 4 examples"),
    (lambda m, x, c: m.interpolate(x[:2], x[2:4], condition=c[:3]), "3 conditions for 2 examples"),
])
def test_bad_conditions_are_refused_before_any_state_changes(call, message):
    x, c = conditional_data(64, seed=6)
    vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(DIM,), likelihood="gaussian", seed=0,
                 condition={"name": "one_hot", "num_classes": K_CLASSES})
    vae.compile(optimizer="adam")
    before = [np.asarray(w).copy() for w in vae.weights]
    with pytest.raises(ValueError, match=message):
        call(vae, x, c)
    assert int(vae.optimizer.iterations.numpy()) == 0
    for a, b in zip(before, vae.weights):
        np.testing.assert_array_equal(a, np.asarray(b))


def test_nan_in_a_condition_and_a_condition_for_an_unconditioned_model_are_refused():
    x, _ = conditional_data(8, seed=7)
    vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(DIM,), likelihood="gaussian", seed=0,
                 condition={"name": "vector", "shape": (2,)})
    with pytest.raises(ValueError, match="NaN"):
        vae.encode(x, condition=np.full((8, 2), np.nan))
    vae.compile(optimizer="adam")
    with pytest.raises(ValueError, match="NaN"):
        vae.fit({"x": x, "condition": np.full((8, 2), np.nan)}, epochs=1, verbose=0)
    assert int(vae.optimizer.iterations.numpy()) == 0
    plain = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(DIM,), likelihood="gaussian", seed=0)
    with pytest.raises(ValueError, match="has no condition"):
        plain.encode(x, condition=np.zeros(8))
    plain.compile(optimizer="adam")
    before = [np.asarray(w).copy() for w in plain.weights]
    with pytest.raises(ValueError, match="has no condition"):
        plain.fit({"x": x, "condition": np.zeros(8)}, epochs=1, verbose=0)
    assert int(plain.optimizer.iterations.numpy()) == 0
    for a, b in zip(before, plain.weights):
        np.testing.assert_array_equal(a, np.asarray(b))
    with pytest.raises(ValueError, match="p\\(z \\| c\\)"):
        kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(DIM,), prior="conditional_gaussian")


def test_ais_given_c_matches_the_closed_form_from_a_poor_encoder():
    x, c = conditional_data(16, seed=4)
    exact = exact_log_px_given_c(x, c)
    poor = linear_cvae(scale_factor=100.0)  # q(z | x, c) 100x too broad: AIS from the prior ignores it
    estimate = poor.log_likelihood(x, condition=c, method="ais", num_steps=300, num_chains=16, seed=0)
    assert abs(np.mean(estimate - exact)) < 0.05 and np.max(np.abs(estimate - exact)) < 0.3
    with pytest.raises(ValueError, match="is conditioned"):
        poor.log_likelihood(x, method="ais", num_steps=10)


def test_the_saved_model_of_a_conditioned_model_serves_its_numbers(tmp_path):
    x, c = conditional_data(6, seed=8)
    for prior in ("standard_normal", "conditional_gaussian"):
        vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(DIM,), likelihood="gaussian", seed=0,
                     prior=prior, condition={"name": "one_hot", "num_classes": K_CLASSES})
        vae.compile(optimizer="adam")
        vae.fit({"x": x, "condition": c}, epochs=1, verbose=0)
        served = tf.saved_model.load(vae.export(str(tmp_path / prior)))
        feed = {"x": tf.constant(x), "condition": tf.constant(c, tf.int32)}
        np.testing.assert_allclose(served.signatures["encode"](**feed)["mean"],
                                   vae.encode(x, condition=c), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(served.signatures["reconstruct"](**feed)["reconstruction"],
                                   vae.reconstruct(x, condition=c), rtol=1e-5, atol=1e-6)
        rows = served.signatures["sample"](seed=tf.constant([3, 4], tf.int64),
                                           condition=tf.constant([1, 2], tf.int32))["x"].numpy()
        for row, seed, label in zip(rows, (3, 4), (1, 2)):
            np.testing.assert_allclose(row, vae.sample(1, seed=seed, condition=[label])[0], rtol=1e-5, atol=1e-6)
        scores = served.signatures["score"](**feed)
        assert np.all(np.isfinite(scores["log_px"])) and scores["log_px"].shape == (6,)
        with pytest.raises(Exception):  # a label outside [0, K) is refused by the served graph too
            served.signatures["encode"](x=tf.constant(x[:1]), condition=tf.constant([7], tf.int32))
        z = vae.encode(x, condition=c)
        np.testing.assert_allclose(served.signatures["decode"](z=z, condition=tf.constant(c, tf.int32))["x_mean"],
                                   vae.decode(z, condition=c), rtol=1e-5, atol=1e-6)
        with pytest.raises(Exception, match="one condition per row"):  # not tiled over the rows
            served.signatures["decode"](z=z, condition=tf.constant(c[:2], tf.int32))


def test_interpolation_and_traversal_are_taken_at_a_fixed_condition():
    """Both endpoints are encoded, and every point decoded, with the path's condition."""
    x, c = conditional_data(4, seed=9)
    vae = linear_cvae()
    frames, z = vae.interpolate(x[:2], x[2:], steps=5, condition=c[:2], return_latents=True)
    assert frames.shape == (2, 5, DIM)
    np.testing.assert_allclose(z[:, 0], vae.encode(x[:2], condition=c[:2]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(z[:, -1], vae.encode(x[2:], condition=c[:2]), rtol=1e-5, atol=1e-6)
    for path in range(2):
        np.testing.assert_allclose(frames[path], vae.decode(z[path], condition=np.full(5, c[path])),
                                   rtol=1e-5, atol=1e-5)
    # One condition for all: the same as giving it to every path.
    single = vae.interpolate(x[0], x[1], steps=3, condition=2)
    np.testing.assert_allclose(single, vae.interpolate(x[:1], x[1:2], steps=3, condition=[2])[0], rtol=1e-6)
    row, codes = vae.traverse(x[0], dim=1, values=[-1.0, 0.0, 1.0], condition=1, return_latents=True)
    np.testing.assert_allclose(row, vae.decode(codes, condition=np.ones(3, int)), rtol=1e-5, atol=1e-5)
    assert not np.allclose(row, vae.traverse(x[0], dim=1, values=[-1.0, 0.0, 1.0], condition=2))
    with pytest.raises(ValueError, match="give traverse"):
        vae.traverse(x[0], dim=1)


@pytest.mark.parametrize("condition, values, message", [
    ({"name": "one_hot", "num_classes": 3}, np.full(64, 5, "int32"), "label is >= num_classes"),
    ({"name": "one_hot", "num_classes": 3}, np.full(64, -1, "int32"), "label is negative"),
    ({"name": "vector", "shape": (2,)}, np.full((64, 2), np.nan, "float32"), "NaN or inf"),
])
def test_bad_conditions_from_tf_data_are_refused_in_the_step_before_any_update(condition, values, message):
    """A tf.data batch is checked inside the step, before the update it guards."""
    x, _ = conditional_data(64, seed=10)
    vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(DIM,), likelihood="gaussian", seed=0, condition=condition)
    vae.compile(optimizer="adam")
    before = [np.asarray(w).copy() for w in vae.weights]
    ds = tf.data.Dataset.from_tensor_slices({"x": x, "condition": values}).batch(16)
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        vae.fit(ds, epochs=1, verbose=0)
    assert int(vae.optimizer.iterations.numpy()) == 0
    for a, b in zip(before, vae.weights):
        np.testing.assert_array_equal(a, np.asarray(b))


@pytest.mark.parametrize("parts", [
    {"objective": {"name": "iwae", "num_samples": 3}},
    {"prior": "learned_gaussian"},
    {"prior": {"name": "mixture", "num_components": 3}},
    {"encoder": "conv", "decoder": "conv"},  # the condition joins the conv body's features, and z
    {"likelihood": "zero_inflated_negative_binomial", "condition": {"name": "vector", "shape": (2,)}},
])
def test_more_objectives_priors_bodies_and_likelihoods_take_a_condition(parts):
    """Each trains given the condition, and the condition changes what it decodes."""
    parts = dict(parts)
    condition = parts.pop("condition", {"name": "one_hot", "num_classes": K_CLASSES})
    counts = "negative_binomial" in parts.get("likelihood", "")
    shape = (8, 8, 1) if parts.get("encoder") == "conv" else (DIM,)
    r = np.random.default_rng(11)
    x = (r.poisson(3.0, (48, *shape)) if counts else r.uniform(0, 1, (48, *shape))).astype("float32")
    c = r.normal(size=(48, 2)).astype("float32") if condition["name"] == "vector" else r.integers(0, K_CLASSES, 48)
    vae = kv.VAE(**{"encoder": "mlp", "decoder": "mlp", "likelihood": "bernoulli", **parts},
                 latent_dim=2, input_shape=shape, seed=0, condition=condition)
    vae.compile(optimizer="adam", jit_compile=False)  # XLA's compile would cost more than the fit
    history = vae.fit({"x": x, "condition": c}, batch_size=16, epochs=2, verbose=0).history
    assert np.all(np.isfinite(history["loss"]))
    two = np.array([[0, 0], [1, 1]], "float32") if condition["name"] == "vector" else np.array([0, 1])
    decoded = np.asarray(vae.decode(np.zeros((2, 2), "float32"), condition=two))  # same z, two conditions
    assert np.all(np.isfinite(decoded)) and not np.allclose(decoded[0], decoded[1])


def test_samples_drawn_for_a_label_are_of_that_label():
    """The issue's check in miniature: three well-separated classes, a 1-D latent (so
    the label, not z, carries the class); each label's draws lie nearest its own
    class centre (benchmarks/conditional_samples.py is the MNIST version)."""
    r = np.random.default_rng(12)
    centres = r.normal(0, 4.0, (K_CLASSES, 6))
    labels = r.integers(0, K_CLASSES, 600)
    x = (centres[labels] + r.normal(0, 0.5, (600, 6))).astype("float32")
    vae = kv.VAE("mlp", "mlp", latent_dim=1, input_shape=(6,), likelihood="gaussian", seed=0,
                 condition={"name": "one_hot", "num_classes": K_CLASSES})
    vae.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=False)
    vae.fit({"x": x, "condition": labels}, batch_size=60, epochs=30, verbose=0)
    asked = np.repeat(np.arange(K_CLASSES), 100)
    drawn = vae.sample(len(asked), condition=asked, seed=0).numpy()
    nearest = np.argmin(((drawn[:, None] - centres[None]) ** 2).sum(-1), axis=1)
    accuracy = [np.mean(nearest[asked == k] == k) for k in range(K_CLASSES)]
    assert min(accuracy) >= 0.9, accuracy


def test_the_vamp_prior_beside_a_conditioned_encoder_and_decoder(tmp_path):
    """An unconditional prior p(z) = mean_k q(z | u_k): the pseudo-inputs are encoded
    with the null condition, so the prior is the same for every c, trains, bounds,
    samples per label and saves."""
    x, c = conditional_data(64, seed=13)
    vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(DIM,), likelihood="gaussian", seed=0,
                 prior={"name": "vamp", "num_pseudo_inputs": 5}, condition={"name": "one_hot", "num_classes": K_CLASSES})
    vae.compile(optimizer="adam", jit_compile=False)
    history = vae.fit({"x": x, "condition": c}, batch_size=16, epochs=2, verbose=0).history
    assert np.all(np.isfinite(history["loss"]))
    prior = vae.prior()
    assert list(prior.event_shape) == [2] and list(prior.batch_shape) == []
    ll = vae.log_likelihood(x[:8], condition=c[:8], num_samples=200, seed=0)
    assert np.all(np.isfinite(ll)) and np.all(ll >= vae.elbo(x[:8], condition=c[:8], seed=0).numpy() - 0.5)
    assert vae.sample(3, condition=[0, 1, 2], seed=0).shape == (3, DIM)
    vae.save(tmp_path / "vamp.keras")
    loaded = kv.load_model(tmp_path / "vamp.keras")
    np.testing.assert_allclose(loaded.elbo(x, condition=c, seed=1), vae.elbo(x, condition=c, seed=1), rtol=1e-5)
