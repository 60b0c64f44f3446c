"""Steady-state training throughput: keras_vae against a hand-written Keras VAE.

The hand-written model is the pattern most Keras users write (the keras.io VAE
example): a ``Sampling`` layer, a custom ``train_step``, sigmoid outputs with
``binary_crossentropy`` and the analytic Gaussian KL written out. Both models train
on the same MNIST images with the same architecture, batch size and optimizer, in
the same process, alternating, and the median epoch time after a warm-up epoch is
reported.

By default each model is compiled the way its users compile it, ``compile(optimizer=adam)``:
Keras' ``jit_compile="auto"`` never uses XLA on a CPU-only machine, while keras_vae's
compiles dense VAEs with XLA (``keras_vae/_xla.py``); keras_vae runs the steps per call its
``steps_per_execution="auto"`` gives a long fit (the timed epochs stand for one; these
short fits alone would get one step per call). ``--jit-compile true`` / ``false``
gives both models the same setting instead, which isolates what the setting is worth from
what the rest of the step costs. The chosen setting is printed per model.

For the MLP the run also measures the in-graph matrix-product bound: the step's
forward and backward matrix products alone (784-400-40 encoder, 20-400-784 decoder,
batch 128), looped ``--graph-steps`` times inside one XLA graph, and prints
keras_vae's training rate as a fraction of it. ``--profile`` splits keras_vae's MLP
step into matrix products, sampling, element-wise work, the optimizer update (with
the metrics) and framework overhead, from timed sub-graphs each looped inside one
graph: the bound; the step's random draws alone; the loss and its gradients; the
whole update (``_update``, optimizer included); and ``fit``'s time per step. Each part
is the difference of two consecutive rows, so the parts add up to ``fit``'s step.

Usage:
    python benchmarks/throughput.py [--data DIR] [--images 12800] [--epochs 3] [--rounds 2]
                                    [--arch mlp conv] [--steps-per-execution N]
                                    [--jit-compile auto|true|false] [--profile]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers, ops  # noqa: E402

import keras_vae as kv  # noqa: E402
from keras_vae.datasets import DatasetNotFoundError, load_mnist, load_sample  # noqa: E402
from keras_vae.models import _steps_per_execution  # noqa: E402

BATCH = 128


# ----------------------------------------------------------- the hand-written VAE
class Sampling(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        epsilon = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


class HandWrittenVAE(keras.Model):
    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder = encoder, decoder
        self.total_loss_tracker = keras.metrics.Mean(name="total_loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):
        return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

    def train_step(self, data):
        with tf.GradientTape() as tape:
            z_mean, z_log_var, z = self.encoder(data)
            reconstruction = self.decoder(z)
            reconstruction_loss = ops.mean(
                ops.sum(keras.losses.binary_crossentropy(data, reconstruction), axis=(1, 2))
            )
            kl_loss = -0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
            kl_loss = ops.mean(ops.sum(kl_loss, axis=1))
            total_loss = reconstruction_loss + kl_loss
        grads = tape.gradient(total_loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        self.total_loss_tracker.update_state(total_loss)
        self.reconstruction_loss_tracker.update_state(reconstruction_loss)
        self.kl_loss_tracker.update_state(kl_loss)
        return {m.name: m.result() for m in self.metrics}


def hand_written(arch: str) -> keras.Model:
    latent = 20 if arch == "mlp" else 2
    inputs = keras.Input((28, 28, 1))
    if arch == "mlp":
        h = layers.Dense(400, activation="relu")(layers.Flatten()(inputs))
    else:
        h = layers.Conv2D(32, 3, activation="relu", strides=2, padding="same")(inputs)
        h = layers.Conv2D(64, 3, activation="relu", strides=2, padding="same")(h)
        h = layers.Dense(16, activation="relu")(layers.Flatten()(h))
    z_mean, z_log_var = layers.Dense(latent)(h), layers.Dense(latent)(h)
    encoder = keras.Model(inputs, [z_mean, z_log_var, Sampling()([z_mean, z_log_var])])
    z_in = keras.Input((latent,))
    if arch == "mlp":
        g = layers.Dense(400, activation="relu")(z_in)
        out = layers.Reshape((28, 28, 1))(layers.Dense(784, activation="sigmoid")(g))
    else:
        g = layers.Reshape((7, 7, 64))(layers.Dense(7 * 7 * 64, activation="relu")(z_in))
        g = layers.Conv2DTranspose(64, 3, activation="relu", strides=2, padding="same")(g)
        g = layers.Conv2DTranspose(32, 3, activation="relu", strides=2, padding="same")(g)
        out = layers.Conv2DTranspose(1, 3, activation="sigmoid", padding="same")(g)
    return HandWrittenVAE(encoder, keras.Model(z_in, out))


def ours(arch: str) -> kv.VAE:
    if arch == "mlp":
        return kv.VAE(encoder=kv.encoders.MLPEncoder([400]), decoder=kv.decoders.MLPDecoder([400]),
                      latent_dim=20, input_shape=(28, 28, 1), likelihood="bernoulli")
    return kv.VAE(encoder=kv.encoders.ConvEncoder([32, 64], hidden_units=[16]),
                  decoder=kv.decoders.ConvDecoder([64, 32]),
                  latent_dim=2, input_shape=(28, 28, 1), likelihood="bernoulli")


class EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.start)


def epoch_times(model, x, epochs: int) -> list[float]:
    timer = EpochTimer()
    timer.times = []
    model.fit(x, epochs=epochs, batch_size=BATCH, verbose=0, shuffle=True, callbacks=[timer])
    return timer.times


# ------------------------------------------------ in-graph bound and the profile
def per_step_seconds(body, state, steps: int, rounds: int) -> float:
    """Median seconds per iteration of ``state = body(i, state)`` looped ``steps``
    times inside one XLA-compiled graph (compiled and run once first). Every body
    makes its inputs depend on ``i`` or ``state``, so that nothing is loop-invariant
    (XLA would hoist it out of the loop)."""
    @tf.function(jit_compile=True)
    def run(state):
        return tf.while_loop(lambda i, s: i < steps, lambda i, s: (i + 1, body(i, s)), (tf.constant(0), state))[1]

    run(state)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        tf.nest.map_structure(lambda t: t.numpy(), run(state))
        times.append((time.perf_counter() - start) / steps)
    return statistics.median(times)


def _keep(acc, tensors):
    """Fold tensors into the loop state so XLA cannot drop them (a negligible sum)."""
    return acc + 1e-30 * tf.add_n([tf.reduce_sum(t) for t in tensors])


def mlp_weight_shapes(features: int, encoder=(400,), latent: int = 20, decoder=(400,)) -> list[tuple[int, int]]:
    """The weight matrices of an MLP VAE, in the order the step multiplies by them:
    the encoder's layers, the posterior's two heads as one (2 x ``latent`` wide), the
    decoder's layers and its output layer."""
    dims = [features, *encoder, 2 * latent]
    encoder_shapes = list(zip(dims[:-1], dims[1:]))
    dims = [latent, *decoder, features]
    return encoder_shapes + list(zip(dims[:-1], dims[1:]))


