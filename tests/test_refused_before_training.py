"""Inputs that cannot train are refused before the first step: an objective whose
latent samples cannot fit the memory budget, sample weights that leave every
example out."""
import numpy as np
import pytest

import keras_vae as kv


def _data():
    return (np.random.default_rng(0).random((64, 784)) > 0.5).astype("float32")


def test_fit_refuses_an_iwae_k_over_the_memory_budget_before_any_step():
    vae = kv.VAE("mlp", "mlp", latent_dim=4, input_shape=(784,),
                 objective=kv.objectives.IWAE(num_samples=100_000))
    with pytest.raises(ValueError, match=r"IWAE num_samples=100000 at batch_size=64 .* GiB.*memory budget"):
        vae.fit(_data(), batch_size=64, epochs=1, verbose=0)
    optimizer = getattr(vae, "optimizer", None)
    assert optimizer is None or not optimizer.built or int(optimizer.iterations.numpy()) == 0


def test_the_budget_can_be_raised_or_turned_off_and_k_above_the_cap_is_refused():
    small = kv.objectives.IWAE(num_samples=50)
    assert small.check_sample_budget(128, 784, 20) == kv.objectives.sample_memory(50, 128, 784, 20)
    assert kv.objectives.IWAE(num_samples=100_000, memory_budget=None).check_sample_budget(128, 784, 20) > 2**31
    with pytest.raises(ValueError, match="num_samples"):
        kv.objectives.IWAE(num_samples=100_001)


def test_all_zero_sample_weights_are_refused_before_any_step():
    vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(784,))
    with pytest.raises(ValueError, match="is 0 for all 64 examples"):
        vae.fit(_data(), sample_weight=np.zeros(64), epochs=1, verbose=0)
    optimizer = getattr(vae, "optimizer", None)
    assert optimizer is None or not optimizer.built or int(optimizer.iterations.numpy()) == 0
