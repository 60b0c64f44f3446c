"""Removing a batch effect from z (the scVI use): a VAE conditioned on the batch.

Synthetic counts from two batches (two "experiments") that measure the same three
cell types, with a batch effect on every feature::

    cell type t ~ U{0, 1, 2},   z ~ N(m_t, 0.5^2 I_2),   batch s ~ U{0, 1}
    log mu = W z + b + d_s     (d_s: a per-feature shift of batch s, sd 1.5)
    x_j ~ NB(mu_j, theta_j)

Two negative-binomial VAEs with the same bodies are fitted: one on x alone, one
conditioned on the batch (``condition={"name": "one_hot", "num_classes": 2}``: q(z | x, s)
and p(x | z, s)), so the decoder explains the batch shift and z need not carry it. On
the held-out cells' posterior means, a k-nearest-neighbour classifier (scikit-learn,
5-fold cross-validated) predicts the batch (chance: 0.5; lower is better mixed) and the
cell type (higher is better: the biology is kept); the silhouette score of the batch
labels (scikit-learn; near 0 or below: mixed) is printed beside them.

Usage::

    python examples/count_data/batch_effect.py           # about a minute on 2 CPUs
    python examples/count_data/batch_effect.py --train 4000 --epochs 60
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_vae as kv  # noqa: E402

FEATURES, LATENT, CELL_TYPES, BATCHES = 40, 2, 3, 2


def make_counts(n: int, seed: int, model_seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(counts, batch, cell_type)`` of ``n`` cells; the generating model's
    parameters come from ``model_seed`` (the same for training and held-out cells)."""
    params = np.random.default_rng(model_seed)
    W = params.normal(0.0, 0.8, size=(FEATURES, LATENT))
    b = params.uniform(0.5, 2.0, size=FEATURES)
    shift = params.normal(0.0, 1.5, size=(BATCHES, FEATURES))  # the batch effect
    centres = params.normal(0.0, 1.5, size=(CELL_TYPES, LATENT))
    theta = params.uniform(1.0, 5.0, size=FEATURES)
    rng = np.random.default_rng(seed)
    cell = rng.integers(0, CELL_TYPES, n)
    batch = rng.integers(0, BATCHES, n)
    z = centres[cell] + 0.5 * rng.standard_normal((n, LATENT))
    mu = np.exp(z @ W.T + b + shift[batch])
    counts = rng.poisson(rng.gamma(theta, mu / theta))  # NB(mu, theta) as a gamma-Poisson mixture
    return counts.astype("float32"), batch.astype("int32"), cell.astype("int32")


def fit(x, batch, conditioned: bool, epochs: int, seed: int, batch_size: int = 64) -> kv.VAE:
    """A negative-binomial VAE, conditioned on the batch or not."""
    keras.utils.set_random_seed(seed)
    extra = {"condition": {"name": "one_hot", "num_classes": BATCHES}} if conditioned else {}
    vae = kv.VAE(kv.encoders.MLPEncoder([64]), kv.decoders.MLPDecoder([64]), latent_dim=LATENT,
                 input_shape=(FEATURES,), likelihood="negative_binomial", seed=seed, **extra)
    vae.compile(optimizer=keras.optimizers.Adam(3e-3))
    data = {"x": x, "condition": batch} if conditioned else x
    vae.fit(data, epochs=epochs, batch_size=batch_size, verbose=0)
    return vae


def mixing(z: np.ndarray, batch: np.ndarray, cell: np.ndarray, seed: int = 0) -> dict:
    """Batch and cell-type accuracy of a kNN classifier on z (5-fold CV), and the
    batch silhouette score."""
    from sklearn.metrics import silhouette_score
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    def accuracy(labels) -> float:
        folds = StratifiedKFold(5, shuffle=True, random_state=seed)
        return float(cross_val_score(KNeighborsClassifier(15), z, labels, cv=folds).mean())

    return {
        "batch_accuracy": accuracy(batch),
        "batch_silhouette": float(silhouette_score(z, batch)),
        "cell_type_accuracy": accuracy(cell),
    }


def run(train: int = 2000, test: int = 1000, epochs: int = 30, seed: int = 0, verbose: bool = True,
        batch_size: int = 64) -> dict:
    """Fit both models; ``{"unconditioned": scores, "conditioned": scores}`` on the
    held-out cells (``mixing``)."""
    x_train, s_train, _ = make_counts(train, seed + 1)
    x_test, s_test, c_test = make_counts(test, seed + 2)
    results = {}
    for name, conditioned in (("unconditioned", False), ("conditioned", True)):
        start = time.perf_counter()
        vae = fit(x_train, s_train, conditioned, epochs, seed, batch_size)
        z = np.asarray(vae.encode(x_test, condition=s_test) if conditioned else vae.encode(x_test))
        results[name] = mixing(z, s_test, c_test, seed) | {"seconds": time.perf_counter() - start}
    if verbose:
        print(f"{train} training / {test} held-out cells, {FEATURES} features, {CELL_TYPES} cell types, "
              f"{BATCHES} batches; negative_binomial VAEs, latent_dim={LATENT}, {epochs} epochs")
        print(f"\n{'model':<15} {'batch acc. (chance 0.5)':>24} {'batch silhouette':>17} {'cell-type acc.':>15}")
        for name, r in results.items():
            print(f"{name:<15} {r['batch_accuracy']:>24.3f} {r['batch_silhouette']:>17.3f} "
                  f"{r['cell_type_accuracy']:>15.3f}   ({r['seconds']:.0f} s)")
        print(f"\ncommand: python examples/count_data/batch_effect.py --train {train} --test {test} "
              f"--epochs {epochs} --seed {seed}")
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=2000)
    parser.add_argument("--test", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    run(args.train, args.test, args.epochs, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