def matmul_bound(x, steps: int, rounds: int, encoder=(400,), latent: int = 20, decoder=(400,)) -> float:
    """Seconds per step of an MLP VAE step's matrix products alone, forward and
    backward: ``x`` (a batch of images) through the ``encoder`` widths to the
    posterior's two heads (2 x ``latent``), ``latent`` through the ``decoder`` widths
    to the image; the backward pass takes every weight's gradient and every
    activation's but the input's. The defaults are this benchmark's 784-400-20 MLP."""
    rng = np.random.default_rng(0)
    x = tf.reshape(tf.constant(x, tf.float32), (len(x), -1))
    shapes = mlp_weight_shapes(x.shape[1], encoder, latent, decoder)
    w = [tf.constant(rng.normal(0, 0.05, s).astype("float32")) for s in shapes]
    head = len(encoder)  # index of the posterior head's weight

    def body(i, acc):
        inputs, h = [], x + acc
        for j, weight in enumerate(w):
            inputs.append(h)
            h = h @ weight
            if j == head:
                h = h[:, :latent]  # z: the head's first half stands in for the draw
        grads, d = [], h
        for j in reversed(range(len(w))):
            if j == head:
                d = tf.pad(d, [[0, 0], [0, latent]])
            grads.append(tf.transpose(inputs[j]) @ d)
            if j:
                d = d @ tf.transpose(w[j])
        return _keep(acc, grads)

    return per_step_seconds(body, tf.constant(0.0), steps, rounds)


def profile(model: kv.VAE, x, fit_step: float, steps: int, rounds: int) -> list[tuple[str, float]]:
    """``[(row, seconds per step)]``: the cumulative sub-graphs of keras_vae's MLP step."""
    batch = tf.constant(x[:BATCH], tf.float32)
    def sampling(i, acc):  # what the step draws: z's noise (K x B x L); the binarization is the data pipeline's
        eps = tf.random.stateless_normal((model._num_samples(), BATCH, model.latent_dim), seed=tf.stack([i, 1]))
        return _keep(acc, [eps])

    def gradients(i, acc):
        with tf.GradientTape() as tape:
            per_example, _, _ = model._batch_loss(batch + acc, tf.stack([i, 3]), model.optimizer.iterations,
                                                  training=True)
            loss = tf.reduce_mean(per_example)
        return _keep(acc, tape.gradient(loss, model.trainable_variables))

    def update(i, acc):
        model._update(batch + acc, None)
        return acc

    rows = [("matrix products (in-graph bound)", matmul_bound(x[:BATCH], steps, rounds))]
    rows.append(("+ sampling", rows[-1][1] + per_step_seconds(sampling, tf.constant(0.0), steps, rounds)))
    rows.append(("+ element-wise (loss and gradients)", per_step_seconds(gradients, tf.constant(0.0), steps, rounds)))
    rows.append(("+ optimizer and metrics (_update)", per_step_seconds(update, tf.constant(0.0), steps, rounds)))
    rows.append(("+ framework overhead (fit, per step)", fit_step))
    return rows


