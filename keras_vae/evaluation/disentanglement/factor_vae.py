"""The FactorVAE score (Kim & Mnih, 2018), as disentanglement_lib computes it."""
from __future__ import annotations

from typing import Any

import numpy as np

from keras_vae.evaluation.disentanglement import _common


def factor_vae_score(model_or_fn: Any, data: Any, num_train: int = 10000, num_eval: int = 5000, seed: Any = 0,
                     batch_size: int = 64, num_variance_estimate: int = 10000, prune_threshold: float = 0.05) -> dict:
    """``{"train_accuracy", "eval_accuracy", "num_active_dims"}``: each point fixes
    one random factor in a batch of ``batch_size`` examples, divides each code's
    variance in the batch by its variance over ``num_variance_estimate`` examples,
    and votes (factor, code with the smallest ratio); a majority-vote classifier
    from code to factor is read off the training votes and scored on the
    evaluation votes. Codes with a standard deviation below ``prune_threshold``
    (disentanglement_lib's study: 0.05) take no part. The observations of many
    points are encoded together (the same codes, far fewer calls), the
    ``random_state`` is drawn from in disentanglement_lib's order.

    Example:
        >>> import keras_vae as kv
        >>> data = kv.datasets.DSprites.small()
        >>> sorted(kv.evaluation.disentanglement.factor_vae_score(
        ...     lambda x: x.reshape(len(x), -1)[:, 300:303], data, num_train=5, num_eval=5,
        ...     batch_size=4, num_variance_estimate=50))
        ['eval_accuracy', 'num_active_dims', 'train_accuracy']
    """
    fn, state = _common.start(model_or_fn, data, seed)
    batch_size = _common.check_count(batch_size, "batch_size", 2)
    num_train = _common.check_count(num_train, "num_train")
    num_eval = _common.check_count(num_eval, "num_eval")
    num_variance_estimate = _common.check_count(num_variance_estimate, "num_variance_estimate", 2)
    observations = data.sample_observations(num_variance_estimate, state)
    global_variances = np.var(_common.encode_all(fn, [np.asarray(observations)]), axis=0, ddof=1)
    active_dims = np.sqrt(global_variances) >= prune_threshold
    if not active_dims.any():
        return {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0}
    training_votes = _votes(data, fn, batch_size, num_train, state, global_variances, active_dims)
    classifier = np.argmax(training_votes, axis=0)
    other_index = np.arange(training_votes.shape[1])
    train_accuracy = np.sum(training_votes[classifier, other_index]) / np.sum(training_votes)
    eval_votes = _votes(data, fn, batch_size, num_eval, state, global_variances, active_dims)
    eval_accuracy = np.sum(eval_votes[classifier, other_index]) / np.sum(eval_votes)
    # disentanglement_lib reports len(mask), the number of codes; so do we.
    return {"train_accuracy": float(train_accuracy), "eval_accuracy": float(eval_accuracy),
            "num_active_dims": int(len(active_dims))}


def _votes(data, fn, batch_size, num_points, state, global_variances, active_dims) -> np.ndarray:
    """``[num_factors, num_codes]`` votes of ``num_points`` points."""
    indices, observations = [], []
    for _ in range(num_points):
        factor_index = state.randint(data.num_factors)
        factors = data.sample_factors(batch_size, state)
        factors[:, factor_index] = factors[0, factor_index]
        observations.append(np.asarray(data.sample_observations_from_factors(factors, state)))
        indices.append(factor_index)
    codes = _common.encode_all(fn, observations).reshape(num_points, batch_size, -1)
    local_variances = np.var(codes, axis=1, ddof=1)  # [points, codes]
    # The index among the active codes, as disentanglement_lib (the accuracy does
    # not depend on how the columns are labelled).
    with np.errstate(divide="ignore", invalid="ignore"):  # a constant code: 0 / 0, as the reference
        argmin = np.argmin(local_variances[:, active_dims] / global_variances[active_dims], axis=1)
    votes = np.zeros((data.num_factors, global_variances.shape[0]), dtype=np.int64)
    np.add.at(votes, (np.asarray(indices), argmin), 1)
    return votes
