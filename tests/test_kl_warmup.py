"""KL warm-up: beta follows the schedule during fit and is saved with the model."""
import keras
import numpy as np
import pytest

import keras_vae as kv
from keras_vae.testing import example_data, small_vae


def test_beta_rises_over_the_warmup_epochs_and_is_saved(tmp_path):
    seen = []

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(self.model.beta)

    vae = small_vae((4,))
    vae.compile(optimizer="adam", jit_compile=False)
    vae.fit(example_data((4,), n=16), epochs=3, batch_size=8, verbose=0,
            callbacks=[kv.callbacks.KLWarmup(epochs=4), Record()])
    assert seen == pytest.approx([0.0, 0.25, 0.5])
    vae.save(tmp_path / "m.keras")
    assert kv.load_model(tmp_path / "m.keras").beta == 0.5


def test_warmup_needs_an_objective_with_beta():
    vae = small_vae((4,), objective={"name": "iwae", "num_samples": 2})
    vae.compile(optimizer="adam", jit_compile=False)
    with pytest.raises(ValueError, match="KLWarmup needs an objective with a beta"):
        vae.fit(np.full((8, 4), 0.5, "float32"), epochs=1, verbose=0, callbacks=[kv.callbacks.KLWarmup(2)])
    with pytest.raises(ValueError, match="epochs must be an integer >= 1"):
        kv.callbacks.KLWarmup(0)


def test_warmup_raises_beta_for_a_hierarchical_model_and_scales_every_groups_kl():
    """Sønderby et al.'s warm-up on a ladder VAE: beta 0 -> 1 over the epochs, and
    the loss is reconstruction + beta * (the sum of the groups' KLs) at each."""
    seen = []

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((self.model.beta, logs))

    h = kv.HierarchicalVAE(latent_dims=(3, 2), input_shape=(6,), likelihood="bernoulli", inference="ladder",
                           q_hidden=[[8], [8]], p_hidden=[[8], [8]], seed=0)
    h.compile(optimizer="adam", jit_compile=False)  # XLA's compile would cost more than the fit
    h.fit(example_data((6,), n=16).round(), epochs=3, batch_size=8, verbose=0,
          callbacks=[kv.callbacks.KLWarmup(epochs=3), Record()])
    assert [beta for beta, _ in seen] == pytest.approx([0.0, 1 / 3, 2 / 3])
    for beta, logs in seen:
        assert logs["kl"] == pytest.approx(logs["kl_1"] + logs["kl_2"], rel=1e-4)
        assert logs["loss"] == pytest.approx(logs["reconstruction_loss"] + beta * logs["kl"], rel=1e-4)
