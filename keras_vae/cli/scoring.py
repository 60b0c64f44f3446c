"""Test scores of a model, through its public methods: ELBO, importance-sampled
log-likelihood, bits per dimension, active units and KL per latent dimension."""
from __future__ import annotations

import math

from keras_vae.cli.progress import Progress


def _active_units(vae, x, condition=None) -> int:
    import numpy as np

    result = vae.active_units(x) if condition is None else vae.active_units(x, condition=condition)
    if isinstance(result, dict):
        for key in ("active_units", "count", "num_active", "active"):
            if key in result:
                result = result[key]
                break
    if isinstance(result, (tuple, list)) and result and np.ndim(result[0]) == 0:
        result = result[0]
    array = np.asarray(result)
    if array.ndim == 0:
        return int(array)
    return int(np.count_nonzero(array))  # a per-dimension mask


def score(vae, x, num_samples: int, batch_size: int, seed: int, progress: bool = False, condition=None) -> dict:
    """Scores of ``x`` in nats per example (given ``condition``, one per example, for
    a conditioned model: the ELBO and log p(x | c)).

    The log-likelihood is estimated batch by batch (batch ``i`` with seed
    ``seed + i``) so that a progress bar can follow it.
    """
    import numpy as np

    dims = int(np.prod(x.shape[1:]))
    bar = Progress(len(x), "examples", enabled=progress)
    elbo_total, ll_total = 0.0, 0.0
    for i in range(0, len(x), batch_size):
        batch = x[i : i + batch_size]
        given = {} if condition is None else {"condition": condition[i : i + batch_size]}
        elbo_total += float(np.sum(np.asarray(vae.elbo(batch, seed=seed + i, **given))))
        ll = vae.log_likelihood(batch, num_samples=num_samples, batch_size=batch_size, seed=seed + i, **given)
        ll_total += float(np.sum(np.asarray(ll)))
        bar.update(min(len(x), i + batch_size))
    ll_mean = ll_total / len(x)
    return {
        "num_examples": int(len(x)),
        "elbo": elbo_total / len(x),
        "log_likelihood": ll_mean,
        "log_likelihood_num_samples": int(num_samples),
        # a code length only for a probability mass (keras_vae.cli.levels)
        "bits_per_dim": -ll_mean / (dims * math.log(2.0)) if vae.likelihood_layer.discrete else None,
        "active_units": _active_units(vae, x, condition),
        "latent_dim": int(vae.latent_dim),
        "kl_per_dimension": kl_per_dimension(vae, x, condition),
    }


def kl_per_dimension(vae, x, condition=None) -> list[float] | None:
    """KL per latent dimension (given each example's ``condition`` for a conditioned
    model: KL(q(z|x, c) || p(z|c)); a hierarchy's groups one after the other, z_1
    first), or None for a posterior without closed-form marginals (a flow), which has
    only the total KL."""
    import numpy as np

    result = model_kl_per_dimension(vae, x, condition)
    if result is None:
        return None
    groups = result if isinstance(result, (list, tuple)) else [result]
    return [float(v) for group in groups for v in np.asarray(group).reshape(-1)]


def model_kl_per_dimension(vae, x, condition=None):
    """``vae.kl_per_dimension`` (one array, or a hierarchy's list of arrays) given
    ``condition``; None for a flow posterior, or for a plug-in model whose
    diagnostics need more than x (a conditioned model's failure is raised)."""
    from keras_vae.evaluation.diagnostics import NoMarginalsError

    try:
        return vae.kl_per_dimension(x) if condition is None else vae.kl_per_dimension(x, condition=condition)
    except NoMarginalsError:
        return None
    except (ValueError, TypeError):
        if condition is not None:  # the diagnostics take conditions: a failure here is real
            raise
        return None


def finite(value) -> float | None:
    """A float for JSON (``None`` for NaN / inf / None)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
