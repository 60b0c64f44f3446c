"""Free bits change the loss and the gradient exactly as their formulas say.

Whole latent (``free_bits_mode="total"``), per example: ``R_b = max(KL_b, lambda)``.
Per dimension (Kingma et al., 2016): the batch loss is
``mean_b(-rec_b) + beta * sum_i max(mean_b KL_bi, lambda)``.

The KLs the expected values are built from are the closed form for a diagonal
Gaussian against N(0, I), in numpy, from q's mean and standard deviation: nothing
here reads the objective's own KL terms.
"""
import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_vae as kv
from keras_vae import testing

LATENT = 4
BETA = 1.5


@pytest.fixture(scope="module")
def setup():
    vae = kv.VAE({"name": "mlp", "hidden_units": [12]}, {"name": "mlp", "hidden_units": [12]},
                 latent_dim=LATENT, input_shape=(6,), seed=3)
    # Spread the KL over examples and dimensions: dimension i's mean is pushed
    # away from 0 by i nats' worth, its scale shrunk, so each dimension has its own KL.
    kernel, bias = vae.posterior_layer.projection.get_weights()
    bias[:LATENT] = [0.0, 0.6, 1.2, 2.0]
    bias[LATENT:] = [0.5, 0.0, -0.5, -1.0]
    vae.posterior_layer.projection.set_weights([kernel * 3.0, bias])
    x = np.random.default_rng(0).integers(0, 2, (16, 6)).astype("float32")
    return vae, x


def _closed_form_kl(vae, x):
    """KL(q(z_i|x_b) || N(0, 1)) per example and dimension, [B, L], numpy float64."""
    q = vae.posterior(x)
    mean, std = q.mean().numpy().astype(np.float64), q.stddev().numpy().astype(np.float64)
    return 0.5 * (mean**2 + std**2 - 1.0 - 2.0 * np.log(std))


def _loss_and_grads(vae, x, objective, surrogate=None):
    """The objective's per-example loss and the gradient of its batch mean (or of
    ``surrogate(terms)``'s batch mean) for one fixed draw."""
    with tf.GradientTape() as tape:
        terms = vae.terms(x, num_samples=1, seed=tf.constant([1, 2]), training=True)
        loss, _ = objective(terms)
        target = tf.reduce_mean(loss if surrogate is None else surrogate(terms))
    grads = tape.gradient(target, vae.trainable_weights)
    return loss.numpy(), terms.reconstruction().numpy(), grads


def _assert_same_grads(got, want):
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-5, atol=1e-6, err_msg=f"weight {i}")


def _weights_paths(vae):
    return [w.path for w in vae.trainable_weights]


def _grads_close(a, b):
    return all(np.allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-6) for x, y in zip(a, b))


def test_the_fixture_spreads_the_kl(setup):
    vae, x = setup
    kl = _closed_form_kl(vae, x)
    assert np.ptp(kl.sum(1)) > 1.0 and np.ptp(kl.mean(0)) > 1.0


# ------------------------------------------------------------------- whole latent
def test_total_free_bits_loss_is_minus_reconstruction_plus_beta_max_kl_lambda(setup):
    vae, x = setup
    kl = _closed_form_kl(vae, x).sum(1)
    lam = float(np.median(kl))  # half the examples below the floor, half above
    loss, rec, _ = _loss_and_grads(vae, x, kv.objectives.ELBO(beta=BETA, free_bits=lam))
    np.testing.assert_allclose(loss, -rec + BETA * np.maximum(kl, lam), rtol=1e-5, atol=1e-5)
    assert (kl < lam).any() and (kl > lam).any()


def test_total_free_bits_gradient_drops_the_kl_of_examples_below_the_floor(setup):
    vae, x = setup
    kl = _closed_form_kl(vae, x).sum(1)
    lam = float(np.median(kl))
    above = tf.constant(kl > lam, tf.float32)
    _, _, got = _loss_and_grads(vae, x, kv.objectives.ELBO(beta=BETA, free_bits=lam))
    _, _, want = _loss_and_grads(
        vae, x, kv.objectives.ELBO(beta=BETA),
        surrogate=lambda t: -t.reconstruction() + BETA * above * t.kl(),
    )
    _assert_same_grads(got, want)
    _, _, plain = _loss_and_grads(vae, x, kv.objectives.ELBO(beta=BETA))
    assert not _grads_close(got, plain)  # the floor did change the gradient


