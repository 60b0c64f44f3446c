"""Anomaly detection on tabular data with a VAE, beside a plain Gaussian baseline.

scikit-learn's breast-cancer table (569 rows x 30 measurements, 357 benign and 212
malignant tumours) as an anomaly problem: train on benign rows only, score every
held-out row by log p(x), and call low-density rows anomalies (malignant).

1. split the benign rows 60 / 20 / 20 into training, threshold and test rows
   (seeded); the malignant rows are all test anomalies;
2. fit ``kv.VAE(..., likelihood="gaussian", standardize=True)`` on the raw training
   rows — the standardization is inside the model, so every score is log p(x) of
   the raw measurements;
3. score with ``kv.evaluation.anomaly_scores`` (fixed noise: a row scores the same
   alone or in a batch, as the exported ``score`` signature);
4. take the threshold at a 5 % false-positive rate on the threshold rows
   (``anomaly_threshold``) and report ROC AUC, precision and recall on the test rows
   (``anomaly_report``) for the VAE and for ``GaussianBaseline`` (one full-covariance
   Gaussian on the same features).

Usage::

    pip install scikit-learn          # or: pip install -e ".[dev]"
    python examples/anomaly_detection/anomaly_detection.py     # about 1 minute on 2 CPUs
"""
from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_vae as kv  # noqa: E402
from keras_vae.evaluation import (  # noqa: E402
    GaussianBaseline,
    anomaly_report,
    anomaly_scores,
    anomaly_threshold,
)


def load(seed: int = 0):
    """``(x_train, x_threshold, x_test, y_test)``: benign-only training and threshold
    rows; test rows with labels (1 = malignant = anomaly). Raw float32 measurements."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    x, target = data.data.astype("float32"), data.target  # target 1 = benign
    benign, malignant = x[target == 1], x[target == 0]
    order = np.random.default_rng(seed).permutation(len(benign))
    n_train, n_threshold = int(0.6 * len(benign)), int(0.2 * len(benign))
    train = benign[order[:n_train]]
    threshold = benign[order[n_train:n_train + n_threshold]]
    test_normal = benign[order[n_train + n_threshold:]]
    x_test = np.concatenate([test_normal, malignant])
    y_test = np.concatenate([np.zeros(len(test_normal), int), np.ones(len(malignant), int)])
    return train, threshold, x_test, y_test


def run(epochs: int = 150, latent_dim: int = 4, num_samples: int = 64, seed: int = 0,
        false_positive_rate: float = 0.05, verbose: bool = True) -> dict:
    """Train, score and report; returns ``{"vae": report, "gaussian": report}``."""
    x_train, x_threshold, x_test, y_test = load(seed)
    keras.utils.set_random_seed(seed)
    vae = kv.VAE(encoder=kv.encoders.MLPEncoder([64]), decoder=kv.decoders.MLPDecoder([64]),
                 latent_dim=latent_dim, input_shape=x_train.shape[1:], likelihood="gaussian",
                 standardize=True, seed=seed)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    vae.fit(x_train, epochs=epochs, batch_size=32, verbose=0)

    reports = {}
    baseline = GaussianBaseline().fit(x_train)
    for name, score in (("vae", lambda x: anomaly_scores(vae, x, num_samples=num_samples)),
                        ("gaussian", baseline.score)):
        threshold = anomaly_threshold(score(x_threshold), false_positive_rate)
        reports[name] = anomaly_report(score(x_test), y_test, threshold=threshold)
    if verbose:
        print(f"breast cancer: {len(x_train)} benign training rows, {len(x_threshold)} benign "
              f"threshold rows; test {int((y_test == 0).sum())} benign + {int(y_test.sum())} malignant")
        print(f"threshold at a {false_positive_rate:.0%} false-positive rate on the threshold rows")
        print(f"{'model':<22}{'ROC AUC':>9}{'precision':>11}{'recall':>8}{'test FPR':>10}")
        for name, label in (("vae", f"VAE (latent {latent_dim})"), ("gaussian", "Gaussian baseline")):
            r = reports[name]
            print(f"{label:<22}{r['roc_auc']:>9.3f}{r['precision']:>11.3f}{r['recall']:>8.3f}"
                  f"{r['false_positive_rate']:>10.3f}")
    return reports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--latent-dim", type=int, default=4)
    parser.add_argument("--num-samples", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--false-positive-rate", type=float, default=0.05)
    args = parser.parse_args()
    run(args.epochs, args.latent_dim, args.num_samples, args.seed, args.false_positive_rate)


if __name__ == "__main__":
    main()
