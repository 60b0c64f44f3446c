"""jit_compile="auto": XLA where it is faster, and the same training either way."""
import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_vae as kv
from helpers import example_data, small_vae

SHAPE = (6, 6, 1)
ON_CPU_ONLY = not any(d.device_type != "CPU" for d in tf.config.list_physical_devices())
cpu_rule = pytest.mark.skipif(not ON_CPU_ONLY, reason="the CPU rule applies on CPU-only machines")


class ThirdPartyDense(keras.layers.Layer):
    """Stands for a user's or a plugin's own layer: code the auto rule does not know."""

    def build(self, input_shape):
        self.dense = keras.layers.Dense(8)
        self.dense.build(input_shape)

    def call(self, x):
        return self.dense(x)


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
    ],
    ids=["conv-encoder", "conv-in-a-user-model", "third-party-layer"],
)
def test_auto_keeps_the_plain_graph_on_cpu_for_convolutions_and_unknown_code(components):
    assert _compiled(small_vae(SHAPE, **components)).jit_compile is False


@cpu_rule
def test_auto_keeps_the_plain_graph_for_mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_float16")
    assert _compiled(small_vae(SHAPE)).jit_compile is False


def test_auto_is_off_when_eager_or_distributed_and_explicit_choices_are_kept():
    assert _compiled(small_vae(SHAPE), run_eagerly=True).jit_compile is False
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


def test_the_choice_travels_with_the_saved_file(tmp_path):
    for jit_compile in (True, False):
        vae = _compiled(small_vae(SHAPE), jit_compile=jit_compile)
        vae.save(tmp_path / "m.keras")
        assert kv.load_model(tmp_path / "m.keras").jit_compile is jit_compile
