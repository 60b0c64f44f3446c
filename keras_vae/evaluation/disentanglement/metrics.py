"""All the disentanglement metrics in one call."""
from __future__ import annotations

from typing import Any, Sequence

from keras_vae.evaluation.disentanglement.beta_vae import beta_vae_score
from keras_vae.evaluation.disentanglement.dci_scores import dci
from keras_vae.evaluation.disentanglement.factor_vae import factor_vae_score
from keras_vae.evaluation.disentanglement.mutual_information_gap import mig
from keras_vae.evaluation.disentanglement.modularity_score import modularity_explicitness
from keras_vae.evaluation.disentanglement.sap_score import sap

#: name -> (function, the keyword for its evaluation-set size or None)
METRICS = {
    "mig": (mig, None),
    "dci": (dci, "num_test"),
    "sap": (sap, "num_test"),
    "factor_vae_score": (factor_vae_score, "num_eval"),
    "beta_vae_score": (beta_vae_score, "num_eval"),
    "modularity": (modularity_explicitness, "num_test"),
}


def disentanglement_metrics(
    model_or_fn: Any,
    data: Any,
    metrics: Sequence[str] = tuple(METRICS),
    num_train: int = 10000,
    num_test: int = 5000,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """The disentanglement metrics of a model (its encoder's representative point)
    on ground-truth data, as disentanglement_lib defines and computes them.

    Each metric gets a fresh ``np.random.RandomState(seed)``, as disentanglement_lib
    runs each metric with ``evaluation.random_seed = 0``; ``num_train`` /
    ``num_test`` are its sample sizes (the study's: 10,000 / 5,000; the FactorVAE
    score also uses ``num_train`` points for its variance estimate). Needs
    scikit-learn (``pip install 'keras-vae[disentanglement]'``).

    Args:
        model_or_fn: a model with ``encode`` or a function observations -> codes.
        data: ground-truth data, e.g. ``kv.datasets.DSprites()``.
        metrics: names among ``"mig"``, ``"dci"``, ``"sap"``,
            ``"factor_vae_score"``, ``"beta_vae_score"``, ``"modularity"``.
        num_train, num_test: points sampled.
        seed: the random seed of every metric.

    Returns:
        ``{metric: {score name: value}}`` with disentanglement_lib's score names.

    Example:
        >>> import keras_vae as kv
        >>> data = kv.datasets.DSprites.small()
        >>> scores = kv.evaluation.disentanglement_metrics(
        ...     lambda x: x.reshape(len(x), -1)[:, 300:304], data, metrics=["mig", "sap"],
        ...     num_train=100, num_test=50)
        >>> sorted(scores), sorted(scores["sap"])
        (['mig', 'sap'], ['SAP_score'])
    """
    if isinstance(metrics, str):
        metrics = [metrics]
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise ValueError(f"metrics must be names among {list(METRICS)}, got {list(metrics)!r}.")
    results = {}
    for name in metrics:
        function, test_keyword = METRICS[name]
        kwargs = {"num_train": num_train, "seed": seed}
        if test_keyword is not None:
            kwargs[test_keyword] = num_test
        if name == "factor_vae_score":
            kwargs["num_variance_estimate"] = num_train
        results[name] = function(model_or_fn, data, **kwargs)
    return results
