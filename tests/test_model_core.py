"""The shared model core: a model class needs only what makes it different.

Two toy classes, each well under 100 lines, get training, evaluation, exact save /
load / resume, export and the command line's run folder from
``keras_vae.models.LatentVariableModel`` without writing any of it.
"""
import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_vae as kv
from keras_vae.models import LatentVariableModel


# ------------------------------------------------------------------ toy 1 (31 lines)
@kv.register("objective", "toy_reconstruction")
class Reconstruction(kv.objectives.Objective):
    """-log p(x | encoder(x)): the loss of a deterministic autoencoder."""

    metric_names = ("reconstruction_loss",)

    def __call__(self, terms):
        return -terms["log_px"], {"reconstruction_loss": -terms["log_px"]}


@keras.saving.register_keras_serializable(package="tests")
class Autoencoder(LatentVariableModel):
    """x -> encoder -> code -> decoder -> likelihood head: no latent distribution."""

    def __init__(self, code_size=2, input_shape=None, likelihood="bernoulli", objective="toy_reconstruction", **kwargs):
        super().__init__(input_shape=input_shape, objective=objective, **kwargs)
        self.code_size = code_size
        self.encoder = kv.get("encoder", {"name": "mlp", "hidden_units": [8]})
        self.code = keras.layers.Dense(code_size)
        self.decoder = kv.get("decoder", {"name": "mlp", "hidden_units": [8]})
        self.likelihood_layer = kv.get("likelihood", likelihood)
        self._finish_init(input_shape)

    def _components_to_build(self):
        return (self.encoder, self.code, self.decoder, self.likelihood_layer)

    def _forward_build(self, components, data_shape):
        encoder, code, decoder, likelihood = components
        likelihood.configure(data_shape=data_shape, latent_dim=self.code_size)
        likelihood(decoder(code(encoder(tf.zeros((1, *data_shape))))))

    def terms(self, x, num_samples=1, seed=None, training=False):
        params = self.likelihood_layer(self.decoder(self.code(self.encoder(x, training=training))))
        return {"log_px": self.likelihood_layer.log_prob(params[None], x)[0]}

    def get_config(self):
        return {**super().get_config(), "code_size": self.code_size,
                "likelihood": keras.saving.serialize_keras_object(self.likelihood_layer)}


# ------------------------------------------------------------------ toy 2 (9 lines)
@kv.register("model", "two_sample_vae")
class TwoSampleVAE(kv.VAE):
    """A VAE whose training terms always average two samples of z per example."""

    def terms(self, x, num_samples=1, seed=None, training=False):
        return super().terms(x, num_samples=max(2, num_samples), seed=seed, training=training)


def _data(n=64, shape=(6,)):
    return (np.random.default_rng(0).uniform(size=(n, *shape)) > 0.5).astype("float32")


def test_a_model_on_the_base_trains_evaluates_saves_and_resumes(tmp_path):
    x = _data()
    model = Autoencoder(input_shape=(6,), seed=3)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = model.fit(x, batch_size=16, epochs=4, verbose=0).history
    assert set(history) == {"loss", "reconstruction_loss"}
    assert history["loss"][-1] < history["loss"][0]
    scores = model.evaluate(x, batch_size=16, verbose=0, return_dict=True)
    assert np.isfinite(scores["loss"])
    # The base's input checks come with it.
    with pytest.raises(ValueError, match="NaN"):
        model.fit(np.full_like(x, np.nan), verbose=0)
    model.save(tmp_path / "ae.keras")
    loaded = kv.load_model(tmp_path / "ae.keras")
    assert isinstance(loaded, Autoencoder) and loaded.code_size == 2
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # Exact resume: the optimizer state and the step counter came back too.
    model.fit(x, batch_size=16, epochs=1, shuffle=False, verbose=0)
    loaded.fit(x, batch_size=16, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)


def test_a_vae_subclass_gets_export_and_the_cli_run_folder(tmp_path, monkeypatch):
    model = kv.get("model", {"name": "two_sample_vae", "encoder": "mlp", "decoder": "mlp",
                             "latent_dim": 2, "input_shape": (6,), "seed": 1})
    assert isinstance(model, TwoSampleVAE)
    model.compile(optimizer="adam")
    model.fit(_data(), batch_size=16, epochs=1, verbose=0)
    served = tf.saved_model.load(model.export(str(tmp_path / "serving")))
    assert served.signatures["score"](x=tf.constant(_data(4)))["log_px"].shape == (4,)

    from keras_vae import cli

    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "data.npy", _data(200))
    code = cli.main(["train", str(tmp_path / "data.npy"), "--model", "two_sample_vae",
                     "--epochs", "1", "--latent-dim", "2", "--output", "run"])
    assert code == 0
    assert isinstance(kv.load_model("run/model.keras"), TwoSampleVAE)
    assert json.load(open("run/config.json"))["model"] == "two_sample_vae"
    assert os.path.isdir("run/serving")
