"""kv.VQVAE beside keras-io's VQ-VAE example at the same architecture and budget (issue 21).

keras-io's ``vq_vae.py`` (Sayak Paul, "Vector-Quantized Variational Autoencoders") is
written out below as it is published — encoder Conv2D 32-64 (3x3, stride 2, ReLU) then a
1x1 Conv2D to 16 channels (7x7x16 codes), 128 codes, decoder Conv2DTranspose 64-32 then
Conv2DTranspose(1, 3), MNIST scaled to [-0.5, 0.5], loss MSE / training-data variance plus
the VQ losses (beta = 0.25), Adam(1e-3), batch 128 — with one change so that it trains
under Keras 3: the codebook is an ``add_weight`` (the example's raw ``tf.Variable`` is not
tracked by Keras 3, so it is neither trained nor saved).

Ours: ``kv.VQVAE`` with the *same* encoder and decoder bodies (keras-io's own functional
models), 128 codes of size 16, a Gaussian likelihood head (a learned scale and a 1x1 affine
on the decoder's output), and its defaults: EMA codebook (0.99), k-means initialisation,
dead-code restarts. Both train for ``--epochs`` on the same data in the same order.

Printed for both, on the MNIST test split: reconstruction error (MSE / data variance, the
example's own measure), perplexity and number of codes in use over the whole test set,
and training images/s.

    python benchmarks/vqvae.py                           # 1 epoch on 30,000 images (~5 min on 2 CPU cores)
    python benchmarks/vqvae.py --epochs 2 --limit 0      # 2 epochs on all 60,000 (~13 min)
    python benchmarks/vqvae.py --epochs 30 --limit 0     # keras-io's budget
"""
from __future__ import annotations

import argparse
import sys
import time

from _common import data_path, machine_line  # noqa: E402  (sets sys.path)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402

import keras_vae as kv  # noqa: E402
from keras_vae import datasets  # noqa: E402

LATENT_DIM, NUM_EMBEDDINGS = 16, 128


# ------------------------------------------------------------- keras-io's example
class KerasIOVectorQuantizer(layers.Layer):
    """keras-io's VectorQuantizer; the codebook is ``add_weight`` (was a raw tf.Variable)."""

    def __init__(self, num_embeddings, embedding_dim, beta=0.25, **kwargs):
        super().__init__(**kwargs)
        self.embedding_dim = embedding_dim
        self.num_embeddings = num_embeddings
        self.beta = beta
        self.embeddings = self.add_weight(
            shape=(self.embedding_dim, self.num_embeddings),
            initializer=keras.initializers.RandomUniform(),  # tf.random_uniform_initializer()
            trainable=True, name="embeddings_vqvae",
        )

    def call(self, x):
        input_shape = tf.shape(x)
        flattened = tf.reshape(x, [-1, self.embedding_dim])
        encoding_indices = self.get_code_indices(flattened)
        encodings = tf.one_hot(encoding_indices, self.num_embeddings)
        quantized = tf.matmul(encodings, self.embeddings, transpose_b=True)
        quantized = tf.reshape(quantized, input_shape)
        commitment_loss = tf.reduce_mean((tf.stop_gradient(quantized) - x) ** 2)
        codebook_loss = tf.reduce_mean((quantized - tf.stop_gradient(x)) ** 2)
        self.add_loss(self.beta * commitment_loss + codebook_loss)
        return x + tf.stop_gradient(quantized - x)

    def get_code_indices(self, flattened_inputs):
        similarity = tf.matmul(flattened_inputs, self.embeddings)
        distances = (
            tf.reduce_sum(flattened_inputs**2, axis=1, keepdims=True)
            + tf.reduce_sum(self.embeddings**2, axis=0)
            - 2 * similarity
        )
        return tf.argmin(distances, axis=1)


def get_encoder(latent_dim=LATENT_DIM):
    encoder_inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(32, 3, activation="relu", strides=2, padding="same")(encoder_inputs)
    x = layers.Conv2D(64, 3, activation="relu", strides=2, padding="same")(x)
    encoder_outputs = layers.Conv2D(latent_dim, 1, padding="same")(x)
    return keras.Model(encoder_inputs, encoder_outputs, name="encoder")


def get_decoder(latent_dim=LATENT_DIM):
    latent_inputs = keras.Input(shape=(7, 7, latent_dim))
    x = layers.Conv2DTranspose(64, 3, activation="relu", strides=2, padding="same")(latent_inputs)
    x = layers.Conv2DTranspose(32, 3, activation="relu", strides=2, padding="same")(x)
    decoder_outputs = layers.Conv2DTranspose(1, 3, padding="same")(x)
    return keras.Model(latent_inputs, decoder_outputs, name="decoder")


def get_vqvae(latent_dim=LATENT_DIM, num_embeddings=NUM_EMBEDDINGS):
    vq_layer = KerasIOVectorQuantizer(num_embeddings, latent_dim, name="vector_quantizer")
    encoder, decoder = get_encoder(latent_dim), get_decoder(latent_dim)
    inputs = keras.Input(shape=(28, 28, 1))
    reconstructions = decoder(vq_layer(encoder(inputs)))
    return keras.Model(inputs, reconstructions, name="vq_vae")


