"""log p(x) estimates against their cost: the importance-sampled bound at several K
and AIS at several numbers of steps, on the same examples, with a plot.

Both estimators are stochastic lower bounds that rise with effort; where the curves
flatten, and whether they meet, says which estimate to trust at which price.

Example:
    >>> import numpy as np, keras_vae as kv
    >>> vae = kv.VAE(encoder=kv.encoders.MLPEncoder([16]), decoder=kv.decoders.MLPDecoder([16]),
    ...              latent_dim=2, input_shape=(8,), seed=0)
    >>> x = np.random.default_rng(0).integers(0, 2, (4, 8)).astype("float32")
    >>> points = kv.evaluation.estimates_vs_cost(vae, x, iwae_samples=(1, 10), ais_steps=(5,),
    ...                                          ais={"num_chains": 2}, seed=0)
    >>> [(p["method"], p["setting"]) for p in points]
    [('iwae', 1), ('iwae', 10), ('ais', 5)]
"""
from __future__ import annotations

import time
from typing import Sequence

import numpy as np

from keras_vae.evaluation._common import _check_positive, checked_condition
from keras_vae.evaluation._mcmc import PILOT_CHAINS
from keras_vae.evaluation.ais import ais_log_likelihood

__all__ = ["estimates_vs_cost", "plot_estimates_vs_cost"]


def estimates_vs_cost(
    vae,
    x,
    iwae_samples: Sequence[int] = (1, 10, 100, 1000, 5000),
    ais_steps: Sequence[int] = (10, 100, 1000),
    ais: dict | None = None,
    seed: int | None = None,
    verbose: int = 0,
    condition=None,
) -> list[dict]:
    """Mean log p(x) estimates and their wall time, for each K and each AIS length
    (of log p(x | c) for a conditioned model, given ``condition``).

    Args:
        vae: a built VAE.
        x: data ``(N, *data_shape)``.
        iwae_samples: importance samples K of :func:`keras_vae.evaluation.log_likelihood`.
        ais_steps: ``num_steps`` of :func:`keras_vae.evaluation.ais_log_likelihood`.
        ais: other keyword arguments of ``ais_log_likelihood`` (``num_chains`` ...).
        seed: int for reproducible estimates.
        verbose: 1 prints each point as it is measured.
        condition: a conditioned model's conditions, one per example of x.

    Returns:
        list of dicts ``{"method": "iwae" | "ais", "setting": K or steps,
        "log_px": mean nats/example, "seconds": wall time, "decoder_passes": decoder
        evaluations per example (AIS: pilot chains and gradients included),
        "values": the per-example estimates}``. The first call of each setting includes tracing.

    Example:
        >>> points = kv.evaluation.estimates_vs_cost(vae, x_test[:100], seed=0)  # doctest: +SKIP
        >>> kv.evaluation.plot_estimates_vs_cost(points).savefig("cost.png")     # doctest: +SKIP
    """
    from keras_vae.evaluation.log_likelihood import log_likelihood

    x, condition = checked_condition(vae, x, condition, "estimates_vs_cost")
    given = {} if condition is None else {"condition": condition}
    ais = dict(ais or {})
    chains = ais.get("num_chains", 16)
    leapfrog = ais.get("num_leapfrog_steps", 10)
    points = []
    for k in iwae_samples:
        k = _check_positive(k, "iwae_samples", allow_none=False)
        t0 = time.perf_counter()
        if condition is None:
            estimate = log_likelihood(vae, x, num_samples=k, seed=seed)
        else:  # the conditioned model's own estimator of log p(x | c)
            estimate = vae.log_likelihood(x, num_samples=k, seed=seed, condition=condition)
        points.append({"method": "iwae", "setting": k, "log_px": float(np.mean(estimate)),
                       "seconds": time.perf_counter() - t0, "decoder_passes": k, "values": estimate})
        if verbose:
            _print(points[-1])
    for steps in ais_steps:
        steps = _check_positive(steps, "ais_steps", allow_none=False)
        t0 = time.perf_counter()
        estimate = ais_log_likelihood(vae, x, num_steps=steps, seed=seed, **ais, **given)
        points.append({"method": "ais", "setting": steps, "log_px": float(np.mean(estimate)),
                       "seconds": time.perf_counter() - t0,
                       "decoder_passes": (chains + min(PILOT_CHAINS, chains)) * steps * (leapfrog + 2),
                       "values": estimate})
        if verbose:
            _print(points[-1])
    return points


def _print(point: dict) -> None:
    name = "K" if point["method"] == "iwae" else "steps"
    print(f"{point['method']:>5} {name}={point['setting']:<6} log p(x) {point['log_px']:10.3f}  "
          f"{point['seconds']:7.2f} s", flush=True)


def plot_estimates_vs_cost(points: list[dict], ax=None, cost: str = "seconds"):
    """Plot the estimates of :func:`estimates_vs_cost` against their cost (log x-axis).

    Args:
        points: the list returned by :func:`estimates_vs_cost`.
        ax: a matplotlib ``Axes`` to draw on (a new figure by default).
        cost: ``"seconds"`` or ``"decoder_passes"`` (per example).

    Returns:
        the matplotlib ``Figure``.

    Raises:
        ImportError: matplotlib is not installed (``pip install matplotlib``).

    Example:
        >>> fig = kv.evaluation.plot_estimates_vs_cost(points)   # doctest: +SKIP
        >>> fig.savefig("estimates_vs_cost.png")                 # doctest: +SKIP
    """
    if cost not in ("seconds", "decoder_passes"):
        raise ValueError(f"cost must be 'seconds' or 'decoder_passes', got {cost!r}.")
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - matplotlib is an install requirement
        raise ImportError(
            "plot_estimates_vs_cost needs matplotlib: pip install matplotlib"
        ) from error
    if ax is None:
        figure, ax = plt.subplots(figsize=(5.5, 3.8))
    else:
        figure = ax.figure
    labels = {"iwae": "importance sampling (K)", "ais": "AIS (steps)"}
    for method, marker in (("iwae", "o"), ("ais", "s")):
        chosen = [p for p in points if p["method"] == method]
        if not chosen:
            continue
        xs = [p[cost] for p in chosen]
        ys = [p["log_px"] for p in chosen]
        ax.plot(xs, ys, marker=marker, label=labels[method])
        for p, xv, yv in zip(chosen, xs, ys):
            ax.annotate(str(p["setting"]), (xv, yv), textcoords="offset points", xytext=(3, -10), fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("wall time (s)" if cost == "seconds" else "decoder passes per example")
    ax.set_ylabel("mean log p(x) estimate (nats)")
    ax.set_title("log-likelihood estimates vs cost")
    ax.legend()
    figure.tight_layout()
    return figure
