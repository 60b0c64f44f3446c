"""Training and inference API of VAE."""
import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_vae as kv
from helpers import example_data, small_vae

SHAPE = (6, 6, 1)


@pytest.fixture
def x():
    return example_data(SHAPE, n=64)


def test_fit_reports_metrics_in_nats_and_they_add_up(x):
    vae = small_vae(SHAPE, beta=2.0)
    vae.compile(optimizer="adam")
    history = vae.fit(x, epochs=2, batch_size=16, verbose=0, validation_data=(x,))
    logs = {k: v[-1] for k, v in history.history.items()}
    assert set(logs) == {"loss", "elbo", "reconstruction_loss", "kl"} | {
        f"val_{k}" for k in ("loss", "elbo", "reconstruction_loss", "kl")
    }
    np.testing.assert_allclose(logs["elbo"], -(logs["reconstruction_loss"] + logs["kl"]), rtol=1e-5)
    np.testing.assert_allclose(logs["loss"], logs["reconstruction_loss"] + 2.0 * logs["kl"], rtol=1e-5)
    # 36 Bernoulli pixels of uniform data: reconstruction near 36 * ln 2 nats.
    assert 15 < logs["reconstruction_loss"] < 36


def test_evaluate_matches_mean_elbo_and_is_deterministic(x):
    vae = small_vae(SHAPE)
    vae.compile(optimizer="adam")
    first = vae.evaluate(x, batch_size=64, verbose=0, return_dict=True)
    second = vae.evaluate(x, batch_size=64, verbose=0, return_dict=True)
    assert first == second
    assert abs(first["elbo"] - float(np.mean(vae.elbo(x)))) < 0.5  # one-sample MC noise


def test_fit_accepts_tf_data_and_xy_tuples(x):
    vae = small_vae(SHAPE)
    vae.compile(optimizer="adam")
    labels = np.arange(len(x))
    vae.fit(tf.data.Dataset.from_tensor_slices(x).batch(16), epochs=1, verbose=0)
    vae.fit(tf.data.Dataset.from_tensor_slices((x, labels)).batch(16), epochs=1, verbose=0)
    vae.fit(x, labels, epochs=1, batch_size=16, verbose=0)
    assert int(vae.optimizer.iterations) == 12


def test_sample_weights_are_honoured(x):
    vae = small_vae(SHAPE)
    vae.compile(optimizer="adam")
    weights = np.r_[np.ones(32), np.zeros(32)].astype("float32")
    weighted = vae.evaluate(x, sample_weight=weights, batch_size=64, verbose=0, return_dict=True)
    first_half = vae.evaluate(x[:32], batch_size=32, verbose=0, return_dict=True)
    # Same examples, same evaluation noise per position: the weighted mean equals
    # the mean over the examples with weight 1.
    np.testing.assert_allclose(weighted["kl"], first_half["kl"], rtol=1e-5)
    before = [w.numpy() for w in vae.trainable_weights]
    # Weights that leave every example out are refused (Keras would train on nothing
    # and report a loss of 0.0), and nothing moves.
    with pytest.raises(ValueError, match="is 0 for all 64 examples"):
        vae.fit(x, sample_weight=np.zeros(64, "float32"), batch_size=64, epochs=1, verbose=0)
    moved = [np.abs(w.numpy() - b).max() for w, b in zip(vae.trainable_weights, before)]
    assert max(moved) == 0.0


def test_inference_api_eager_and_in_tf_function(x):
    vae = small_vae(SHAPE, latent_dim=3)
    q = vae.posterior(x[:4])
    assert q.event_shape == (3,) and q.batch_shape == (4,)
    z = vae.encode(x[:4])
    np.testing.assert_allclose(z, q.mean())
    assert vae.encode(x[:4], sample=True).shape == (4, 3)
    assert vae.decode(z).shape == (4, *SHAPE)
    sampled = vae.decode(z, sample=True).numpy()
    assert set(np.unique(sampled)) <= {0.0, 1.0}
    np.testing.assert_allclose(vae.reconstruct(x[:4]), vae.decode(z), rtol=1e-6)
    np.testing.assert_allclose(vae(x[:4]), vae.reconstruct(x[:4]), rtol=1e-6)
    np.testing.assert_allclose(vae.predict(x[:4], verbose=0), vae.reconstruct(x[:4]), rtol=1e-6)
    assert vae.elbo(x[:4]).shape == (4,)

    @tf.function
    def graph(batch):
        return vae.encode(batch), vae.decode(vae.encode(batch)), vae.sample(2), vae.elbo(batch, seed=1)

    z_graph, x_graph, samples, elbo = graph(tf.constant(x[:4]))
    np.testing.assert_allclose(z_graph, z, rtol=1e-6)
    assert samples.shape == (2, *SHAPE) and elbo.shape == (4,)


