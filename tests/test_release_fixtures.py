"""Files saved by an earlier release keep loading, score the same and resume exactly.

The fixtures in ``tests/fixtures/release_0`` were written by
``tests/fixtures/make_fixtures.py`` with the release before the model core was split
into ``keras_vae/models/`` (``model.py`` then held the whole VAE). Weight paths in a
``.keras`` file follow attribute names, so a renamed attribute fails here.
"""
import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_vae as kv
from fixtures import make_fixtures as fx

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "release_0"
EXPECTED = np.load(FIXTURES / "expected.npz")
TOLERANCE = {"rtol": 1e-6, "atol": 1e-6}


def _expected_weights(name: str, kind: str) -> list[np.ndarray]:
    keys = sorted(
        (k for k in EXPECTED.files if k.startswith(f"{name}/{kind}/")),
        key=lambda k: int(k.rsplit("/", 1)[1]),
    )
    return [EXPECTED[k] for k in keys]


@pytest.mark.parametrize("name", list(fx.COMBINATIONS))
def test_old_file_loads_and_scores_the_same(name):
    vae = kv.load_model(FIXTURES / f"{name}.keras")
    assert isinstance(vae, kv.VAE)
    np.testing.assert_allclose(vae.elbo(fx.data(), seed=3).numpy(), EXPECTED[f"{name}/elbo"], **TOLERANCE)
    # The optimizer state came back with the weights (no "skipping variable loading").
    assert int(vae.optimizer.iterations.numpy()) == fx.TRAIN_STEPS


@pytest.mark.parametrize("name", list(fx.COMBINATIONS))
def test_old_file_resumes_training_exactly(name):
    vae = kv.load_model(FIXTURES / f"{name}.keras")
    fx.train(vae, fx.RESUME_STEPS)
    expected = _expected_weights(name, "resumed")
    assert len(vae.weights) == len(expected)
    for got, want in zip(fx.weights(vae), expected):
        np.testing.assert_allclose(got, want, **TOLERANCE)


@pytest.mark.parametrize("name", list(fx.COMBINATIONS))
def test_fixed_seed_training_gives_the_recorded_weights(name):
    vae = fx.build(name)
    vae.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=False)
    fx.train(vae, fx.TRAIN_STEPS + fx.RESUME_STEPS)
    for got, want in zip(fx.weights(vae), _expected_weights(name, "scratch")):
        np.testing.assert_allclose(got, want, **TOLERANCE)


def test_old_saved_model_serves_the_same():
    loaded = tf.saved_model.load(str(FIXTURES / "export" / "1"))
    out = loaded.signatures["decode"](z=tf.constant(EXPECTED["export/z"]))
    np.testing.assert_allclose(out["x_mean"].numpy(), EXPECTED["export/decode"], **TOLERANCE)
    # And today's code exports the same model to the same decode.
    vae = kv.load_model(FIXTURES / f"{next(iter(fx.COMBINATIONS))}.keras")
    np.testing.assert_allclose(vae.decode(EXPECTED["export/z"]).numpy(), EXPECTED["export/decode"], **TOLERANCE)
