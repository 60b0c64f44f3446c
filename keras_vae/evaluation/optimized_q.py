"""The ELBO of the encoder's q(z|x) and of a q* optimized for each example, on the
same noise, so that their difference (the amortization gap) has little Monte
Carlo error.

Example:
    >>> import numpy as np, keras_vae as kv
    >>> vae = kv.VAE(encoder=kv.encoders.MLPEncoder([16]), decoder=kv.decoders.MLPDecoder([16]),
    ...              latent_dim=2, input_shape=(8,), seed=0)
    >>> x = np.random.default_rng(0).integers(0, 2, (4, 8)).astype("float32")
    >>> best, amortized = kv.evaluation.optimized_elbo(vae, x, optimize_steps=20, seed=0,
    ...                                                return_amortized=True)
    >>> best.shape, bool(np.all(best >= amortized - 0.5))
    ((4,), True)
"""
from __future__ import annotations

import dataclasses
import weakref
from typing import Any

import numpy as np
import tensorflow as tf

from keras_vae.evaluation import _mcmc
from keras_vae.evaluation._common import _check_positive, checked_condition
from keras_vae.evaluation._q_star import CHECK_SAMPLES, _Optimizer, elbo_of_params

__all__ = ["OptimizedELBO", "amortized_elbo", "optimized_elbo"]

_OPTIMIZERS: "weakref.WeakKeyDictionary[Any, dict]" = weakref.WeakKeyDictionary()


@dataclasses.dataclass
class OptimizedELBO:
    """What :func:`optimized_elbo` returns with ``return_details=True``: the optimized
    ELBO per example, the amortized one (same noise; with ``return_amortized``), whether each example's
    optimization met the stopping rule, and the Adam steps it took."""

    optimized: np.ndarray
    amortized: np.ndarray | None  # with return_amortized=True only
    converged: np.ndarray
    steps: np.ndarray


def optimized_elbo(
    vae,
    x,
    optimize_steps: int = 3000,
    learning_rate: float = 0.02,
    optimize_samples: int = 16,
    num_elbo_samples: int = 200,
    batch_size: int | None = None,
    seed: int | None = None,
    return_amortized: bool = False,
    tolerance: float = 1e-4,
    return_details: bool = False,
    condition=None,
):
    """The ELBO of a posterior of the model's family optimized for each example.

    Each example's q starts from the better (by a fixed-noise ELBO) of two points:
    the encoder's parameters, and the member of the family closest to the prior
    (``PRIOR_MATCH_STEPS`` Adam steps on ``KL(q || p(z))`` from all-zero head
    parameters) — so an untrained or badly scaled encoder does not decide where the
    search starts. Adam (``learning_rate``, path-derivative gradient,
    ``optimize_samples`` samples per step) then runs in windows of ``WINDOW`` (100)
    steps; after each window the current and the best parameters so far are compared
    on ``CHECK_SAMPLES`` (64) draws, fresh for each window and shared by the two, the
    better are kept, and an example has *converged* when ``PATIENCE`` (2) windows
    running gained less than ``tolerance * max(1, |ELBO|)`` each (fixed draws could
    favour one point for good and end its search there). It stops when every example of the batch has
    converged or after ``optimize_steps`` steps; an example that had not converged by
    then is reported (``return_details``) and :func:`inference_gaps` warns. The
    optimized ELBO is finally estimated with ``num_elbo_samples`` fresh samples (the
    same noise as the amortized ELBO, so their difference has little Monte Carlo
    error).

    For a conditioned model (``condition=c``, one per example) q* is the best
    member of the family for log p(x | c): the ELBO is
    ``E_q[log p(x | z, c) + log p(z | c) - log q(z)]``, the encoder's start is
    q(z | x, c), and the prior-matched start matches p(z | c).

    Args:
        vae: a built VAE.
        x: data ``(N, *data_shape)``.
        optimize_steps: the most Adam steps per batch.
        learning_rate: Adam learning rate.
        optimize_samples: samples per ELBO gradient.
        num_elbo_samples: samples of the final ELBO estimates.
        batch_size: examples optimized together (independently; by default memory-bounded).
        seed: int for reproducible results.
        return_amortized: also return the amortized ELBO (same noise).
        tolerance: the stopping rule's relative ELBO gain per window.
        return_details: return an :class:`OptimizedELBO` (with ``converged`` and
            ``steps`` per example).
        condition: a conditioned model's conditions, one per example of x.

    Returns:
        float64 ``(N,)`` nats, ``(optimized, amortized)``, or an :class:`OptimizedELBO`.

    Example:
        >>> best = kv.evaluation.optimized_elbo(vae, x_test[:100], seed=0)  # doctest: +SKIP
    """
    optimize_steps = _check_positive(optimize_steps, "optimize_steps", allow_none=False)
    optimize_samples = _check_positive(optimize_samples, "optimize_samples", allow_none=False)
    num_elbo_samples = _check_positive(num_elbo_samples, "num_elbo_samples", allow_none=False)
    batch_size = _check_positive(batch_size, "batch_size")
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float)) or not learning_rate > 0:
        raise ValueError(f"learning_rate must be a positive number, got {learning_rate!r}.")
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not tolerance > 0:
        raise ValueError(f"tolerance must be a positive number, got {tolerance!r}.")
    x, condition = checked_condition(vae, x, condition, "optimized_elbo")
    n = len(x)
    if batch_size is None:
        batch_size = _mcmc.default_batch_size(vae, max(optimize_samples, num_elbo_samples, CHECK_SAMPLES), n)
    batch_size = max(1, min(batch_size, n))
    batches = model_batches(vae, x, condition, batch_size)
    cache = _OPTIMIZERS.setdefault(vae, {})
    key = (batch_size, float(learning_rate), optimize_samples)
    if key not in cache:
        cache[key] = _Optimizer(vae, batch_size, float(learning_rate), optimize_samples, batches[0])
    optimizer = cache[key]
    model_ref = weakref.ref(vae)

    @tf.function(reduce_retracing=True)
    def elbo(batch, params, batch_seed):
        return elbo_of_params(model_ref(), batch, params, batch_seed, num_elbo_samples)

    base = _mcmc.base_seed(seed, _mcmc.GAPS_STREAM)
    optimized, amortized, converged, steps = [], [], [], []
    for index, batch in enumerate(batches):
        optimize_seed, elbo_seed = tf.unstack(tf.random.experimental.stateless_split(_mcmc.batch_seed(base, index), 2))
        best, batch_converged, batch_steps = optimizer.run(batch, optimize_seed, optimize_steps, float(tolerance))
        optimized.append(elbo(batch, best, elbo_seed).numpy().astype(np.float64))
        if return_amortized:  # inference_gaps times it on its own (amortized_elbo, same noise)
            amortized.append(elbo(batch, optimizer.head_params(batch), elbo_seed).numpy().astype(np.float64))
        converged.append(batch_converged)
        steps.append(batch_steps)
    details = OptimizedELBO(np.concatenate(optimized), np.concatenate(amortized) if amortized else None,
                            np.concatenate(converged), np.concatenate(steps))
    if return_details:
        return details
    return (details.optimized, details.amortized) if return_amortized else details.optimized


