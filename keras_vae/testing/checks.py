"""Checks a component author runs on their component: config, save/load, training.

Each check builds what it needs, asserts, and raises ``AssertionError`` with a
message naming what broke. They are plain functions so any test runner can call
them::

    from keras_vae import testing

    def test_student_t(tmp_path):
        testing.check_component("likelihood", StudentT(), tmp_path=tmp_path)
"""
from __future__ import annotations

import json
import os
import tempfile
from typing import Any, Sequence

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from keras_vae.model import VAE
from keras_vae.objectives.elbo import ELBO
from keras_vae.saving import load_model

tfd = tfp.distributions

DEFAULTS = {
    "encoder": {"name": "mlp", "hidden_units": [16]},
    "decoder": {"name": "mlp", "hidden_units": [16]},
    "posterior": "diagonal_gaussian",
    "likelihood": "bernoulli",
    "prior": "standard_normal",
}


def example_data(shape: Sequence[int], n: int = 32, seed: int = 0, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """Random float32 data in ``[low, high]`` of shape ``(n, *shape)``."""
    rng = np.random.default_rng(seed)
    return rng.uniform(low, high, size=(n, *shape)).astype("float32")


def small_vae(input_shape: Sequence[int] = (6, 6, 1), latent_dim: int = 2, **components: Any) -> VAE:
    """A tiny built VAE with the default components unless overridden."""
    specs = {**DEFAULTS, **components}
    return VAE(latent_dim=latent_dim, input_shape=tuple(input_shape), seed=1234, **specs)


def _canonical(config: dict) -> str:
    """Config as JSON text: tuples and lists compare equal, as they do on disk."""
    return json.dumps(config, sort_keys=True, default=str)


def check_config_round_trip(layer: keras.layers.Layer) -> None:
    """``from_config(get_config())`` gives an equal config, and the Keras
    serialized form deserializes to the same class."""
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert _canonical(clone.get_config()) == _canonical(config), (
        f"{type(layer).__name__}: from_config(get_config()) changed the config:\n"
        f"{config}\n!=\n{clone.get_config()}"
    )
    serialized = keras.saving.serialize_keras_object(layer)
    restored = keras.saving.deserialize_keras_object(serialized)
    assert type(restored) is type(layer), (
        f"{type(layer).__name__} deserialized as {type(restored).__name__}: is it "
        "registered (keras_vae.register) and importable?"
    )


def assert_same_outputs(a: VAE, b: VAE, x: np.ndarray, atol: float = 0.0) -> None:
    """Encode means, decoded means and weights of two VAEs agree."""
    z = np.asarray(a.encode(x))
    np.testing.assert_allclose(np.asarray(b.encode(x)), z, atol=atol, err_msg="encode differs")
    np.testing.assert_allclose(np.asarray(b.decode(z)), np.asarray(a.decode(z)), atol=atol, err_msg="decode differs")
    for wa, wb in zip(a.weights, b.weights):
        np.testing.assert_allclose(np.asarray(wb), np.asarray(wa), atol=atol, err_msg=f"weight {wa.path} differs")


def check_save_load(vae: VAE, x: np.ndarray, directory: str | None = None) -> VAE:
    """Save to ``.keras``, load with ``keras_vae.load_model`` and with
    ``keras.saving.load_model`` (safe mode), and compare config, weights, outputs
    and optimizer state. Returns the reloaded model."""
    directory = directory or tempfile.mkdtemp()
    path = os.path.join(directory, "check_save_load.keras")
    vae.save(path)
    reloaded = load_model(path)
    plain = keras.saving.load_model(path)
    for other in (reloaded, plain):
        assert type(other) is type(vae)
        assert _canonical(other.get_config()) == _canonical(vae.get_config()), "config changed on reload"
        assert_same_outputs(vae, other, x)
    if getattr(vae, "optimizer", None) is not None and vae.optimizer.built:
        for va, vb in zip(vae.optimizer.variables, reloaded.optimizer.variables):
            np.testing.assert_array_equal(np.asarray(vb), np.asarray(va), err_msg=f"optimizer {va.path}")
    return reloaded


def check_objective_values(vae: VAE, x: np.ndarray) -> None:
    """The objective maps a batch's terms to a per-example loss ``[batch]`` and one
    per-example value ``[batch]`` for every name in ``metric_names``, all finite."""
    objective = vae.objective
    terms = vae.terms(x[:4], num_samples=getattr(objective, "num_samples", 1), seed=0)
    loss, values = objective(terms)
    name = type(objective).__name__
    assert tuple(loss.shape) == (len(x[:4]),), f"{name} loss has shape {tuple(loss.shape)}, not (batch,)"
    for metric in objective.metric_names:
        assert metric in values, f"{name} declares metric {metric!r} but does not return it"
        assert tuple(values[metric].shape) == (len(x[:4]),), f"{name} metric {metric!r} is not per-example"
        assert np.all(np.isfinite(np.asarray(values[metric]))), f"{name} metric {metric!r} is not finite"
    assert np.all(np.isfinite(np.asarray(loss))), f"{name} loss is not finite"
    if isinstance(objective, ELBO):
        check_elbo_loss(vae, x)


def _elbo_kl_term(objective: ELBO, terms) -> np.ndarray:
    """The KL term ``R`` of the ELBO's loss, by its formula, in numpy (float64)."""
    kl = np.asarray(terms.kl(), np.float64)
    lam = objective.free_bits
    if lam <= 0:
        return kl
    if objective.free_bits_mode == "total":
        return np.maximum(kl, lam)
    per_dimension = np.asarray(terms.kl_per_dimension(), np.float64)  # [B, L]
    active = per_dimension.mean(axis=0) > lam
    return np.where(active, per_dimension, lam).sum(axis=-1)


def check_elbo_loss(vae: VAE, x: np.ndarray, rtol: float = 1e-5) -> None:
    """An :class:`~keras_vae.objectives.ELBO` objective's per-example loss is
    ``-(E_q log p(x|z) - beta * R)`` on a batch, ``R`` the KL or its free-bits floor
    (whole latent: ``max(KL, lambda)``; per dimension: the batch-averaged floor of
    Kingma et al., 2016), recomputed here in numpy from the batch's KL terms."""
    objective = vae.objective
    terms = vae.terms(x[:8], num_samples=objective.num_samples, seed=0)
    loss, values = objective(terms)
    reconstruction = np.asarray(terms.reconstruction(), np.float64)
    expected = -(reconstruction - objective.beta * _elbo_kl_term(objective, terms))
    np.testing.assert_allclose(
        np.asarray(loss, np.float64), expected, rtol=rtol, atol=rtol,
        err_msg=f"{objective!r}: the loss is not -(reconstruction - beta * KL term)",
    )
    np.testing.assert_allclose(
        np.asarray(values["kl"]), np.asarray(terms.kl()), rtol=rtol,
        err_msg=f"{objective!r}: the reported kl is not the KL (free bits floor the loss only)",
    )


def check_reparameterization(vae: VAE, x: np.ndarray | None = None) -> None:
    """The posterior's samples are reparameterized: ``q(z|x)`` says so
    (``reparameterization_type == tfd.FULLY_REPARAMETERIZED``) and the gradient of
    its samples with respect to the posterior head's parameters exists, is finite
    and not all zero. Without it the ELBO's gradient never reaches the encoder
    through ``z`` and training silently learns a poor posterior."""
    name = type(vae.posterior_layer).__name__
    x = example_data(vae.data_shape, n=4) if x is None else x[:4]
    params = tf.convert_to_tensor(vae.posterior_parameters(vae.prepare(x)))
    with tf.GradientTape() as tape:
        tape.watch(params)
        q = vae.posterior_layer.distribution(params)
        z = q.sample(seed=tf.constant([0, 1]))
        total = tf.reduce_sum(tf.cast(z, tf.float32))
    grad = tape.gradient(total, params)
    kind = q.reparameterization_type
    assert kind == tfd.FULLY_REPARAMETERIZED, (
        f"{name}: q(z|x) is a {type(q).__name__} whose samples are not reparameterized "
        f"(reparameterization_type is {kind}, not FULLY_REPARAMETERIZED): the ELBO's gradient "
        "cannot reach the encoder through z. Build q from a reparameterized distribution (e.g. "
        "tfd.Normal, or a bijector applied to one)."
    )
    assert grad is not None, (
        f"{name}: the samples of q(z|x) ({type(q).__name__}) have no gradient with respect to the "
        "posterior head's parameters (is a tf.stop_gradient or a numpy conversion on the way?): "
        "they are not reparameterized, and the encoder would learn nothing through z."
    )
    grad = np.asarray(grad)
    assert np.all(np.isfinite(grad)), f"{name}: the gradient of q's samples is not finite"
    assert np.any(grad != 0), (
        f"{name}: the gradient of q(z|x)'s samples with respect to the posterior head's parameters "
        "is zero everywhere: the samples do not depend on the parameters."
    )


def check_prior_distribution(vae: VAE, num_samples: int = 64) -> None:
    """``vae.prior()`` has event shape ``[latent_dim]``, empty batch shape, samples of
    the right shape and a finite log-density at its own samples."""
    prior = vae.prior()
    name = type(vae.prior_layer).__name__
    assert list(prior.event_shape) == [vae.latent_dim], f"{name}: event shape {prior.event_shape}"
    assert list(prior.batch_shape) == [], f"{name}: batch shape {prior.batch_shape} is not empty"
    z = prior.sample(num_samples, seed=[0, 1])
    assert tuple(z.shape) == (num_samples, vae.latent_dim), f"{name}: samples of shape {tuple(z.shape)}"
    assert np.all(np.isfinite(np.asarray(prior.log_prob(z)))), f"{name}: log_prob not finite at its samples"


def check_training_step(vae: VAE, x: np.ndarray, steps: int = 2) -> dict:
    """Compile if needed, train ``steps`` batches, and check metrics are finite and
    every trainable weight moved. Returns the last logs."""
    if not vae.compiled:
        vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    before = [keras.ops.convert_to_numpy(w) for w in vae.trainable_weights]
    history = vae.fit(x, batch_size=max(1, len(x) // steps), epochs=1, verbose=0, shuffle=False)
    logs = {k: v[-1] for k, v in history.history.items()}
    for key in ("loss", *vae.metrics_names[1:]):
        assert np.isfinite(logs[key]), f"metric {key} is not finite: {logs}"
    objective = vae.objective
    if isinstance(objective, ELBO) and not vae.losses:
        plain = logs["reconstruction_loss"] + objective.beta * logs["kl"]
        if objective.free_bits == 0:
            # The plain (beta-)ELBO: loss = reconstruction + beta * KL, exactly.
            np.testing.assert_allclose(logs["loss"], plain, rtol=1e-4)
        else:
            # The logs average over examples, and the floor is not linear: per example
            # KL <= R <= KL + lambda (whole latent), per batch sum_i max(KL_i, lambda)
            # <= KL + L * lambda (per dimension). The exact formula: check_elbo_loss.
            floors = 1 if objective.free_bits_mode == "total" else vae.latent_dim
            slack = 1e-4 * max(1.0, abs(plain))
            assert plain - slack <= logs["loss"] <= plain + objective.beta * objective.free_bits * floors + slack, (
                f"loss {logs['loss']} outside [reconstruction + beta * KL, + beta * free bits]: {logs}"
            )
        check_elbo_loss(vae, x)
    frozen = [w.path for w, b in zip(vae.trainable_weights, before) if np.array_equal(keras.ops.convert_to_numpy(w), b)]
    assert not frozen, f"these weights did not change in training: {frozen}"
    return logs


def check_component(
    kind: str,
    component: Any,
    input_shape: Sequence[int] = (6, 6, 1),
    latent_dim: int = 2,
    data: np.ndarray | None = None,
    tmp_path: str | os.PathLike | None = None,
) -> VAE:
    """Run every check on one component placed in a small VAE.

    Args:
        kind: the component kind (``"likelihood"``, ...).
        component: an instance, a registered name or a config dict.
        input_shape: shape of one example of the test data.
        latent_dim: latent size of the test model.
        data: test data (default uniform in [0, 1]).
        tmp_path: where to write the ``.keras`` file.

    Returns:
        The trained VAE.
    """
    vae = small_vae(input_shape, latent_dim, **{kind: component})
    x = example_data(input_shape) if data is None else data
    layer = {
        "encoder": vae.encoder,
        "decoder": vae.decoder,
        "posterior": vae.posterior_layer,
        "likelihood": vae.likelihood_layer,
        "prior": vae.prior_layer,
        "objective": vae.objective,
    }.get(kind)
    if layer is not None:
        check_config_round_trip(layer)
    check_reparameterization(vae, x)
    if kind == "objective":
        check_objective_values(vae, x)
    if kind == "prior":
        check_prior_distribution(vae)
    check_training_step(vae, x)
    check_save_load(vae, x, None if tmp_path is None else os.fspath(tmp_path))
    return vae
