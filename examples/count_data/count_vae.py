"""Counts from a known low-dimensional negative-binomial model: Poisson vs NB VAE.

The data come from a model we know exactly::

    z ~ N(0, I_2),   log mu = W z + b   (50 features),   x_j ~ NB(mu_j, theta_j)

with inverse dispersions ``theta_j`` between 0.5 and 4, i.e. variances several times
the mean, as in single-cell RNA counts. Two VAEs with the same encoder and decoder
and a 2-d latent are fitted, one with ``likelihood="poisson"``, one with
``likelihood="negative_binomial"``; both are scored on held-out counts with the
importance-sampled ``vae.log_likelihood`` (nats per example, higher is better). The
true model's log p(x) is computed by Monte Carlo over its 2-d latent for reference.
The right observation model (NB) should win by a wide margin; the Poisson cannot
explain the extra variance with a 2-d latent.

Usage::

    python examples/count_data/count_vae.py              # about 2 minutes on 2 CPUs
    python examples/count_data/count_vae.py --epochs 60 --num-samples 1000
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_probability as tfp  # noqa: E402

import keras_vae as kv  # noqa: E402

tfd = tfp.distributions
FEATURES, LATENT = 50, 2


def true_model(seed: int = 0):
    """W, b and theta of the generating model."""
    rng = np.random.default_rng(seed)
    W = rng.normal(0.0, 0.8, size=(FEATURES, LATENT))
    b = rng.uniform(0.0, 2.5, size=FEATURES)  # mean counts ~1 to ~12 at z = 0
    theta = rng.uniform(0.5, 4.0, size=FEATURES)
    return W, b, theta


def sample_counts(W, b, theta, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mu = np.exp(rng.standard_normal((n, LATENT)) @ W.T + b)
    # NB(mu, theta) as a gamma-Poisson mixture.
    return rng.poisson(rng.gamma(theta, mu / theta)).astype("int64")


def true_log_likelihood(x, W, b, theta, draws: int = 20000, seed: int = 1) -> np.ndarray:
    """log p(x) of the generating model: a Monte Carlo average over its 2-d prior."""
    z = np.random.default_rng(seed).standard_normal((draws, LATENT))
    log_mu = (z @ W.T + b).astype("float32")  # [draws, F]
    nb = tfd.NegativeBinomial(
        total_count=theta.astype("float32"), logits=log_mu - np.log(theta).astype("float32")
    )
    out = []
    for row in x.astype("float32"):
        log_px_z = tf.reduce_sum(nb.log_prob(row), -1)  # [draws]
        out.append(float(tf.reduce_logsumexp(log_px_z)) - np.log(draws))
    return np.asarray(out)


@keras.saving.register_keras_serializable(package="count_example")
class Log1p(keras.layers.Layer):
    """log(1 + x): the encoder sees log counts (raw counts in the thousands make the
    first layer's activations, and then the training, blow up). The likelihood
    still scores the raw counts."""

    def call(self, x):
        return keras.ops.log1p(x)


def fit(likelihood: str, x_train, x_val, epochs: int, seed: int) -> kv.VAE:
    keras.utils.set_random_seed(seed)
    vae = kv.VAE(
        encoder=keras.Sequential([Log1p(), kv.encoders.MLPEncoder([128, 64])]),
        decoder=kv.decoders.MLPDecoder([64, 128]),
        latent_dim=LATENT,
        input_shape=(FEATURES,),
        likelihood=likelihood,
        seed=seed,
    )
    vae.compile(optimizer=keras.optimizers.Adam(3e-3))
    vae.fit(x_train, epochs=epochs, batch_size=128, validation_data=(x_val,), verbose=0)
    return vae


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=5000)
    parser.add_argument("--test", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--num-samples", type=int, default=500, help="K of vae.log_likelihood")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    W, b, theta = true_model(args.seed)
    x_train = sample_counts(W, b, theta, args.train, seed=args.seed + 1)
    x_test = sample_counts(W, b, theta, args.test, seed=args.seed + 2)
    print(
        f"{args.train} training / {args.test} held-out examples, {FEATURES} features; "
        f"mean count {x_train.mean():.2f}, median variance/mean per feature "
        f"{np.median(x_train.var(0) / x_train.mean(0)):.1f}, "
        f"zeros {np.mean(x_train == 0):.0%}"
    )
    rows = []
    for name in ("poisson", "negative_binomial"):
        start = time.perf_counter()
        vae = fit(name, x_train, x_test[:200], args.epochs, args.seed)
        ll = vae.log_likelihood(x_test, num_samples=args.num_samples, seed=0)
        rows.append((name, ll.mean(), ll.std() / np.sqrt(len(ll)), time.perf_counter() - start))
    truth = true_log_likelihood(x_test, W, b, theta)
    width = max(len(r[0]) for r in rows) + 2
    print(f"\nheld-out log-likelihood (nats/example, K={args.num_samples}; higher is better)")
    for name, mean, sem, seconds in rows:
        print(f"  {name:<{width}} {mean:9.2f} ± {sem:.2f}   ({seconds:.0f} s)")
    print(f"  {'true model':<{width}} {truth.mean():9.2f} ± {truth.std() / np.sqrt(len(truth)):.2f}")
    (_, poisson, _, _), (_, nb, _, _) = rows
    verdict = "wins" if nb > poisson else "does NOT win"
    print(f"\nnegative_binomial {verdict}: {nb - poisson:+.2f} nats/example over poisson; "
          f"{truth.mean() - nb:.2f} nats/example short of the true model.")
    print(f"command: python examples/count_data/count_vae.py --train {args.train} --test {args.test} "
          f"--epochs {args.epochs} --num-samples {args.num_samples} --seed {args.seed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
