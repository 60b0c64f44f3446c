"""Test bits/dim of the 8-bit likelihoods on Fashion-MNIST, at one training budget.

Three VAEs with the same encoder (which sees the images in [0, 1]), decoder, latent
size, optimizer and number of steps differ only in the likelihood head:

* ``logistic_mixture`` — discretized mixture of logistics on the raw levels 0..255;
* ``categorical`` — a 256-way softmax per pixel on the raw levels;
* ``continuous_bernoulli`` — a density on [0, 1], trained and tested on uniformly
  dequantized data ``y = (x + u) / 256``, ``u ~ U(0, 1)`` (fresh noise every epoch).

The discrete models give ``-log P(x) / (D ln 2)`` bits/dim directly. For the density,
the rescaling ``y = (x + u) / 256`` has Jacobian ``256^-D``, so
``log p_x(x + u) = log p_y(y) - D log 256``, and by Jensen
``E_u[log p_x(x + u)] <= log P(x)`` for the discrete model ``P(x) = integral over the
bin of p_x`` (Theis et al., 2016): its bits/dim ``-log p_y(y) / (D ln 2) + 8`` is an
upper bound on that discrete model's, comparable with the other two. Each log p is
the importance-sampled ``vae.log_likelihood`` (K samples).

Usage::

    python benchmarks/likelihoods.py        # ~6 CPU-minutes (11 min wall on a busy 2-core machine)
    python benchmarks/likelihoods.py --train 60000 --epochs 20 --num-samples 1000

Data: ``--data DIR``, else $KERAS_VAE_DATA/fashion-mnist, else
../shared/data/fashion-mnist beside the repository, else the Keras cache / download.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

from _common import ROOT, machine_line  # noqa: E402  (sets sys.path)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_vae as kv  # noqa: E402
from keras_vae import datasets  # noqa: E402

LEVELS = 256
HEADS = ("logistic_mixture", "categorical", "continuous_bernoulli")


def fashion_path(arg: str | None):
    if arg:
        return arg
    env = os.environ.get(getattr(datasets, "ENV_VAR", "KERAS_VAE_DATA"))
    if env and (os.path.isdir(os.path.join(env, "fashion-mnist"))):
        return os.path.join(env, "fashion-mnist")
    default = ROOT.parent / "shared" / "data" / "fashion-mnist"
    return default if default.is_dir() else None


def dequantize(x, seed=None) -> tf.Tensor:
    """(x + u) / 256 with u ~ U(0, 1): 8-bit levels to the open unit interval."""
    x = tf.cast(x, tf.float32)
    u = tf.random.uniform(tf.shape(x), seed=seed) if seed is None else tf.random.stateless_uniform(
        tf.shape(x), seed=[seed, 0]
    )
    return (x + u) / LEVELS


def make_vae(likelihood, args, input_scale: float) -> kv.VAE:
    # The likelihoods score the data as given; the encoder sees it in [0, 1].
    encoder = keras.Sequential([
        keras.layers.Rescaling(input_scale),
        kv.encoders.ConvEncoder(filters=[32, 64]),
    ])
    return kv.VAE(
        encoder=encoder,
        decoder={"name": "conv", "filters": [64, 32]},
        latent_dim=args.latent_dim,
        input_shape=(28, 28, 1),
        likelihood=likelihood,
        seed=args.seed,
    )


def run(name, x_train, x_test, args) -> dict:
    keras.utils.set_random_seed(args.seed)
    spec = {"name": "logistic_mixture", "num_components": args.num_components} if name == "logistic_mixture" else name
    vae = make_vae(spec, args, 1.0 if name == "continuous_bernoulli" else 1.0 / (LEVELS - 1))
    vae.compile(optimizer=keras.optimizers.Adam(args.learning_rate))
    train = tf.data.Dataset.from_tensor_slices(x_train).shuffle(len(x_train), seed=args.seed)
    train = train.batch(args.batch_size)
    if name == "continuous_bernoulli":
        train = train.map(lambda x: dequantize(x))
        test = dequantize(x_test, seed=args.seed + 1).numpy()
        jacobian_bits = math.log2(LEVELS)  # -log2 |dy/dx| per dimension
    else:
        train = train.map(lambda x: tf.cast(x, tf.float32))
        test = x_test
        jacobian_bits = 0.0
    start = time.perf_counter()
    history = vae.fit(train, epochs=args.epochs, verbose=0, shuffle=False)  # shuffled above
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    # 256 parameters per pixel: small chunks keep the decoded samples in memory.
    chunk = max(1, 2**22 // (args.eval_batch * 784 * vae.likelihood_layer.num_params))
    log_px = vae.log_likelihood(
        test, num_samples=args.num_samples, batch_size=args.eval_batch, chunk_size=chunk, seed=0
    )
    bits = -log_px / (784 * math.log(2.0)) + jacobian_bits
    return {
        "likelihood": name,
        "bits_per_dim": float(bits.mean()),
        "sem": float(bits.std() / math.sqrt(len(bits))),
        "train_elbo": float(history.history["elbo"][-1]),
        "params": int(sum(np.prod(w.shape) for w in vae.likelihood_layer.trainable_weights)),
        "train_s": train_s,
        "eval_s": time.perf_counter() - start,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Fashion-MNIST 8-bit: test bits/dim of three likelihoods.")
    parser.add_argument("--data", default=None, help="directory with the Fashion-MNIST IDX files")
    parser.add_argument("--train", type=int, default=10000, help="training images (first N)")
    parser.add_argument("--test", type=int, default=500, help="test images (first N)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--latent-dim", type=int, default=16)
    parser.add_argument("--num-components", type=int, default=5)
    parser.add_argument("--num-samples", type=int, default=100, help="K importance samples")
    parser.add_argument("--eval-batch", type=int, default=50)
    parser.add_argument("--only", choices=HEADS, action="append", help="run only these likelihoods")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    path = fashion_path(args.data)
    x_train, _ = datasets.load_fashion_mnist("train", path=path, normalize=False)
    x_test, _ = datasets.load_fashion_mnist("test", path=path, normalize=False)
    x_train, x_test = x_train[: args.train], x_test[: args.test]
    print(machine_line())
    rows = [run(name, x_train, x_test, args) for name in (args.only or HEADS)]
    print(
        f"\nFashion-MNIST 8-bit, conv VAE (latent {args.latent_dim}), {len(x_train)} training images, "
        f"{args.epochs} epochs, batch {args.batch_size}; test bits/dim on {len(x_test)} images, "
        f"K = {args.num_samples} (lower is better)\n"
    )
    print("| likelihood | test bits/dim | final train ELBO (nats) | head weights | train s | eval s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['likelihood']} | {r['bits_per_dim']:.3f} ± {r['sem']:.3f} | {r['train_elbo']:.1f} | "
            f"{r['params']:,} | {r['train_s']:.0f} | {r['eval_s']:.0f} |"
        )
    print("\ncontinuous_bernoulli: on dequantized (x + u) / 256, + 8 bits/dim for the rescaling.")
    print("command: python benchmarks/likelihoods.py " + " ".join(sys.argv[1:] if argv is None else argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
