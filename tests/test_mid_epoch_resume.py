"""``keras.callbacks.BackupAndRestore(save_freq=N)`` resumes exactly: an interrupted
run continues at the batch after its last backup, and ends with the weights of an
uninterrupted run (Keras alone restarts the epoch and replays the batches before it)."""
import keras
import numpy as np
import pytest

import keras_vae as kv

EPOCHS, BATCH, N = 3, 16, 96  # 6 batches per epoch


class Interrupt(keras.callbacks.Callback):
    """Stops the process (an exception) after the given batch of the given epoch."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.at, self.epoch = (epoch, batch), None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise KeyboardInterrupt(f"interrupted after epoch {self.epoch}, batch {batch}")


@pytest.fixture(autouse=True)
def _several_steps_per_call(monkeypatch):
    # These fits are short: let compile's steps_per_execution="auto" run 32 steps per
    # call in them anyway (runs with an Interrupt callback still take one), so the
    # resume is tested across both.
    from keras_vae.models import _steps_per_execution

    monkeypatch.setattr(_steps_per_execution, "MIN_STEPS", 0)


def _vae():
    keras.utils.set_random_seed(3)  # the same initial weights in every run
    vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(12,), seed=3)
    vae.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=False)
    return vae


def _data():
    return (np.random.default_rng(0).random((N, 12)) > 0.5).astype("float32")


def _fit(vae, backup_dir, *extra, save_freq=2):
    backup = keras.callbacks.BackupAndRestore(str(backup_dir), save_freq=save_freq)
    return vae.fit(_data(), batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0,
                   callbacks=[backup, *extra])


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    vae = _vae()
    _fit(vae, tmp_path_factory.mktemp("straight"))
    return [np.asarray(w) for w in vae.weights], int(vae.optimizer.iterations.numpy())


def test_an_interrupted_run_ends_with_the_weights_of_an_uninterrupted_one(tmp_path, uninterrupted):
    weights, steps = uninterrupted
    # Mid-epoch, at an epoch's last batch, and again inside the epoch just resumed.
    for epoch, batch in [(0, 1), (1, 5), (2, 3)]:  # each interruption comes right after a backup (save_freq=2)
        with pytest.raises(KeyboardInterrupt):
            _fit(_vae(), tmp_path, Interrupt(epoch, batch))
    vae = _vae()
    _fit(vae, tmp_path)
    assert int(vae.optimizer.iterations.numpy()) == steps == EPOCHS * N // BATCH
    for got, want in zip(vae.weights, weights):
        np.testing.assert_array_equal(np.asarray(got), want)


def test_keras_alone_would_replay_the_batches_before_the_backup(tmp_path, uninterrupted):
    """The defect this fixes, shown on a plain Keras step count: without the skip the
    resumed run takes more steps than the uninterrupted one."""
    from keras_vae.models import _mid_epoch_resume

    with pytest.raises(KeyboardInterrupt):
        _fit(_vae(), tmp_path, Interrupt(1, 3))
    vae = _vae()
    original = _mid_epoch_resume.batches_to_skip
    try:
        _mid_epoch_resume.batches_to_skip = lambda model, backup: 0
        _fit(vae, tmp_path)
    finally:
        _mid_epoch_resume.batches_to_skip = original
    assert int(vae.optimizer.iterations.numpy()) == uninterrupted[1] + 4
