"""Modularity and explicitness (Ridgeway & Mozer, 2018), as disentanglement_lib
computes them."""
from __future__ import annotations

from typing import Any

import numpy as np

from keras_vae.evaluation.disentanglement import _common


def modularity_explicitness(model_or_fn: Any, data: Any, num_train: int = 10000, num_test: int = 5000, seed: Any = 0,
                            batch_size: int = 16, num_bins: int = 20) -> dict:
    """``{"modularity_score", "explicitness_score_train", "explicitness_score_test"}``.

    Modularity: from the ``[codes, factors]`` mutual information of the
    histogram-discretised codes (``num_bins``), one minus each code's squared MI
    off its best factor relative to its best, averaged over codes. Explicitness:
    the one-vs-rest ROC-AUC of a ``LogisticRegression`` predicting each factor from
    the standardised codes, averaged over factors.

    Example:
        >>> import numpy as np
        >>> from keras_vae.evaluation.disentanglement.modularity_score import modularity
        >>> float(modularity(np.eye(3)))
        1.0
    """
    fn, state = _common.start(model_or_fn, data, seed)
    batch_size = _common.check_count(batch_size, "batch_size")
    mus_train, ys_train = _common.generate_batch_factor_code(data, fn, _common.check_count(num_train, "num_train", 2), state, batch_size)
    mus_test, ys_test = _common.generate_batch_factor_code(data, fn, _common.check_count(num_test, "num_test"), state, batch_size)
    return modularity_from_codes(mus_train, ys_train, mus_test, ys_test, num_bins)


def modularity_from_codes(mus_train, ys_train, mus_test, ys_test, num_bins: int = 20, discretize: bool = True) -> dict:
    """Modularity and explicitness of codes ``[L, N]`` and factors ``[F, N]`` already sampled."""
    discretized = _common.histogram_discretize(mus_train, num_bins) if discretize else mus_train
    scores = {"modularity_score": float(modularity(_common.discrete_mutual_info(discretized, ys_train)))}
    mean, std = np.mean(mus_train, axis=1), np.std(mus_train, axis=1)
    train_norm = (mus_train - mean[:, None]) / std[:, None]
    test_norm = (mus_test - mean[:, None]) / std[:, None]
    explicit = np.array([explicitness_per_factor(train_norm, ys_train[i], test_norm, ys_test[i]) for i in range(ys_train.shape[0])])
    scores["explicitness_score_train"] = float(np.mean(explicit[:, 0]))
    scores["explicitness_score_test"] = float(np.mean(explicit[:, 1]))
    return scores


def explicitness_per_factor(mus_train, y_train, mus_test, y_test) -> tuple[float, float]:
    """ROC-AUC (train, test) of a logistic regression predicting one factor."""
    sk = _common.sklearn()
    clf = sk.linear_model.LogisticRegression().fit(mus_train.T, y_train)
    binarizer = sk.preprocessing.MultiLabelBinarizer()
    roc_train = sk.metrics.roc_auc_score(binarizer.fit_transform(np.expand_dims(y_train, 1)), clf.predict_proba(mus_train.T))
    roc_test = sk.metrics.roc_auc_score(binarizer.fit_transform(np.expand_dims(y_test, 1)), clf.predict_proba(mus_test.T))
    return float(roc_train), float(roc_test)


def modularity(mutual_information: np.ndarray) -> float:
    """Modularity of a ``[codes, factors]`` mutual-information matrix."""
    squared_mi = np.square(mutual_information)
    max_squared_mi = np.max(squared_mi, axis=1)
    numerator = np.sum(squared_mi, axis=1) - max_squared_mi
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = numerator / (max_squared_mi * (squared_mi.shape[1] - 1.0))
    score = 1.0 - delta
    score[max_squared_mi == 0.0] = 0.0
    return float(np.mean(score))