def test_sample_seed_contract():
    vae = small_vae(SHAPE)
    np.testing.assert_array_equal(vae.sample(3, seed=5), vae.sample(3, seed=5))
    assert not np.array_equal(vae.sample(3, seed=5), vae.sample(3, seed=6))
    assert not np.array_equal(vae.sample(3), vae.sample(3))


def test_model_builds_lazily_from_data(x):
    vae = kv.VAE(encoder="mlp", decoder="mlp", latent_dim=2)
    assert vae.data_shape is None
    vae.compile(optimizer="adam")
    vae.fit(x, epochs=1, batch_size=32, verbose=0)
    assert vae.data_shape == SHAPE and vae.built


def test_compile_rejects_loss_and_metrics():
    vae = small_vae(SHAPE)
    with pytest.raises(ValueError, match="computes its own loss"):
        vae.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match="reports the loss and its objective"):
        vae.compile(optimizer="adam", metrics=["mae"])


def test_gaussian_likelihood_on_real_valued_data():
    data = example_data((5,), n=64, low=-3, high=3)
    vae = kv.VAE(encoder="mlp", decoder="mlp", latent_dim=2, input_shape=(5,),
                 likelihood={"name": "gaussian", "scale": "shared"})
    vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    before = vae.evaluate(data, verbose=0, return_dict=True)["elbo"]
    vae.fit(data, epochs=30, batch_size=32, verbose=0)
    assert vae.evaluate(data, verbose=0, return_dict=True)["elbo"] > before


def test_loss_metric_includes_regularization_losses(x):
    encoder = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(
        8, kernel_regularizer=keras.regularizers.L2(1.0))])
    vae = small_vae(SHAPE, encoder=encoder)
    vae.compile(optimizer="adam")
    logs = vae.evaluate(x, verbose=0, return_dict=True)
    penalty = float(sum(vae.losses))
    assert penalty > 0.1
    np.testing.assert_allclose(logs["loss"], logs["reconstruction_loss"] + logs["kl"] + penalty, rtol=1e-4)


def test_beta_can_change_between_fits(x):
    vae = small_vae(SHAPE)
    vae.compile(optimizer="adam")
    vae.fit(x, epochs=1, batch_size=32, verbose=0)
    vae.beta = 3.0
    assert vae.objective.beta == 3.0 and vae.get_config()["objective"]["config"]["beta"] == 3.0
    logs = {k: v[-1] for k, v in vae.fit(x, epochs=1, batch_size=64, verbose=0).history.items()}
    np.testing.assert_allclose(logs["loss"], logs["reconstruction_loss"] + 3.0 * logs["kl"], rtol=1e-5)
    with pytest.raises(ValueError, match="beta must be"):
        vae.beta = -1.0


def test_beta_set_by_a_callback_takes_effect_at_the_next_step(x):
    class Anneal(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                self.model.beta = 0.0

    vae = small_vae(SHAPE)
    vae.compile(optimizer="adam")
    history = vae.fit(x, epochs=2, batch_size=32, verbose=0, callbacks=[Anneal()]).history
    np.testing.assert_allclose(history["loss"][0], history["reconstruction_loss"][0] + history["kl"][0], rtol=1e-5)
    np.testing.assert_allclose(history["loss"][1], history["reconstruction_loss"][1], rtol=1e-5)
    assert history["kl"][1] > 0


def test_unseeded_sampling_works_under_op_determinism():
    import subprocess
    import sys

    script = (
        "import numpy as np, tensorflow as tf, keras, keras_vae as kv\n"
        "keras.utils.set_random_seed(1); tf.config.experimental.enable_op_determinism()\n"
        "vae = kv.VAE('mlp', 'mlp', latent_dim=2, input_shape=(4,), likelihood='gaussian')\n"
        "print(vae.encode(np.zeros((2, 4), 'float32'), sample=True).shape, vae.sample(2).shape)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "(2, 2) (2, 4)" in out.stdout, out.stderr[-2000:]
