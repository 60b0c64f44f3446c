"""The mutual information gap (Chen et al., 2018), as disentanglement_lib computes it."""
from __future__ import annotations

from typing import Any

import numpy as np

from keras_vae.evaluation.disentanglement import _common


def mig(model_or_fn: Any, data: Any, num_train: int = 10000, seed: Any = 0, batch_size: int = 16, num_bins: int = 20) -> dict:
    """``{"discrete_mig": ...}``: the mean over factors of the gap between the two
    codes with the most mutual information with the factor, divided by the
    factor's entropy. The codes are discretised into ``num_bins`` equal-width
    histogram bins (disentanglement_lib's ``mig.gin``: 20 bins, 10,000 points).

    Args:
        model_or_fn: a model (its ``encode``) or a function observations -> codes.
        data: ground-truth data (``kv.datasets.DSprites()``, or any object with
            disentanglement_lib's method names).
        num_train: points sampled.
        seed: an int or a ``np.random.RandomState``.
        batch_size: points sampled per call of ``data.sample``.
        num_bins: histogram bins per code.

    Example:
        >>> import numpy as np, keras_vae as kv
        >>> data = kv.datasets.DSprites.small()
        >>> score = kv.evaluation.disentanglement.mig(
        ...     lambda x: x.reshape(len(x), -1)[:, :3], data, num_train=100)
        >>> sorted(score)
        ['discrete_mig']
    """
    fn, state = _common.start(model_or_fn, data, seed)
    num_train = _common.check_count(num_train, "num_train", 2)
    mus, ys = _common.generate_batch_factor_code(data, fn, num_train, state, _common.check_count(batch_size, "batch_size"))
    return mig_from_codes(mus, ys, num_bins)


def mig_from_codes(mus: np.ndarray, ys: np.ndarray, num_bins: int = 20, discretize: bool = True) -> dict:
    """MIG of codes ``[L, N]`` and factors ``[F, N]`` (``discretize=False``: the
    codes are already discrete)."""
    discretized = _common.histogram_discretize(mus, num_bins) if discretize else mus
    m = _common.discrete_mutual_info(discretized, ys)
    entropy = _common.discrete_entropy(ys)
    sorted_m = np.sort(m, axis=0)[::-1]
    return {"discrete_mig": float(np.mean(np.divide(sorted_m[0, :] - sorted_m[1, :], entropy[:])))}