def amortized_elbo(vae, x, num_elbo_samples: int = 200, batch_size: int | None = None, seed: int | None = None,
                   condition=None) -> np.ndarray:
    """The Monte Carlo ELBO of the encoder's q(z|x) (q(z|x, c) given ``condition``)
    per example (same noise as :func:`optimized_elbo`)."""
    num_elbo_samples = _check_positive(num_elbo_samples, "num_elbo_samples", allow_none=False)
    x, condition = checked_condition(vae, x, condition, "amortized_elbo")
    n = len(x)
    batch_size = _check_positive(batch_size, "batch_size") or _mcmc.default_batch_size(vae, num_elbo_samples, n)
    batch_size = max(1, min(batch_size, n))
    model_ref = weakref.ref(vae)

    @tf.function(reduce_retracing=True)
    def elbo(batch, batch_seed):
        vae = model_ref()
        params = vae.posterior_parameters(batch, training=False)
        return elbo_of_params(vae, batch, params, batch_seed, num_elbo_samples)

    base = _mcmc.base_seed(seed, _mcmc.GAPS_STREAM)
    out = []
    for index, batch in enumerate(model_batches(vae, x, condition, batch_size)):
        elbo_seed = tf.unstack(tf.random.experimental.stateless_split(_mcmc.batch_seed(base, index), 2))[1]
        out.append(elbo(batch, elbo_seed).numpy())
    return np.concatenate(out).astype(np.float64)


def model_batches(vae, x: np.ndarray, condition: np.ndarray | None, batch_size: int) -> list:
    """x in the units the model computes in, cut into float32 batches; with a
    condition, ``{"x": ..., "condition": ...}`` batches (the condition prepared)."""
    x = np.asarray(vae.to_model_units(x))
    batches = []
    for start in range(0, len(x), batch_size):
        batch = tf.constant(x[start : start + batch_size], tf.float32)
        if condition is not None:
            batch = {"x": batch, "condition": vae.prepare_condition(condition[start : start + batch_size])}
        batches.append(batch)
    return batches
