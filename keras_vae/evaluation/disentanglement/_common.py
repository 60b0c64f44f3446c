"""What the disentanglement metrics share: scikit-learn (an optional dependency),
the representation of a model, sampling codes and factors, and the histogram
discretisation and mutual information of disentanglement_lib
(``evaluation/metrics/utils.py``), which these functions follow step for step
(including the order in which they draw from the ``random_state``), so that both
libraries give the same numbers on the same data.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from keras_vae.datasets.ground_truth import as_random_state

#: Observations encoded per call of the representation.
ENCODE_BATCH = 1024


def sklearn():
    """The ``sklearn`` module, or an ``ImportError`` naming the extra to install."""
    try:
        import sklearn as module
        import sklearn.ensemble  # noqa: F401
        import sklearn.linear_model  # noqa: F401
        import sklearn.metrics  # noqa: F401
        import sklearn.preprocessing  # noqa: F401
        import sklearn.svm  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "The disentanglement metrics need scikit-learn: pip install 'keras-vae[disentanglement]' "
            "(or pip install scikit-learn)."
        ) from exc
    return module


def representation(model_or_fn: Any) -> Callable[[np.ndarray], np.ndarray]:
    """observations -> codes ``[num, L]`` (numpy): a model's ``encode`` (the
    posterior's representative point, e.g. the Gaussian mean) or a callable."""
    encode = getattr(model_or_fn, "encode", None)
    if encode is not None:
        def fn(x):
            return np.asarray(encode(np.asarray(x, np.float32)))
        return fn
    if callable(model_or_fn):
        return lambda x: np.asarray(model_or_fn(x))
    raise ValueError(
        f"model_or_fn must be a model with encode() or a function from observations to codes, got {model_or_fn!r}."
    )


def encode_all(fn: Callable, observations: list) -> np.ndarray:
    """Codes of a list of observation batches, encoded ``ENCODE_BATCH`` at a time,
    in order: ``[sum of batch sizes, L]``. The representation is deterministic, so
    encoding many small batches at once gives the codes one call per batch would."""
    x = np.concatenate(observations, axis=0)
    codes = [np.asarray(fn(x[i:i + ENCODE_BATCH])) for i in range(0, len(x), ENCODE_BATCH)]
    codes = np.concatenate(codes, axis=0)
    if codes.ndim != 2 or codes.shape[0] != len(x):
        raise ValueError(f"the representation must map {len(x)} observations to [{len(x)}, L] codes, got {codes.shape}.")
    return codes.astype(np.float64)


def check_data(data: Any) -> None:
    missing = [m for m in ("num_factors", "sample_factors", "sample_observations_from_factors", "sample") if not hasattr(data, m)]
    if missing:
        raise ValueError(
            f"data must follow the ground-truth-data protocol (keras_vae.datasets.GroundTruthData, "
            f"e.g. kv.datasets.DSprites()); {type(data).__name__} lacks {missing}."
        )


def check_count(value: Any, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def generate_batch_factor_code(data, fn, num_points: int, random_state, batch_size: int):
    """``(codes [L, num_points], factors [F, num_points])`` of random examples, drawn
    ``batch_size`` at a time (disentanglement_lib's ``generate_batch_factor_code``)."""
    factors, observations = [], []
    i = 0
    while i < num_points:
        n = min(num_points - i, batch_size)
        f, x = data.sample(n, random_state)
        factors.append(np.asarray(f))
        observations.append(np.asarray(x))
        i += n
    return encode_all(fn, observations).T, np.concatenate(factors, axis=0).T


def histogram_discretize(target: np.ndarray, num_bins: int = 20) -> np.ndarray:
    """Each row binned into ``num_bins`` equal-width bins of its own range (disentanglement_lib's
    ``_histogram_discretize``)."""
    discretized = np.zeros_like(target)
    for i in range(target.shape[0]):
        discretized[i, :] = np.digitize(target[i, :], np.histogram(target[i, :], num_bins)[1][:-1])
    return discretized


def discrete_mutual_info(mus: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """``[num_codes, num_factors]`` mutual information (nats) by sklearn's ``mutual_info_score``."""
    mutual_info_score = sklearn().metrics.mutual_info_score
    m = np.zeros([mus.shape[0], ys.shape[0]])
    for i in range(mus.shape[0]):
        for j in range(ys.shape[0]):
            m[i, j] = mutual_info_score(ys[j, :], mus[i, :])
    return m


def discrete_entropy(ys: np.ndarray) -> np.ndarray:
    """Entropy (nats) of each factor row."""
    mutual_info_score = sklearn().metrics.mutual_info_score
    return np.array([mutual_info_score(y, y) for y in ys])


def split_train_test(observations: np.ndarray, train_percentage: float):
    n_train = int(np.ceil(observations.shape[1] * train_percentage))
    return observations[:, :n_train], observations[:, n_train:]


def start(model_or_fn, data, random_state):
    """The representation function and the ``RandomState`` of a metric's call."""
    check_data(data)
    return representation(model_or_fn), as_random_state(random_state)
