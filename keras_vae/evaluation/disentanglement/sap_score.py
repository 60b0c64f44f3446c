"""The separated attribute predictability score (Kumar et al., 2018), as
disentanglement_lib computes it."""
from __future__ import annotations

from typing import Any

import numpy as np

from keras_vae.evaluation.disentanglement import _common


def sap(model_or_fn: Any, data: Any, num_train: int = 10000, num_test: int = 5000, seed: Any = 0,
        batch_size: int = 16, continuous_factors: bool = False) -> dict:
    """``{"SAP_score": ...}``: for each factor, the difference between the two
    codes that predict it best, averaged. Discrete factors (the default, as
    disentanglement_lib's study): the test accuracy of a ``LinearSVC(C=0.01,
    class_weight="balanced")`` on one code; continuous: the squared correlation.

    Example:
        >>> import keras_vae as kv
        >>> data = kv.datasets.DSprites.small()
        >>> sorted(kv.evaluation.disentanglement.sap(
        ...     lambda x: x.reshape(len(x), -1)[:, :2], data, num_train=50, num_test=50,
        ...     continuous_factors=True))
        ['SAP_score']
    """
    fn, state = _common.start(model_or_fn, data, seed)
    batch_size = _common.check_count(batch_size, "batch_size")
    mus, ys = _common.generate_batch_factor_code(data, fn, _common.check_count(num_train, "num_train", 2), state, batch_size)
    mus_test, ys_test = _common.generate_batch_factor_code(data, fn, _common.check_count(num_test, "num_test"), state, batch_size)
    return sap_from_codes(mus, ys, mus_test, ys_test, continuous_factors)


def sap_from_codes(mus, ys, mus_test, ys_test, continuous_factors: bool = False) -> dict:
    """SAP of codes ``[L, N]`` and factors ``[F, N]`` already sampled."""
    matrix = score_matrix(mus, ys, mus_test, ys_test, continuous_factors)
    sorted_matrix = np.sort(matrix, axis=0)
    return {"SAP_score": float(np.mean(sorted_matrix[-1, :] - sorted_matrix[-2, :]))}


def score_matrix(mus, ys, mus_test, ys_test, continuous_factors: bool) -> np.ndarray:
    """``[codes, factors]`` predictability of each factor from each code."""
    matrix = np.zeros([mus.shape[0], ys.shape[0]])
    svm = None if continuous_factors else _common.sklearn().svm
    for i in range(mus.shape[0]):
        for j in range(ys.shape[0]):
            mu_i, y_j = mus[i, :], ys[j, :]
            if continuous_factors:
                cov = np.cov(mu_i, y_j, ddof=1)
                var_mu, var_y = cov[0, 0], cov[1, 1]
                matrix[i, j] = cov[0, 1] ** 2 / (var_mu * var_y) if var_mu > 1e-12 else 0.0
            else:
                classifier = svm.LinearSVC(C=0.01, class_weight="balanced")
                classifier.fit(mu_i[:, np.newaxis], y_j)
                matrix[i, j] = np.mean(classifier.predict(mus_test[i, :, np.newaxis]) == ys_test[j, :])
    return matrix
