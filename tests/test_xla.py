"""jit_compile="auto": XLA where it is faster, and the same training either way."""
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_vae as kv
from keras_vae import _xla
from helpers import example_data, small_vae

pytestmark = pytest.mark.xla  # "auto" chooses XLA here, as for users

SHAPE = (6, 6, 1)
ON_CPU_ONLY = not _xla._has_accelerator()
cpu_rule = pytest.mark.skipif(not ON_CPU_ONLY, reason="the CPU rule applies on CPU-only machines")


class ThirdPartyDense(keras.layers.Layer):
    """Stands for a user's or a plugin's own layer: code the auto rule does not know."""

    def build(self, input_shape):
        self.dense = keras.layers.Dense(8)
        self.dense.build(input_shape)

    def call(self, x):
        return self.dense(x)


class UserObjective:
    """A user's objective: code the auto rule does not know."""

    beta = 1.0

    def __call__(self, log_likelihood, kl):
        return kl - log_likelihood

    def get_config(self):
        return {}


def _compiled(model, **kwargs):
    model.compile(optimizer=keras.optimizers.Adam(1e-2), **kwargs)
    return model


def test_auto_uses_xla_for_a_dense_vae():
    assert _compiled(small_vae(SHAPE)).jit_compile is True


@cpu_rule
@pytest.mark.parametrize(
    "components",
    [
        {"encoder": {"name": "conv", "filters": [4]}},
        {"decoder": keras.Sequential([keras.layers.Dense(16), keras.layers.Reshape((4, 4, 1)),
                                      keras.layers.Conv2DTranspose(4, 3, padding="same")])},
        {"encoder": keras.Sequential([keras.layers.Flatten(), ThirdPartyDense()])},
        {"encoder": keras.Sequential([keras.layers.Flatten(), keras.layers.Lambda(tf.math.tanh)])},
        {"encoder": keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(8, dtype="mixed_float16")])},
        {"objective": UserObjective()},
    ],
    ids=["conv-encoder", "conv-in-a-user-model", "third-party-layer", "lambda-layer",
         "mixed-precision-layer", "third-party-objective"],
)
def test_auto_keeps_the_plain_graph_on_cpu_for_convolutions_and_unknown_code(components):
    assert _compiled(small_vae(SHAPE, **components)).jit_compile is False


@cpu_rule
def test_auto_keeps_the_plain_graph_for_mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_float16")
    assert _compiled(small_vae(SHAPE)).jit_compile is False


def test_auto_is_off_when_distributed_and_explicit_choices_are_kept():
    assert _compiled(small_vae(SHAPE), jit_compile=False).jit_compile is False
    assert _compiled(small_vae(SHAPE, encoder={"name": "conv", "filters": [4]}),
                     jit_compile=True).jit_compile is True
    with tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]).scope():
        assert _compiled(small_vae(SHAPE)).jit_compile is False


def test_explicit_xla_under_a_strategy_warns_and_trains_without_it():
    with tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]).scope():
        vae = small_vae(SHAPE)
        with pytest.warns(UserWarning, match="not supported .* tf.distribute"):
            _compiled(vae, jit_compile=True)
    assert vae.jit_compile is False
    history = vae.fit(example_data(SHAPE), epochs=1, batch_size=16, verbose=0).history
    assert np.isfinite(history["loss"][0])


def _noise_free_vae(jit_compile: bool):
    """A VAE whose posterior scale is ~1e-7: z is the posterior mean to float32
    precision, so the result does not depend on the noise stream (XLA's stateless
    random numbers differ from TensorFlow's for the same seed)."""
    vae = small_vae(SHAPE, posterior={"name": "diagonal_gaussian", "min_scale": 1e-7})
    keras.utils.set_random_seed(3)
    vae.set_weights(small_vae(SHAPE).get_weights())
    kernel, bias = vae.posterior_layer.projection.get_weights()
    kernel[:, 2:], bias[2:] = 0.0, -40.0  # raw scale -> softplus(-40) ~ 4e-18
    vae.posterior_layer.projection.set_weights([kernel, bias])
    return _compiled(vae, jit_compile=jit_compile)