class VQVAETrainer(keras.models.Model):
    def __init__(self, train_variance, latent_dim=LATENT_DIM, num_embeddings=NUM_EMBEDDINGS, **kwargs):
        super().__init__(**kwargs)
        self.train_variance = train_variance
        self.vqvae = get_vqvae(latent_dim, num_embeddings)
        self.total_loss_tracker = keras.metrics.Mean(name="total_loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.vq_loss_tracker = keras.metrics.Mean(name="vq_loss")

    @property
    def metrics(self):
        return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.vq_loss_tracker]

    def train_step(self, x):
        with tf.GradientTape() as tape:
            reconstructions = self.vqvae(x)
            reconstruction_loss = tf.reduce_mean((x - reconstructions) ** 2) / self.train_variance
            total_loss = reconstruction_loss + sum(self.vqvae.losses)
        grads = tape.gradient(total_loss, self.vqvae.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.vqvae.trainable_variables))
        self.total_loss_tracker.update_state(total_loss)
        self.reconstruction_loss_tracker.update_state(reconstruction_loss)
        self.vq_loss_tracker.update_state(sum(self.vqvae.losses))
        return {m.name: m.result() for m in self.metrics}


# ------------------------------------------------------------------------- runs
def usage(codes: np.ndarray) -> tuple[float, int]:
    counts = np.bincount(codes.reshape(-1), minlength=NUM_EMBEDDINGS)
    p = counts[counts > 0] / counts.sum()
    return float(np.exp(-np.sum(p * np.log(p)))), int(np.count_nonzero(counts))


def run_keras_io(x_train, x_test, variance, epochs, batch_size):
    keras.utils.set_random_seed(0)
    trainer = VQVAETrainer(variance)
    trainer.compile(optimizer=keras.optimizers.Adam())
    start = time.perf_counter()
    trainer.fit(x_train, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0)
    seconds = time.perf_counter() - start
    vqvae = trainer.vqvae
    recon = vqvae.predict(x_test, batch_size=512, verbose=0)
    encoder, quantizer = vqvae.get_layer("encoder"), vqvae.get_layer("vector_quantizer")
    z = encoder.predict(x_test, batch_size=512, verbose=0)
    codes = quantizer.get_code_indices(tf.reshape(z, [-1, LATENT_DIM])).numpy()
    return recon, codes, seconds


def run_ours(x_train, x_test, epochs, batch_size):
    keras.utils.set_random_seed(0)
    vq = kv.VQVAE(encoder=get_encoder(), decoder=get_decoder(), num_embeddings=NUM_EMBEDDINGS,
                  embedding_dim=LATENT_DIM, input_shape=(28, 28, 1), likelihood="gaussian", prior=None, seed=0)
    vq.compile(optimizer=keras.optimizers.Adam())
    start = time.perf_counter()
    vq.fit(x_train, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0)
    seconds = time.perf_counter() - start
    return vq.reconstruct(x_test, batch_size=512), vq.codes(x_test, batch_size=512), seconds


def main(argv=None) -> list:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None, help="MNIST folder (default: $KERAS_VAE_DATA)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--limit", type=int, default=30000, help="first N training images only (0: all 60,000)")
    parser.add_argument("--test-limit", type=int, default=0, help="first N test images only (0: all 10,000)")
    args = parser.parse_args(argv)

    path = data_path(args.data)
    x_train, _ = datasets.load_mnist("train", path=path)
    x_test, _ = datasets.load_mnist("test", path=path)
    x_train = np.asarray(x_train, np.float32).reshape(-1, 28, 28, 1)[: args.limit or None]
    x_test = np.asarray(x_test, np.float32).reshape(-1, 28, 28, 1)[: args.test_limit or None]
    variance = float(np.var(x_train))  # keras-io: np.var(x_train / 255.0)
    x_train, x_test = x_train - 0.5, x_test - 0.5  # keras-io: x / 255.0 - 0.5

    print(machine_line())
    print(f"MNIST, {len(x_train)} training images, {args.epochs} epoch(s), batch {args.batch_size}; "
          f"7x7x{LATENT_DIM} codes, K={NUM_EMBEDDINGS}; test split of {len(x_test)} images")
    rows = []
    for name, run in (
        ("keras-io vq_vae.py (codebook as add_weight)", lambda: run_keras_io(x_train, x_test, variance, args.epochs, args.batch_size)),
        ("kv.VQVAE (EMA, k-means, restarts)", lambda: run_ours(x_train, x_test, args.epochs, args.batch_size)),
    ):
        recon, codes, seconds = run()
        error = float(np.mean((np.asarray(recon) - x_test) ** 2) / variance)
        perplexity, in_use = usage(np.asarray(codes))
        rows.append((name, error, perplexity, in_use, len(x_train) * args.epochs / seconds))
        print(f"{name:46s} test MSE/var {error:.4f} | perplexity {perplexity:6.1f} | codes in use "
              f"{in_use:3d}/{NUM_EMBEDDINGS} | {rows[-1][4]:7.0f} images/s", flush=True)
    (_, e_io, _, u_io, _), (_, e_kv, _, u_kv, _) = rows
    verdict = "yes" if e_kv <= e_io and u_kv > u_io else "NO"
    print(f"ours reconstructs at least as well with more codes in use: {verdict}")
    return rows


if __name__ == "__main__":
    main()
    sys.exit(0)