def print_profile(rows) -> None:
    total = rows[-1][1]
    print(f"[mlp] profile of one keras_vae training step (batch {BATCH}), from timed sub-graphs:")
    print(f"  {'part':40s} {'ms/step':>8s} {'share':>6s}   cumulative sub-graph (ms)")
    previous = 0.0
    for name, seconds in rows:
        part = seconds - previous
        print(f"  {name.lstrip('+ '):40s} {part * 1e3:8.3f} {part / total:6.1%}   {seconds * 1e3:.3f}")
        previous = seconds


def load_images(data_dir: str | None, n: int) -> np.ndarray:
    try:
        x, _ = load_mnist("train", path=data_dir)
    except DatasetNotFoundError:
        x, _ = load_sample("train")
        print(f"MNIST not found; using the bundled sample ({len(x)} images)")
    reps = -(-n // len(x))
    return np.concatenate([x] * reps)[:n]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_data = os.environ.get("KERAS_VAE_DATA_MNIST") or os.path.join(
        os.path.dirname(__file__), "..", "..", "shared", "data", "mnist")
    parser.add_argument("--data", default=default_data, help="directory with the MNIST IDX files")
    parser.add_argument("--images", type=int, default=128 * 100, help="images per epoch")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs (after one warm-up)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per model")
    parser.add_argument("--arch", nargs="+", default=["mlp", "conv"], choices=["mlp", "conv"])
    parser.add_argument("--steps-per-execution", type=int, default=None,
                        help="Keras compile option, applied to both models alike (default: each "
                             "model's own: 1 for Keras, 'auto' for keras_vae)")
    parser.add_argument("--jit-compile", default="auto", choices=["auto", "true", "false"],
                        help="auto: each model's own default; true/false: both models alike")
    parser.add_argument("--graph-steps", type=int, default=200, help="iterations of each in-graph loop")
    parser.add_argument("--profile", action="store_true", help="split keras_vae's MLP step into its parts")
    args = parser.parse_args(argv)
    jit_compile = {"auto": "auto", "true": True, "false": False}[args.jit_compile]
    x = load_images(args.data if os.path.isdir(args.data) else None, args.images)
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, keras_vae {kv.__version__}; "
          f"{os.cpu_count()} CPUs; batch {BATCH}; {len(x)} images/epoch; "
          f"steps_per_execution {args.steps_per_execution or 'each model its own'}; jit_compile {args.jit_compile}")
    for arch in args.arch:
        models = {"hand-written": hand_written(arch), "keras_vae": ours(arch)}
        for model in models.values():
            own = {} if args.steps_per_execution is None else {"steps_per_execution": args.steps_per_execution}
            if not own and model is models["keras_vae"]:
                # The timed epochs stand for a long fit's: what "auto" gives a fit of
                # MIN_STEPS or more (these fits are shorter, and would get one per call).
                own = {"steps_per_execution": _steps_per_execution.resolve(model, "auto", [], steps=None)}
            model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=jit_compile, **own)
            epoch_times(model, x, args.epochs)  # warm-up
        times = {name: [] for name in models}
        for _ in range(args.rounds):  # alternate so drift hits both alike
            for name, model in models.items():
                times[name] += epoch_times(model, x, args.epochs)
        rate = {name: len(x) / statistics.median(t) for name, t in times.items()}
        jit = {name: model.jit_compile for name, model in models.items()}
        per_call = {name: model.steps_per_execution for name, model in models.items()}
        print(f"[{arch}] hand-written Keras VAE: {rate['hand-written']:9.0f} images/s "
              f"(median of {len(times['hand-written'])} epochs; XLA {jit['hand-written']}; "
              f"{per_call['hand-written']} step(s) per call)")
        print(f"[{arch}] keras_vae             : {rate['keras_vae']:9.0f} images/s "
              f"(XLA {jit['keras_vae']}; {per_call['keras_vae']} step(s) per call)")
        print(f"[{arch}] ratio keras_vae / hand-written: {rate['keras_vae'] / rate['hand-written']:.2f}x")
        if arch != "mlp":
            continue
        bound = matmul_bound(x[:BATCH], args.graph_steps, args.rounds)
        print(f"[mlp] in-graph matrix-product bound: {BATCH / bound:9.0f} images/s; keras_vae at "
              f"{rate['keras_vae'] * bound / BATCH:.0%} of it, hand-written at {rate['hand-written'] * bound / BATCH:.0%}")
        if args.profile:
            print_profile(profile(models["keras_vae"], x, BATCH / rate["keras_vae"], args.graph_steps, args.rounds))


if __name__ == "__main__":
    main()
