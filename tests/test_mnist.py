"""Training on a slice of real MNIST improves the held-out ELBO."""
import keras
import pytest
import numpy as np

import keras_vae as kv
from keras_vae.datasets import load_mnist

pytestmark = pytest.mark.xla  # "auto" chooses XLA here, as for users


def test_training_on_real_mnist_improves_held_out_elbo(mnist_dir):
    x_train, _ = load_mnist("train", path=mnist_dir)
    x_test, _ = load_mnist("test", path=mnist_dir)
    x_train, x_test = x_train[:3000], x_test[:1000]
    vae = kv.VAE(
        encoder=kv.encoders.MLPEncoder([200]),
        decoder=kv.decoders.MLPDecoder([200]),
        latent_dim=10,
        input_shape=(28, 28, 1),
        seed=0,
    )
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    untrained = vae.evaluate(x_test, batch_size=500, verbose=0, return_dict=True)["elbo"]
    history = vae.fit(x_train, epochs=3, batch_size=100, verbose=0, validation_data=(x_test,))
    val_elbo = history.history["val_elbo"]
    assert val_elbo[-1] > val_elbo[0] > untrained
    # 784 Bernoulli pixels: an untrained model sits near 784 ln 2 = 543 nats; three
    # epochs on 3,000 digits get well below 250.
    assert untrained < -500 and val_elbo[-1] > -250, (untrained, val_elbo)
    assert np.all(np.isfinite(vae.sample(4, seed=0).numpy()))
