"""Anomaly detection with a density model: score by log p(x), pick a threshold on
normal data, report ROC AUC / precision / recall, and compare with a plain baseline.

The recipe (``examples/anomaly_detection/``):

1. train a VAE on normal rows only (``standardize=True`` for tables);
2. score every row by ``log p(x)`` with :func:`anomaly_scores` — the fixed-noise
   estimate of the served ``score`` signature, so a row scores the same alone or
   in any batch (a threshold needs that; ``vae.log_likelihood`` draws fresh noise
   per batch);
3. take the threshold from held-out *normal* scores at the false-positive rate you
   accept (:func:`anomaly_threshold`): rows with ``log p(x)`` below it are anomalies;
4. with labels, :func:`anomaly_report` gives the ROC AUC and the threshold's
   precision and recall; :class:`GaussianBaseline` (one full-covariance Gaussian on
   the same features) is the number a VAE must beat to be worth it.

No scikit-learn needed: the AUC is the Mann-Whitney statistic (ties count half).

Example:
    >>> import numpy as np
    >>> from keras_vae.evaluation.anomaly import anomaly_threshold, anomaly_report
    >>> normal = np.array([-3.0, -2.5, -2.0, -1.5, -1.0])
    >>> anomaly_threshold(normal, false_positive_rate=0.2)
    -2.6
    >>> scores = np.array([-1.0, -2.0, -9.0, -8.0])          # log p(x)
    >>> labels = np.array([0, 0, 1, 1])                       # 1 = anomaly
    >>> report = anomaly_report(scores, labels, threshold=-5.0)
    >>> report["roc_auc"], report["precision"], report["recall"]
    (1.0, 1.0, 1.0)
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["anomaly_scores", "anomaly_threshold", "anomaly_report", "roc_auc", "GaussianBaseline"]


def anomaly_scores(vae, x, num_samples: int = 64, seed: int | None = None, batch_size: int = 256,
                   condition=None) -> np.ndarray:
    """``log p(x)`` per row (float64 ``(N,)``, nats, in the data's units), with the
    same K draws for every row: what the exported ``score`` signature returns
    (``seed`` defaults to the model's own, as there). Higher is more normal. A
    conditioned model scores ``log p(x | c)``, each row with its ``condition``.

    Example:
        >>> import numpy as np, keras_vae as kv
        >>> from keras_vae.evaluation.anomaly import anomaly_scores
        >>> vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(3,), likelihood="gaussian", seed=0)
        >>> x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
        >>> bool(np.allclose(anomaly_scores(vae, x[:1], 8), anomaly_scores(vae, x, 8)[:1], atol=1e-4))
        True
    """
    from keras_vae.evaluation.shared_noise import shared_noise_log_likelihood

    return shared_noise_log_likelihood(vae, x, num_samples=num_samples, seed=seed, batch_size=batch_size,
                                       condition=condition)


def anomaly_threshold(normal_scores: Any, false_positive_rate: float = 0.05) -> float:
    """The ``log p(x)`` below which a row is called an anomaly, so that a fraction
    ``false_positive_rate`` of the given *normal* rows' scores fall below it (the
    ``false_positive_rate`` quantile, linear interpolation). Use scores of normal
    rows the model did not train on.

    Raises:
        ValueError: no finite scores, or a rate outside (0, 1).
    """
    scores = np.asarray(normal_scores, np.float64).reshape(-1)
    if not 0.0 < float(false_positive_rate) < 1.0:
        raise ValueError(f"false_positive_rate must be in (0, 1), got {false_positive_rate!r}.")
    if scores.size == 0 or not np.all(np.isfinite(scores)):
        raise ValueError("normal_scores must be a non-empty array of finite log p(x) values.")
    return float(np.round(np.quantile(scores, float(false_positive_rate)), 12))


def roc_auc(scores: Any, labels: Any) -> float:
    """ROC AUC of ``-scores`` (low log p(x) = anomaly) against ``labels`` (1 =
    anomaly, 0 = normal): the probability that a random anomaly scores below a
    random normal row, ties counting half."""
    scores = np.asarray(scores, np.float64).reshape(-1)
    labels = np.asarray(labels).reshape(-1).astype(bool)
    if scores.shape != labels.shape:
        raise ValueError(f"scores {scores.shape} and labels {labels.shape} differ in length.")
    positive, negative = -scores[labels], -scores[~labels]
    if positive.size == 0 or negative.size == 0:
        raise ValueError("labels must hold both anomalies (1) and normal rows (0).")
    order = np.argsort(np.concatenate([positive, negative]), kind="mergesort")
    values = np.concatenate([positive, negative])[order]
    ranks = np.empty(len(values))
    # Average ranks over ties.
    _, first, counts = np.unique(values, return_index=True, return_counts=True)
    for start, count in zip(first, counts):
        ranks[start:start + count] = start + (count + 1) / 2.0
    rank_of = np.empty(len(values))
    rank_of[order] = ranks
    u = rank_of[: positive.size].sum() - positive.size * (positive.size + 1) / 2.0
    return float(u / (positive.size * negative.size))


def anomaly_report(scores: Any, labels: Any, threshold: float | None = None,
                   false_positive_rate: float = 0.05) -> dict[str, float]:
    """ROC AUC, and the precision / recall / false-positive rate of a threshold.

    Args:
        scores: ``log p(x)`` per row (higher = more normal).
        labels: 1 for an anomaly, 0 for a normal row.
        threshold: rows with a score below it are flagged; default the
            ``false_positive_rate`` quantile of the normal rows' scores here (use a
            threshold from separate normal data for an honest estimate).
        false_positive_rate: used only when ``threshold`` is None.

    Returns:
        ``{"roc_auc", "threshold", "precision", "recall", "false_positive_rate",
        "flagged", "anomalies", "normal"}``.
    """
    scores = np.asarray(scores, np.float64).reshape(-1)
    labels = np.asarray(labels).reshape(-1).astype(bool)
    auc = roc_auc(scores, labels)
    if threshold is None:
        threshold = anomaly_threshold(scores[~labels], false_positive_rate)
    flagged = scores < threshold
    true_positive = int(np.sum(flagged & labels))
    return {
        "roc_auc": auc,
        "threshold": float(threshold),
        "precision": true_positive / int(flagged.sum()) if flagged.any() else float("nan"),
        "recall": true_positive / int(labels.sum()),
        "false_positive_rate": float(np.sum(flagged & ~labels) / max(1, int((~labels).sum()))),
        "flagged": int(flagged.sum()),
        "anomalies": int(labels.sum()),
        "normal": int((~labels).sum()),
    }


class GaussianBaseline:
    """One multivariate Gaussian fitted to normal rows: the plain density baseline.

    ``log N(x; mean, cov + shrinkage * I)`` on the standardized features (the
    covariance shrunk a little toward the identity so few rows or collinear
    features do not make it singular), reported in the data's units (the
    standardization's Jacobian included), so its scores compare with a VAE's.

    Example:
        >>> import numpy as np
        >>> from keras_vae.evaluation.anomaly import GaussianBaseline
        >>> x = np.random.default_rng(0).normal(size=(200, 3))
        >>> baseline = GaussianBaseline().fit(x)
        >>> bool(baseline.score(np.zeros((1, 3)))[0] > baseline.score(np.full((1, 3), 5.0))[0])
        True
    """

    def __init__(self, shrinkage: float = 1e-3):
        if not shrinkage >= 0:
            raise ValueError(f"shrinkage must be >= 0, got {shrinkage!r}.")
        self.shrinkage = float(shrinkage)
        self.mean = self.std = self._chol = None

    def fit(self, x: Any) -> "GaussianBaseline":
        """Fit to rows ``x`` (examples along the first axis; flattened)."""
        x = np.asarray(x, np.float64).reshape(len(x), -1)
        if len(x) < 2 or not np.all(np.isfinite(x)):
            raise ValueError("GaussianBaseline.fit needs at least 2 rows of finite values.")
        self.mean = x.mean(0)
        std = x.std(0)
        self.std = np.where(std > 1e-12, std, 1.0)
        z = (x - self.mean) / self.std
        cov = np.cov(z, rowvar=False).reshape(z.shape[1], z.shape[1])
        self._chol = np.linalg.cholesky(cov + self.shrinkage * np.eye(len(cov)))
        return self

    def score(self, x: Any) -> np.ndarray:
        """``log p(x)`` per row, nats, in the data's units."""
        if self._chol is None:
            raise ValueError("Call fit(x) first.")
        x = np.asarray(x, np.float64).reshape(len(x), -1)
        z = (x - self.mean) / self.std
        solved = np.linalg.solve(self._chol, z.T)
        d = z.shape[1]
        log_det = 2.0 * np.log(np.diag(self._chol)).sum()
        return -0.5 * (np.sum(solved**2, axis=0) + d * np.log(2 * np.pi) + log_det) - np.log(self.std).sum()

    def get_config(self) -> dict:
        return {"shrinkage": self.shrinkage}
