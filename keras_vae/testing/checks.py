"""Checks a component author runs on their component: config, save/load, training.

Each check builds what it needs, asserts, and raises ``AssertionError`` with a
message naming what broke. They are plain functions so any test runner can call
them::

    from keras_vae import testing

    def test_student_t(tmp_path):
        testing.check_component("likelihood", StudentT(), tmp_path=tmp_path)

A conditioned model's checks take the data as ``{"x": x, "condition": c}`` (what
``fit`` takes); ``check_component("condition", ...)`` and a prior of p(z | c) build
such a model and its example conditions themselves.
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

from keras_vae import registry
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


def example_conditions(condition: Any, n: int = 32, seed: int = 0) -> np.ndarray:
    """``n`` raw conditions a condition layer takes: integer labels in
    ``[0, num_classes)`` for a layer with ``num_classes`` and integer input, else
    standard-normal float32 values of the layer's ``example_shape``."""
    rng = np.random.default_rng(seed)
    classes = getattr(condition, "num_classes", None)
    if classes is not None and np.issubdtype(np.dtype(condition.input_dtype), np.integer):
        return rng.integers(0, int(classes), size=n).astype(condition.input_dtype)
    return rng.standard_normal((n, *condition.example_shape)).astype("float32")


def _split(data: Any) -> tuple[np.ndarray, dict]:
    """``(x, {"condition": c})`` of ``{"x": x, "condition": c}``; ``(x, {})`` of x."""
    if isinstance(data, dict):
        return data["x"], ({"condition": data["condition"]} if "condition" in data else {})
    return data, {}


def _head(data: Any, n: int) -> Any:
    """The first ``n`` examples of x or of ``{"x": x, "condition": c}``."""
    return {key: value[:n] for key, value in data.items()} if isinstance(data, dict) else data[:n]


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
    """Encode means, decoded means and weights of two VAEs agree (``x`` may be
    ``{"x": x, "condition": c}`` for a conditioned model)."""
    x, given = _split(x)
    z = np.asarray(a.encode(x, **given))
    np.testing.assert_allclose(np.asarray(b.encode(x, **given)), z, atol=atol, err_msg="encode differs")
    np.testing.assert_allclose(np.asarray(b.decode(z, **given)), np.asarray(a.decode(z, **given)), atol=atol,
                               err_msg="decode differs")
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
    batch, given = _split(_head(x, 4))
    terms = vae.terms(batch, num_samples=getattr(objective, "num_samples", 1), seed=0, **given)
    loss, values = objective(terms)
    name = type(objective).__name__
    assert tuple(loss.shape) == (len(batch),), f"{name} loss has shape {tuple(loss.shape)}, not (batch,)"
    for metric in objective.metric_names:
        assert metric in values, f"{name} declares metric {metric!r} but does not return it"
        assert tuple(values[metric].shape) == (len(batch),), f"{name} metric {metric!r} is not per-example"
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
    batch, given = _split(_head(x, 8))
    terms = vae.terms(batch, num_samples=objective.num_samples, seed=0, **given)
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
    x, given = _split(example_data(vae.data_shape, n=4) if x is None else _head(x, 4))
    if given:
        given = {"condition": vae.prepare_condition(given["condition"])}
    params = tf.convert_to_tensor(vae.posterior_parameters(vae.prepare(x), **given))
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


def check_prior_distribution(vae: VAE, num_samples: int = 64, condition: Any = None) -> None:
    """``vae.prior()`` has event shape ``[latent_dim]``, empty batch shape, samples of
    the right shape and a finite log-density at its own samples. A prior of
    p(z | c) is given ``condition`` (B raw conditions) and has batch shape ``[B]``."""
    takes = getattr(vae.prior_layer, "takes_condition", False)
    prior = vae.prior(condition=condition) if takes else vae.prior()
    batch = [len(condition)] if takes else []
    name = type(vae.prior_layer).__name__
    assert list(prior.event_shape) == [vae.latent_dim], f"{name}: event shape {prior.event_shape}"
    assert list(prior.batch_shape) == batch, f"{name}: batch shape {prior.batch_shape}, not {batch}"
    z = prior.sample(num_samples, seed=[0, 1])
    shape = (num_samples, *batch, vae.latent_dim)
    assert tuple(z.shape) == shape, f"{name}: samples of shape {tuple(z.shape)}, not {shape}"
    assert np.all(np.isfinite(np.asarray(prior.log_prob(z)))), f"{name}: log_prob not finite at its samples"