def test_xla_and_the_plain_graph_compute_the_same_training():
    runs = {}
    for jit_compile in (False, True):
        vae = _noise_free_vae(jit_compile)
        history = vae.fit(example_data(SHAPE, n=64), epochs=2, batch_size=16, shuffle=False,
                          validation_data=(example_data(SHAPE, n=16, seed=1),), verbose=0)
        runs[jit_compile] = vae, history.history
    (graph, graph_history), (xla, xla_history) = runs[False], runs[True]
    assert int(graph.optimizer.iterations) == int(xla.optimizer.iterations) == 8
    for a, b in zip(graph.get_weights(), xla.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-4)
    assert set(graph_history) == {"loss", "elbo", "reconstruction_loss", "kl", "val_loss",
                                  "val_elbo", "val_reconstruction_loss", "val_kl"}
    for name in graph_history:
        np.testing.assert_allclose(graph_history[name], xla_history[name], rtol=1e-4, err_msg=name)


def _spy_on_tf_function(monkeypatch):
    """Record the jit_compile of every tf.function the VAE's step makes."""
    requested, real = [], tf.function

    def spy(fn=None, **kwargs):
        requested.append((getattr(fn, "__name__", fn), kwargs.get("jit_compile")))
        return real(fn, **kwargs)

    monkeypatch.setattr(tf, "function", spy)
    return requested


@pytest.mark.parametrize("jit_compile", [True, False])
def test_the_update_is_compiled_with_xla_exactly_when_chosen(monkeypatch, jit_compile):
    vae = _compiled(small_vae(SHAPE), jit_compile=jit_compile)
    requested = _spy_on_tf_function(monkeypatch)
    vae.fit(example_data(SHAPE), epochs=1, batch_size=16, verbose=0)
    vae.evaluate(example_data(SHAPE), verbose=0)
    xla = {name for name, jit in requested if jit}
    assert xla == ({"_update", "_evaluate"} if jit_compile else set())


@pytest.mark.parametrize("jit_compile", [True, False])
def test_logs_are_read_after_the_update(jit_compile):
    vae = _compiled(small_vae(SHAPE), jit_compile=jit_compile)
    logs = vae.train_on_batch(example_data(SHAPE), return_dict=True)
    trackers = {m.name: float(m.result()) for m in vae.metrics}
    assert logs == pytest.approx(trackers) and logs["loss"] > 0


def test_run_eagerly_set_after_compile_runs_the_update_eagerly(monkeypatch):
    vae = _compiled(small_vae(SHAPE))
    assert vae.jit_compile is True
    vae.run_eagerly = True
    eager, terms = [], vae.terms

    def recording_terms(*args, **kwargs):
        eager.append(tf.executing_eagerly())
        return terms(*args, **kwargs)

    monkeypatch.setattr(vae, "terms", recording_terms)
    vae.fit(example_data(SHAPE), epochs=1, batch_size=16, verbose=0)
    assert eager == [True, True]


@pytest.mark.parametrize("encoder,expected", [("mlp", True), ({"name": "conv", "filters": [4]}, not ON_CPU_ONLY)])
def test_auto_is_decided_once_a_lazily_built_vae_has_seen_data(encoder, expected):
    vae = _compiled(kv.VAE(encoder, "mlp", latent_dim=2))
    assert vae.jit_compile is False  # nothing to judge yet: a conv encoder has no layers
    vae.fit(example_data(SHAPE), epochs=1, batch_size=16, verbose=0)
    assert vae.jit_compile is expected


def test_an_unbuilt_vae_trains_from_a_generator():
    vae = _compiled(kv.VAE("mlp", "mlp", latent_dim=2))

    def batches():
        for i in range(3):
            yield (example_data((4,), n=8, seed=i),)

    history = vae.fit(batches(), epochs=1, verbose=0).history
    assert np.isfinite(history["loss"][0]) and int(vae.optimizer.iterations) == 3
    assert vae.jit_compile is False  # built while tracing: the slots had to be made there
    vae.fit(batches(), epochs=1, verbose=0)  # the same function, still reported as such
    assert vae.jit_compile is False and int(vae.optimizer.iterations) == 6
    vae.compile(optimizer="adam")  # built now: decided afresh
    assert vae.jit_compile is True


