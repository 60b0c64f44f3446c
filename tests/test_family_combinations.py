"""Every built-in posterior x prior, each with an objective: fit / evaluate with the
objective's metrics, .keras round trip, exact resume, log-likelihood, export."""
import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_vae as kv
from keras_vae.testing import check_save_load, example_data

SHAPE = (4,)
POSTERIORS = {
    "diagonal_gaussian": "diagonal_gaussian",
    "full_gaussian": "full_gaussian",
    "iaf": {"name": "iaf", "num_flows": 2, "hidden_units": [6], "context_size": 3},
}
PRIORS = {
    "standard_normal": "standard_normal",
    "learned_gaussian": "learned_gaussian",
    "mixture": {"name": "mixture", "num_components": 3},
    "vamp": {"name": "vamp", "num_pseudo_inputs": 3},
}
OBJECTIVES = {"elbo": "elbo", "iwae": {"name": "iwae", "num_samples": 3, "gradient": "dreg"}}

# Every posterior x prior pair; the objectives alternate so each posterior and each
# prior is trained with both.
# One prior per posterior trains with the default ("auto": XLA for these on a CPU,
# marked ``xla``); the plain graph for the rest keeps the suite's XLA compile time in bounds.
XLA_PAIRS = {("diagonal_gaussian", "vamp"), ("full_gaussian", "mixture"), ("iaf", "learned_gaussian")}
CASES = [
    pytest.param(post, prior, sorted(OBJECTIVES)[(i + j) % 2],
                 marks=[pytest.mark.xla] if (post, prior) in XLA_PAIRS else [])
    for (i, post), (j, prior) in itertools.product(enumerate(POSTERIORS), enumerate(PRIORS))
]


def family_vae(posterior, prior, objective, seed=11):
    return kv.VAE(
        encoder={"name": "mlp", "hidden_units": [6]},
        decoder={"name": "mlp", "hidden_units": [6]},
        latent_dim=2,
        input_shape=SHAPE,
        posterior=POSTERIORS[posterior],
        prior=PRIORS[prior],
        objective=OBJECTIVES[objective],
        seed=seed,
    )


@pytest.mark.parametrize("posterior,prior,objective", CASES)
def test_combination_trains_saves_and_scores(posterior, prior, objective, tmp_path):
    x = example_data(SHAPE, n=16)
    vae = family_vae(posterior, prior, objective)
    vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = vae.fit(x, epochs=1, batch_size=8, verbose=0)
    assert vae.jit_compile is ((posterior, prior) in XLA_PAIRS)  # the xla-marked ones
    expected = {"loss", *vae.objective.metric_names}
    assert set(history.history) == expected
    logs = vae.evaluate(x, verbose=0, return_dict=True)
    assert set(logs) == expected and all(np.isfinite(v) for v in logs.values()), logs
    if objective == "iwae":
        assert logs["iwae_bound"] >= logs["elbo"] - 1e-3  # K = 3 bound above the ELBO
    reloaded = check_save_load(vae, x, str(tmp_path))
    if prior == "vamp":
        np.testing.assert_array_equal(
            reloaded.prior_layer.pseudo_inputs.numpy(), vae.prior_layer.pseudo_inputs.numpy()
        )
    log_px = vae.log_likelihood(x[:4], num_samples=16, seed=0)
    assert log_px.shape == (4,) and np.all(np.isfinite(log_px))
    assert vae.reconstruct(x[:2]).shape == (2, *SHAPE)
    assert vae.sample(3, seed=1).shape == (3, *SHAPE)


def test_resumed_training_equals_uninterrupted_for_a_flow_a_vampprior_and_dreg(tmp_path):
    x = example_data(SHAPE, n=32)
    vae = family_vae("iaf", "vamp", "iwae")
    vae.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=False)  # XLA: tests/test_xla.py
    vae.fit(x, epochs=1, batch_size=8, verbose=0, shuffle=False)
    vae.save(tmp_path / "m.keras")
    resumed = kv.load_model(tmp_path / "m.keras")
    for model in (vae, resumed):
        model.fit(x, epochs=2, batch_size=8, verbose=0, shuffle=False)
    for a, b in zip(vae.weights, resumed.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)


@pytest.mark.parametrize(
    "posterior,prior",
    [("iaf", "vamp"), ("full_gaussian", "mixture"), ("diagonal_gaussian", "learned_gaussian")],
)
def test_exported_signatures_use_the_point_and_the_models_prior(posterior, prior, tmp_path):
    x = example_data(SHAPE, n=5)
    vae = family_vae(posterior, prior, "elbo")
    served = tf.saved_model.load(vae.export(str(tmp_path / "serving")))
    encoded = served.signatures["encode"](x=tf.constant(x))
    np.testing.assert_allclose(
        served.signatures["reconstruct"](x=tf.constant(x))["reconstruction"].numpy(),
        vae.reconstruct(x).numpy(), rtol=1e-5, atol=1e-6,
    )
    assert encoded["z"].shape == (5, 2)
    # One seed per row: the same image as vae.sample(1, seed) from the model's prior.
    sampled = served.signatures["sample"](seed=tf.constant([3, 4], tf.int64))["x"].numpy()
    np.testing.assert_allclose(sampled[0], vae.sample(1, seed=3).numpy()[0], rtol=1e-5, atol=1e-6)
    score = served.signatures["score"](x=tf.constant(x))
    assert np.all(np.isfinite(score["elbo"].numpy()))


def test_default_warmup_requests_lie_inside_the_likelihoods_support():
    from keras_vae.export.warmup import _warmup_inputs

    vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=SHAPE, likelihood="beta", seed=0)
    x = _warmup_inputs(vae, None)["score"]["x"]
    vae.check_data(x)  # zeros would be refused: the Beta needs (0, 1)
    assert x.shape == (1, *SHAPE)
