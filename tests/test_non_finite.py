"""Nothing non-finite ships: a diverging fit stops with an error naming the epoch, the
step and the likely cause; diverged weights are neither saved nor exported; the CLI
exits non-zero and leaves no NaN model behind."""
import os

import keras
import numpy as np
import pytest

import keras_vae as kv
from keras_vae.models import TrainingDivergedError

pytestmark = pytest.mark.xla  # "auto" chooses XLA here, as for users


def _gaussian_vae():
    keras.utils.set_random_seed(0)
    return kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(5,), likelihood="gaussian", seed=0)


def _data(n=64):
    return np.random.default_rng(0).normal(size=(n, 5)).astype("float32")


class InjectNaN(keras.callbacks.Callback):
    """Sets one decoder weight to NaN before batch ``at`` of epoch ``epoch``."""

    def __init__(self, epoch, at):
        super().__init__()
        self.epoch, self.at, self.current = epoch, at, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if self.current == self.epoch and batch == self.at:
            kernel = self.model.decoder.weights[0]
            value = np.asarray(kernel).copy()
            value.flat[0] = np.nan
            kernel.assign(value)


def test_a_nan_injected_mid_training_stops_fit_and_nothing_nan_is_saved(tmp_path):
    vae = _gaussian_vae()
    vae.compile(optimizer="adam")
    vae.fit(_data(), batch_size=16, epochs=1, verbose=0)
    good = tmp_path / "good.keras"
    vae.save(good)
    before = good.read_bytes()
    with pytest.raises(TrainingDivergedError, match=r"epoch 2, step 10 \(batch 2 of the epoch\).*learning rate"):
        vae.fit(_data(), batch_size=16, epochs=3, verbose=0, callbacks=[InjectNaN(epoch=1, at=1)])
    with pytest.raises(ValueError, match="not finite"):
        vae.save(good)
    with pytest.raises(ValueError, match="not finite"):
        vae.export(str(tmp_path / "serving"))
    assert good.read_bytes() == before
    assert not (tmp_path / "serving").exists()
    assert np.all(np.isfinite(kv.load_model(good).elbo(_data(8), seed=0)))


def test_a_learning_rate_of_ten_stops_fit_with_the_cause():
    vae = _gaussian_vae()
    vae.compile(optimizer=keras.optimizers.SGD(10.0))
    x = _data(256) * 100.0
    with pytest.raises(TrainingDivergedError, match=r"learning rate too high \(it is 10; try 1\)"):
        vae.fit(x, batch_size=16, epochs=20, verbose=0)


def test_a_checkpoint_callback_never_sees_the_diverged_step(tmp_path):
    vae = _gaussian_vae()
    vae.compile(optimizer="adam")
    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"), save_freq=1)
    with pytest.raises(TrainingDivergedError):
        vae.fit(_data(), batch_size=16, epochs=2, verbose=0, callbacks=[InjectNaN(epoch=0, at=2), backup])
    restored = _gaussian_vae()
    restored.compile(optimizer="adam")
    # The checkpoint holds the last finite step (batch 2's), which trains on.
    restored.fit(_data(), batch_size=16, epochs=1, verbose=0,
                 callbacks=[keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))])
    assert all(np.all(np.isfinite(np.asarray(w))) for w in restored.weights)


def test_the_cli_exits_non_zero_and_writes_no_model_when_training_diverges(tmp_path, monkeypatch, capsys):
    from keras_vae import cli

    monkeypatch.chdir(tmp_path)
    np.save("counts.npy", np.random.default_rng(0).normal(size=(200, 5)).astype("float32") * 1e3)
    code = cli.main(["train", "counts.npy", "--likelihood", "gaussian", "--likelihood-options",
                     '{"scale": 1e-30}', "--learning-rate", "10", "--epochs", "3", "--output", "run"])
    assert code == 1
    assert "diverged" in capsys.readouterr().err
    assert not os.path.exists("run/model.keras") and not os.path.exists("run/serving")