def test_auto_is_saved_as_auto_and_decided_again_on_load(tmp_path):
    vae = _compiled(small_vae(SHAPE))
    vae.save(tmp_path / "auto.keras")
    loaded = kv.load_model(tmp_path / "auto.keras")
    assert loaded.get_compile_config()["jit_compile"] == "auto" and loaded.jit_compile is True
    with tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]).scope():
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no "jit_compile=True is not supported" here
            assert kv.load_model(tmp_path / "auto.keras").jit_compile is False


def test_explicit_choices_travel_with_the_saved_file(tmp_path):
    for jit_compile in (True, False):
        vae = _compiled(small_vae(SHAPE), jit_compile=jit_compile)
        vae.save(tmp_path / "m.keras")
        assert kv.load_model(tmp_path / "m.keras").jit_compile is jit_compile


class UserBernoulli(kv.likelihoods.Bernoulli):
    """A user's likelihood head: code the estimator's auto rule does not know."""


def test_the_estimator_compiles_the_likelihood_alone_for_known_heads(monkeypatch):
    """log_likelihood's "auto": the likelihood's log_prob under XLA and the rest of a
    block in the plain graph, for keras_vae's own heads; no XLA for a user's head; the
    estimate the same as without XLA."""
    x = example_data(SHAPE, n=8)
    known, user = small_vae(SHAPE), small_vae(SHAPE, likelihood=UserBernoulli())
    assert _xla.likelihood_compiles(known) and not _xla.likelihood_compiles(user)
    requested = _spy_on_tf_function(monkeypatch)
    auto = known.log_likelihood(x, num_samples=6, seed=0)
    assert ("log_prob", True) in requested
    assert not any(jit for name, jit in requested if name != "log_prob")  # the fold itself
    np.testing.assert_allclose(auto, known.log_likelihood(x, num_samples=6, seed=0, jit_compile=False),
                               rtol=1e-6, atol=1e-4)
    requested.clear()
    user.log_likelihood(x, num_samples=6, seed=0)
    assert requested and not any(jit for _, jit in requested)


@pytest.mark.parametrize("value,expected", [("auto", True), ("", True), ("false", False), ("0", False), ("OFF", False)])
def test_the_environment_variable_turns_auto_off_everywhere(monkeypatch, value, expected):
    monkeypatch.setenv("KERAS_VAE_JIT_COMPILE", value)
    vae = small_vae()
    vae.compile(optimizer="adam")
    vae.fit(example_data((6, 6, 1), n=16), epochs=1, batch_size=8, verbose=0)
    assert vae.jit_compile is expected
    assert _xla.likelihood_compiles(vae) is expected
    explicit = small_vae()
    explicit.compile(optimizer="adam", jit_compile=True)  # an explicit True is kept
    assert explicit.jit_compile is True


def test_a_bad_value_of_the_environment_variable_is_refused(monkeypatch):
    monkeypatch.setenv("KERAS_VAE_JIT_COMPILE", "sometimes")
    vae = small_vae()
    with pytest.raises(ValueError, match="KERAS_VAE_JIT_COMPILE must be 'auto' or 'false'"):
        vae.compile(optimizer="adam")
        vae.fit(example_data((6, 6, 1), n=16), epochs=1, batch_size=8, verbose=0)


def test_a_bad_value_is_refused_at_compile_for_a_model_not_built_yet(monkeypatch):
    """Refused before anything is built or adapted: compile, not the first fit."""
    monkeypatch.setenv("KERAS_VAE_JIT_COMPILE", "sometimes")
    vae = kv.VAE("mlp", "mlp", latent_dim=2)  # no input_shape: built by its first fit
    with pytest.raises(ValueError, match="KERAS_VAE_JIT_COMPILE must be 'auto' or 'false'"):
        vae.compile(optimizer="adam")
    assert not vae.built
