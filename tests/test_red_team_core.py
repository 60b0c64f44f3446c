"""Issue 20's red-team findings on the model core and the command line: each gets a
clear error before any state changes (weights, optimizer step, files)."""
import json
import os

import keras
import numpy as np
import pytest
import tensorflow_probability as tfp

import keras_vae as kv
from keras_vae import distribute

tfd = tfp.distributions


def _vae(**kwargs):
    return kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(4,), likelihood="gaussian", seed=0, **kwargs)


def _snapshot(vae):
    return [np.asarray(w).copy() for w in vae.weights], int(vae.optimizer.iterations.numpy())


def _unchanged(vae, snapshot):
    weights, step = snapshot
    assert int(vae.optimizer.iterations.numpy()) == step
    for a, b in zip(weights, vae.weights):
        np.testing.assert_array_equal(a, np.asarray(b))


@pytest.fixture
def compiled():
    vae = _vae()
    vae.compile(optimizer="adam")
    return vae


def test_fit_on_an_empty_array_is_refused(compiled):
    before = _snapshot(compiled)
    with pytest.raises(ValueError, match="no examples"):
        compiled.fit(np.zeros((0, 4), "float32"), verbose=0)
    _unchanged(compiled, before)


@pytest.mark.parametrize("size", [0, -1, 2.5, True])
def test_a_batch_size_that_is_not_a_positive_integer_is_refused(compiled, size):
    before = _snapshot(compiled)
    x = np.zeros((8, 4), "float32")
    for method in (compiled.fit, compiled.evaluate, compiled.predict):
        with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
            method(x, batch_size=size, verbose=0)
    _unchanged(compiled, before)


@pytest.mark.parametrize("n", [2.5, 0, True])
def test_sample_refuses_a_count_that_is_not_a_positive_integer(compiled, n):
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        compiled.sample(n, seed=0)


@pytest.mark.parametrize("seed", [1.5, np.float32(2.0)])
def test_a_float_seed_is_refused(compiled, seed):
    with pytest.raises(ValueError, match="seed must be an integer"):
        compiled.sample(2, seed=seed)
    with pytest.raises(ValueError, match="seed must be an integer"):
        compiled.elbo(np.zeros((2, 4), "float32"), seed=seed)


class _MixturePosterior(kv.posteriors.DiagonalGaussianPosterior):
    """A custom posterior whose distribution is not reparameterized."""

    def distribution(self, params):
        loc, scale = self._loc_scale(params)
        return tfd.MixtureSameFamily(
            tfd.Categorical(logits=tf_zeros_like(loc[..., :1])),
            tfd.MultivariateNormalDiag(loc=loc[..., None, :], scale_diag=scale[..., None, :]),
        )


def tf_zeros_like(x):
    import tensorflow as tf

    return tf.zeros_like(x)


def test_a_posterior_that_is_not_reparameterized_is_refused_at_build():
    with pytest.raises(ValueError, match="not reparameterized"):
        kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(4,), posterior=_MixturePosterior())


def test_a_vamp_prior_range_that_excludes_the_data_is_refused():
    with pytest.raises(ValueError, match="init_mean=0.05 lies outside input_range"):
        kv.priors.VampPrior(num_pseudo_inputs=3, input_range=(10.0, 20.0))
    vae = _vae(prior={"name": "vamp", "num_pseudo_inputs": 3, "input_range": [0.0, 1.0]})
    vae.compile(optimizer="adam")
    before = _snapshot(vae)
    with pytest.raises(ValueError, match=r"not inside the VampPrior's input_range \(0.0, 1.0\)"):
        vae.fit(np.full((8, 4), 3.0, "float32"), verbose=0)
    _unchanged(vae, before)


def test_export_refuses_a_score_that_would_exhaust_memory(compiled, tmp_path):
    with pytest.raises(ValueError, match=r"score_samples=10000000 would make the served score hold about .* GiB"):
        compiled.export(str(tmp_path / "serving"), score_samples=10**7)
    assert not (tmp_path / "serving").exists()
    compiled.export(str(tmp_path / "serving"), score_samples=1000)


@pytest.mark.parametrize("task", [{"type": "worker", "index": 5}, {"type": "worker", "index": -1},
                                  {"type": "ps", "index": 0}])
def test_a_tf_config_task_outside_its_cluster_is_refused(task):
    value = json.dumps({"cluster": {"worker": ["a:1", "b:2"]}, "task": task})
    with pytest.raises(ValueError, match="is not in its cluster"):
        distribute.tf_config(value)


def test_the_cli_exits_2_naming_a_task_outside_the_cluster(tmp_path, monkeypatch, capsys):
    from keras_vae import cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}))
    assert cli.main(["train", "--epochs", "1", "--output", "run"]) == 2
    assert "'index': 3" in capsys.readouterr().err
    assert not os.path.exists("run")


def test_ais_flags_without_method_ais_are_refused(tmp_path, capsys):
    from keras_vae import cli

    assert cli.main(["evaluate", str(tmp_path / "none.keras"), "sample", "--num-steps", "100"]) == 2
    assert "--num-steps only apply to AIS" in capsys.readouterr().err


def test_leftovers_of_a_killed_save_or_export_are_removed_by_the_next(compiled, tmp_path):
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    (tmp_path / f".vae.keras.pid{dead}.abc.tmp.keras").write_bytes(b"partial")
    live = tmp_path / f".vae.keras.pid{os.getpid()}.xyz.tmp.keras"  # a live writer's: kept
    live.write_bytes(b"writing")
    compiled.save(tmp_path / "vae.keras")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["vae.keras", live.name])
    base = tmp_path / "serving"
    (base / f".tmp-export-1-pid{dead}-q1").mkdir(parents=True)
    compiled.export(str(base))
    assert sorted(p.name for p in base.iterdir()) == ["1"]