def test_total_free_bits_over_every_kl_leaves_only_the_reconstruction_gradient(setup):
    vae, x = setup
    lam = float(_closed_form_kl(vae, x).sum(1).max()) + 1.0
    loss, rec, got = _loss_and_grads(vae, x, kv.objectives.ELBO(beta=BETA, free_bits=lam))
    np.testing.assert_allclose(loss, -rec + BETA * lam, rtol=1e-6, atol=1e-5)
    _, _, want = _loss_and_grads(vae, x, kv.objectives.ELBO(), surrogate=lambda t: -t.reconstruction())
    _assert_same_grads(got, want)


# ------------------------------------------------------------------ per dimension
def test_per_dimension_kl_terms_are_the_closed_form_and_sum_to_the_kl(setup):
    vae, x = setup
    terms = vae.terms(x, num_samples=3, seed=tf.constant([1, 2]))
    expected = _closed_form_kl(vae, x)
    np.testing.assert_allclose(terms.kl_per_dimension().numpy(), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(terms.kl_per_dimension().numpy().sum(1), terms.kl().numpy(), rtol=1e-5, atol=1e-5)
    # Monte Carlo: per-dimension log q - log p at the samples, summing to the MC KL.
    mc = terms.kl_per_dimension("mc").numpy()
    np.testing.assert_allclose(mc.sum(1), terms.kl("mc").numpy(), rtol=1e-5, atol=1e-5)


def test_per_dimension_free_bits_batch_loss_is_the_papers_formula(setup):
    vae, x = setup
    kl = _closed_form_kl(vae, x)  # [B, L]
    per_dim = kl.mean(0)
    lam = float(np.median(per_dim))  # two dimensions under the floor, two over it
    objective = kv.objectives.ELBO(beta=BETA, free_bits=lam, free_bits_mode="per_dimension")
    loss, rec, _ = _loss_and_grads(vae, x, objective)
    np.testing.assert_allclose(loss.mean(), np.mean(-rec) + BETA * np.maximum(per_dim, lam).sum(), rtol=1e-5)
    # Per example: the active dimensions' own KLs, lambda for the others.
    per_example = np.where(per_dim > lam, kl, lam).sum(1)
    np.testing.assert_allclose(loss, -rec + BETA * per_example, rtol=1e-5, atol=1e-5)
    # Not the whole-latent floor: some examples' KL is above lambda * L yet get lambda terms.
    whole, _, _ = _loss_and_grads(vae, x, kv.objectives.ELBO(beta=BETA, free_bits=lam * LATENT))
    assert not np.allclose(loss, whole, atol=1e-3)


def test_per_dimension_free_bits_gradient_drops_the_dimensions_below_the_floor(setup):
    vae, x = setup
    per_dim = _closed_form_kl(vae, x).mean(0)
    lam = float(np.median(per_dim))
    active = tf.constant(per_dim > lam, tf.float32)
    objective = kv.objectives.ELBO(beta=BETA, free_bits=lam, free_bits_mode="per_dimension")
    _, _, got = _loss_and_grads(vae, x, objective)
    _, _, want = _loss_and_grads(
        vae, x, kv.objectives.ELBO(),
        surrogate=lambda t: -t.reconstruction() + BETA * tf.reduce_sum(active * t.kl_per_dimension(), -1),
    )
    _assert_same_grads(got, want)
    # The posterior head's weights of an inactive dimension's mean get only the
    # reconstruction's gradient.
    _, _, rec_only = _loss_and_grads(vae, x, kv.objectives.ELBO(), surrogate=lambda t: -t.reconstruction())
    kernel = _weights_paths(vae).index(vae.posterior_layer.projection.kernel.path)
    inactive = np.flatnonzero(per_dim <= lam)
    np.testing.assert_allclose(np.asarray(got[kernel])[:, inactive], np.asarray(rec_only[kernel])[:, inactive],
                               rtol=1e-5, atol=1e-6)
    active_dims = np.flatnonzero(per_dim > lam)
    assert not np.allclose(np.asarray(got[kernel])[:, active_dims], np.asarray(rec_only[kernel])[:, active_dims])


def test_zero_free_bits_is_the_plain_elbo_in_both_modes(setup):
    vae, x = setup
    loss, _, plain = _loss_and_grads(vae, x, kv.objectives.ELBO(beta=BETA))
    for mode in ("total", "per_dimension"):
        got_loss, _, got = _loss_and_grads(vae, x, kv.objectives.ELBO(beta=BETA, free_bits_mode=mode))
        np.testing.assert_array_equal(got_loss, loss)
        _assert_same_grads(got, plain)


# ------------------------------------------------------------ API and validation
def test_config_round_trip_and_registry():
    objective = kv.objectives.ELBO(beta=2.0, free_bits=0.25, free_bits_mode="per_dimension")
    config = objective.get_config()
    assert config == {"beta": 2.0, "free_bits": 0.25, "num_samples": 1, "free_bits_mode": "per_dimension"}
    again = kv.get("objective", {"name": "elbo", **config})
    assert again.get_config() == config


@pytest.mark.parametrize("kwargs, match", [
    ({"free_bits_mode": "per_dim"}, "free_bits_mode must be one of 'total', 'per_dimension'"),
    ({"free_bits_mode": None}, "free_bits_mode must be one of"),
    ({"free_bits": -0.1}, "free_bits must be a finite number >= 0"),
    ({"free_bits": float("nan")}, "free_bits must be a finite number"),
])
def test_bad_settings_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        kv.objectives.ELBO(**kwargs)


@pytest.mark.parametrize("component", [{"posterior": "full_gaussian"}, {"prior": "mixture"}])
def test_per_dimension_needs_a_factorized_posterior_and_prior(component):
    vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(4,), seed=0,
                 objective=kv.objectives.ELBO(free_bits=0.1, free_bits_mode="per_dimension"), **component)
    x = np.zeros((3, 4), "float32")
    with pytest.raises(ValueError, match="factorizes over the latent dimensions"):
        vae.objective(vae.terms(x, seed=0))


