"""The β-VAE score (Higgins et al., 2017), as disentanglement_lib computes it
(``beta_vae_sklearn``)."""
from __future__ import annotations

from typing import Any

import numpy as np

from keras_vae.evaluation.disentanglement import _common


def beta_vae_score(model_or_fn: Any, data: Any, num_train: int = 10000, num_eval: int = 5000, seed: Any = 0,
                   batch_size: int = 64) -> dict:
    """``{"train_accuracy", "eval_accuracy"}``: each point fixes one random factor
    across ``batch_size`` pairs of examples; its feature is the mean absolute
    difference of the pairs' codes, its label the fixed factor. A
    ``sklearn.linear_model.LogisticRegression`` (default settings) is fitted on
    ``num_train`` points and scored on ``num_eval``.

    Example:
        >>> import keras_vae as kv
        >>> data = kv.datasets.DSprites.small()
        >>> sorted(kv.evaluation.disentanglement.beta_vae_score(
        ...     lambda x: x.reshape(len(x), -1)[:, 300:303], data, num_train=20, num_eval=10,
        ...     batch_size=4))
        ['eval_accuracy', 'train_accuracy']
    """
    fn, state = _common.start(model_or_fn, data, seed)
    batch_size = _common.check_count(batch_size, "batch_size")
    num_train = _common.check_count(num_train, "num_train", 2)
    num_eval = _common.check_count(num_eval, "num_eval")
    linear_model = _common.sklearn().linear_model
    train_points, train_labels = _points(data, fn, batch_size, num_train, state)
    model = linear_model.LogisticRegression(random_state=state)
    model.fit(train_points, train_labels)
    train_accuracy = np.mean(model.predict(train_points) == train_labels)
    eval_points, eval_labels = _points(data, fn, batch_size, num_eval, state)
    eval_accuracy = model.score(eval_points, eval_labels)
    return {"train_accuracy": float(train_accuracy), "eval_accuracy": float(eval_accuracy)}


def _points(data, fn, batch_size, num_points, state):
    labels = np.zeros(num_points, dtype=np.int64)
    observations = []
    for i in range(num_points):
        index = state.randint(data.num_factors)
        factors1 = data.sample_factors(batch_size, state)
        factors2 = data.sample_factors(batch_size, state)
        factors2[:, index] = factors1[:, index]
        observations.append(np.asarray(data.sample_observations_from_factors(factors1, state)))
        observations.append(np.asarray(data.sample_observations_from_factors(factors2, state)))
        labels[i] = index
    codes = _common.encode_all(fn, observations).reshape(num_points, 2, batch_size, -1)
    return np.mean(np.abs(codes[:, 0] - codes[:, 1]), axis=1), labels
