"""A tf.data pipeline of uint8 batches trains the three 8-bit heads (issue 20's
regression: the magnitude check's tf.abs had no uint8 kernel)."""
import numpy as np
import pytest
import tensorflow as tf

import keras_vae as kv

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("likelihood, data", [
    ("bernoulli", RNG.integers(0, 2, (32, 6)).astype("uint8")),
    ("categorical", RNG.integers(0, 256, (32, 6)).astype("uint8")),
    ("logistic_mixture", RNG.integers(0, 256, (32, 6)).astype("uint8")),
])
def test_a_uint8_dataset_trains_with_finite_losses(likelihood, data):
    vae = kv.VAE(kv.encoders.MLPEncoder([8]), kv.decoders.MLPDecoder([8]), latent_dim=2, input_shape=(6,),
                 likelihood=likelihood, seed=0)
    vae.compile(optimizer="adam")
    ds = tf.data.Dataset.from_tensor_slices(data).batch(8)
    history = vae.fit(ds, epochs=2, verbose=0).history
    assert np.all(np.isfinite(history["loss"])) and int(vae.optimizer.iterations.numpy()) == 8
    assert np.all(np.isfinite(vae.elbo(data[:4]).numpy()))