def test_per_dimension_free_bits_train_save_and_reload(tmp_path):
    vae = testing.check_component(
        "objective", {"name": "elbo", "free_bits": 0.3, "free_bits_mode": "per_dimension"}, tmp_path=tmp_path
    )
    reloaded = kv.load_model(tmp_path / "check_save_load.keras")
    assert reloaded.objective.get_config() == vae.objective.get_config()
    assert reloaded.objective.free_bits_mode == "per_dimension"


def test_free_bits_hold_a_dimension_open_in_training():
    """Trained with a per-dimension floor over every dimension's KL, the KL
    gradient is gone and nothing pulls q towards the prior: after training, every
    dimension's batch-average KL has grown (the plain ELBO shrinks them)."""
    x = np.random.default_rng(1).integers(0, 2, (64, 6)).astype("float32")
    kls = {}
    for free_bits in (0.0, 50.0):
        keras.utils.set_random_seed(0)
        vae = kv.VAE({"name": "mlp", "hidden_units": [12]}, {"name": "mlp", "hidden_units": [12]},
                     latent_dim=LATENT, input_shape=(6,), seed=3,
                     objective=kv.objectives.ELBO(free_bits=free_bits, free_bits_mode="per_dimension"))
        start = _closed_form_kl(vae, x).mean(0)
        vae.compile(optimizer=keras.optimizers.Adam(1e-2))
        vae.fit(x, batch_size=16, epochs=10, verbose=0, shuffle=False)
        kls[free_bits] = (start, _closed_form_kl(vae, x).mean(0))
    assert np.all(kls[50.0][1] > kls[50.0][0])
    assert kls[0.0][1].sum() < kls[50.0][1].sum()
