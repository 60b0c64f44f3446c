"""DCI disentanglement, completeness and informativeness (Eastwood & Williams, 2018),
as disentanglement_lib computes them (gradient-boosted trees' importances)."""
from __future__ import annotations

from typing import Any

import numpy as np

from keras_vae.evaluation.disentanglement import _common


def dci(model_or_fn: Any, data: Any, num_train: int = 10000, num_test: int = 5000, seed: Any = 0, batch_size: int = 16) -> dict:
    """``{"disentanglement", "completeness", "informativeness_train",
    "informativeness_test"}``: one ``sklearn.ensemble.GradientBoostingClassifier()``
    (default settings) per factor predicts it from the codes; its feature
    importances form the ``[codes, factors]`` importance matrix R. Disentanglement
    is ``sum_i rho_i (1 - H_F(P_i.))`` (rows, entropy in base F, weighted by each
    code's share of the importance), completeness the same over columns (base L);
    informativeness is the classifiers' accuracy.

    Example:
        >>> import keras_vae as kv, numpy as np
        >>> from keras_vae.evaluation.disentanglement.dci_scores import disentanglement
        >>> round(float(disentanglement(np.eye(4))), 6)
        1.0
    """
    fn, state = _common.start(model_or_fn, data, seed)
    batch_size = _common.check_count(batch_size, "batch_size")
    mus_train, ys_train = _common.generate_batch_factor_code(data, fn, _common.check_count(num_train, "num_train", 2), state, batch_size)
    mus_test, ys_test = _common.generate_batch_factor_code(data, fn, _common.check_count(num_test, "num_test"), state, batch_size)
    return dci_from_codes(mus_train, ys_train, mus_test, ys_test)


def dci_from_codes(mus_train, ys_train, mus_test, ys_test) -> dict:
    """DCI of codes ``[L, N]`` and factors ``[F, N]`` already sampled."""
    importance_matrix, train_acc, test_acc = importance_gbt(mus_train, ys_train, mus_test, ys_test)
    return {
        "informativeness_train": float(train_acc),
        "informativeness_test": float(test_acc),
        "disentanglement": float(disentanglement(importance_matrix)),
        "completeness": float(completeness(importance_matrix)),
    }


def importance_gbt(x_train, y_train, x_test, y_test):
    """``(importance [codes, factors], mean train accuracy, mean test accuracy)``."""
    ensemble = _common.sklearn().ensemble
    importance = np.zeros([x_train.shape[0], y_train.shape[0]], dtype=np.float64)
    train_acc, test_acc = [], []
    for i in range(y_train.shape[0]):
        model = ensemble.GradientBoostingClassifier()
        model.fit(x_train.T, y_train[i, :])
        importance[:, i] = np.abs(model.feature_importances_)
        train_acc.append(np.mean(model.predict(x_train.T) == y_train[i, :]))
        test_acc.append(np.mean(model.predict(x_test.T) == y_test[i, :]))
    return importance, np.mean(train_acc), np.mean(test_acc)


def _entropy(pk: np.ndarray, base: int) -> np.ndarray:
    """``scipy.stats.entropy(pk, base=base)`` of each column of ``pk`` (normalised)."""
    pk = pk / np.sum(pk, axis=0, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(pk > 0, pk * np.log(pk), 0.0)
    return -np.sum(terms, axis=0) / np.log(base)


def disentanglement(importance_matrix: np.ndarray) -> float:
    """Disentanglement of an importance matrix ``[codes, factors]``."""
    per_code = 1.0 - _entropy(importance_matrix.T + 1e-11, importance_matrix.shape[1])
    if importance_matrix.sum() == 0.0:
        importance_matrix = np.ones_like(importance_matrix)
    code_importance = importance_matrix.sum(axis=1) / importance_matrix.sum()
    return float(np.sum(per_code * code_importance))


def completeness(importance_matrix: np.ndarray) -> float:
    """Completeness of an importance matrix ``[codes, factors]``."""
    per_factor = 1.0 - _entropy(importance_matrix + 1e-11, importance_matrix.shape[0])
    if importance_matrix.sum() == 0.0:
        importance_matrix = np.ones_like(importance_matrix)
    factor_importance = importance_matrix.sum(axis=0) / importance_matrix.sum()
    return float(np.sum(per_factor * factor_importance))