def check_training_step(vae: VAE, x: np.ndarray, steps: int = 2) -> dict:
    """Compile if needed, train ``steps`` batches, and check metrics are finite and
    every trainable weight moved. Returns the last logs."""
    if not vae.compiled:
        vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    before = [keras.ops.convert_to_numpy(w) for w in vae.trainable_weights]
    history = vae.fit(x, batch_size=max(1, len(_split(x)[0]) // steps), epochs=1, verbose=0, shuffle=False)
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


def check_condition_layer(condition: Any, conditions: np.ndarray) -> None:
    """A condition layer turns a batch of its raw conditions into finite float32
    features ``[batch, feature_size]``, accepts that batch in ``check_array`` and
    refuses one of the wrong shape with a ``ValueError`` (before a model touches it)."""
    name = type(condition).__name__
    condition.check_array(conditions)
    features = np.asarray(condition(tf.convert_to_tensor(conditions, condition.input_dtype)))
    shape = (len(conditions), condition.feature_size)
    assert features.shape == shape, f"{name}: features of shape {features.shape}, not {shape}"
    assert features.dtype == np.float32, f"{name}: features of dtype {features.dtype}, not float32"
    assert np.all(np.isfinite(features)), f"{name}: the features are not finite"
    wrong = np.zeros((len(conditions), *condition.example_shape, 2), conditions.dtype)
    try:
        condition.check_array(wrong)
    except ValueError:
        pass
    else:
        raise AssertionError(f"{name}: check_array accepted conditions of the wrong shape {wrong.shape}")


def _prior_class(spec: Any) -> type:
    """The class a prior spec names (an instance's own class)."""
    if isinstance(spec, str):
        return registry.get_class("prior", spec)
    if isinstance(spec, dict) and "name" in spec:
        return registry.get_class("prior", spec["name"])
    return type(spec)


#: The condition of the test model of a component that needs one (a p(z | c) prior).
DEFAULT_CONDITION = {"name": "one_hot", "num_classes": 3}


def check_component(
    kind: str,
    component: Any,
    input_shape: Sequence[int] = (6, 6, 1),
    latent_dim: int = 2,
    data: np.ndarray | None = None,
    tmp_path: str | os.PathLike | None = None,
    condition: Any = None,
    conditions: np.ndarray | None = None,
) -> VAE:
    """Run every check on one component placed in a small VAE.

    Args:
        kind: the component kind (``"likelihood"``, ``"condition"``, ...).
        component: an instance, a registered name or a config dict.
        input_shape: shape of one example of the test data.
        latent_dim: latent size of the test model.
        data: test data (default uniform in [0, 1]).
        tmp_path: where to write the ``.keras`` file.
        condition: a condition for the test model (any component kind may be
            checked in a conditioned model); a prior of p(z | c) gets
            :data:`DEFAULT_CONDITION` when none is given.
        conditions: the raw conditions of ``data``, one per example (default:
            :func:`example_conditions` of the condition layer).

    Returns:
        The trained VAE.

    Example:
        >>> from keras_vae import testing
        >>> vae = testing.check_component("condition", {"name": "one_hot", "num_classes": 4})
        >>> vae.condition_layer.feature_size
        4
    """
    if kind == "condition":
        condition = component
    elif kind == "prior" and condition is None and getattr(_prior_class(component), "takes_condition", False):
        condition = DEFAULT_CONDITION
    extra = {} if condition is None or kind == "condition" else {"condition": condition}
    vae = small_vae(input_shape, latent_dim, **{kind: component}, **extra)
    x = example_data(input_shape) if data is None else data
    layer = {
        "encoder": vae.encoder,
        "decoder": vae.decoder,
        "posterior": vae.posterior_layer,
        "likelihood": vae.likelihood_layer,
        "prior": vae.prior_layer,
        "objective": vae.objective,
        "condition": getattr(vae, "condition_layer", None),
    }.get(kind)
    if layer is not None:
        check_config_round_trip(layer)
    if getattr(vae, "condition_layer", None) is not None:
        c = example_conditions(vae.condition_layer, len(x)) if conditions is None else np.asarray(conditions)
        check_condition_layer(vae.condition_layer, c)
        x = {"x": x, "condition": c}
    check_reparameterization(vae, x)
    if kind == "objective":
        check_objective_values(vae, x)
    if kind == "prior":
        check_prior_distribution(vae, condition=x["condition"][:5] if isinstance(x, dict) else None)
    check_training_step(vae, x)
    check_save_load(vae, x, None if tmp_path is None else os.fspath(tmp_path))
    return vae
