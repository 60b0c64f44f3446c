"""The inference gaps of a VAE (Cremer, Li & Duvenaud, 2018, "Inference suboptimality
in variational autoencoders").

The ELBO of the amortized posterior falls short of log p(x) by
``KL(q(z|x) || p(z|x))``. That gap has two parts::

    log p(x) - ELBO[q_amortized]
        = (log p(x) - ELBO[q*])            approximation gap: the family of q is too narrow
        + (ELBO[q*] - ELBO[q_amortized])   amortization gap: the encoder misses the best q

where q* is the best member of the posterior's family for this x, found here by
optimizing the posterior head's parameters for each example separately (Adam on the
ELBO, started from the encoder's output, with the path-derivative gradient of
Roeder et al. (2017) — zero variance at the exact posterior). log p(x) comes from
AIS. A large amortization gap says: a better encoder (or more training) helps; a
large approximation gap says: a richer posterior (full covariance, a flow) helps.

For a flow posterior, the per-example parameters are those the head predicts (the
base Gaussian and the flow's context); the flow networks' weights stay shared.

Example:
    >>> import numpy as np, keras_vae as kv
    >>> vae = kv.VAE(encoder=kv.encoders.MLPEncoder([16]), decoder=kv.decoders.MLPDecoder([16]),
    ...              latent_dim=2, input_shape=(8,), seed=0)
    >>> x = np.random.default_rng(0).integers(0, 2, (4, 8)).astype("float32")
    >>> gaps = kv.evaluation.inference_gaps(vae, x, optimize_steps=20,
    ...                                     ais={"num_steps": 20, "num_chains": 4}, seed=0)
    >>> sorted(gaps.table())
    ['amortization_gap', 'approximation_gap', 'elbo_amortized', 'elbo_optimized', 'log_px']
"""
from __future__ import annotations

import dataclasses
import time
import weakref
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from keras_vae.evaluation import _mcmc
from keras_vae.evaluation._common import _as_array, _check_positive
from keras_vae.evaluation.ais import ais_log_likelihood
from keras_vae.objectives._log_weights import log_weights

__all__ = ["InferenceGaps", "inference_gaps", "optimized_elbo"]


@dataclasses.dataclass
class InferenceGaps:
    """log p(x), the amortized and the optimized ELBO per example, and the gaps between them.

    All arrays are float64 ``(N,)`` in nats; ``seconds`` holds the wall time of
    each estimate, the cost to read the estimates against.

    Example:
        >>> gaps = kv.evaluation.inference_gaps(vae, x_test[:100], seed=0)  # doctest: +SKIP
        >>> print(gaps.summary())                                          # doctest: +SKIP
    """

    log_px: np.ndarray
    elbo_amortized: np.ndarray
    elbo_optimized: np.ndarray
    seconds: dict
    settings: dict = dataclasses.field(default_factory=dict)

    @property
    def approximation_gap(self) -> np.ndarray:
        """``log p(x) - ELBO[q*]``: what the posterior family cannot represent."""
        return self.log_px - self.elbo_optimized

    @property
    def amortization_gap(self) -> np.ndarray:
        """``ELBO[q*] - ELBO[q_amortized]``: what the encoder misses."""
        return self.elbo_optimized - self.elbo_amortized

    @property
    def inference_gap(self) -> np.ndarray:
        """``log p(x) - ELBO[q_amortized]``, the sum of the two gaps."""
        return self.log_px - self.elbo_amortized

    def table(self) -> dict[str, float]:
        """Means over the examples, nats per example."""
        return {
            "log_px": float(np.mean(self.log_px)),
            "elbo_amortized": float(np.mean(self.elbo_amortized)),
            "elbo_optimized": float(np.mean(self.elbo_optimized)),
            "approximation_gap": float(np.mean(self.approximation_gap)),
            "amortization_gap": float(np.mean(self.amortization_gap)),
        }

    def summary(self) -> str:
        """The gaps table as text, with each estimate's cost."""
        t, s, n = self.table(), self.seconds, len(self.log_px)
        lines = [
            f"inference gaps over {n} examples (nats/example; Cremer et al. 2018)",
            f"  log p(x)  ({self.settings.get('log_px', 'AIS')}) {t['log_px']:10.3f}   {s.get('log_px', 0):7.1f} s",
            f"  ELBO, optimized q*           {t['elbo_optimized']:10.3f}   {s.get('elbo_optimized', 0):7.1f} s",
            f"  ELBO, amortized q            {t['elbo_amortized']:10.3f}   {s.get('elbo_amortized', 0):7.1f} s",
            f"  approximation gap            {t['approximation_gap']:10.3f}",
            f"  amortization gap             {t['amortization_gap']:10.3f}",
            f"  inference gap (sum)          {t['approximation_gap'] + t['amortization_gap']:10.3f}",
        ]
        return "\n".join(lines)


# ------------------------------------------------------------- per-example q*
class _Optimizer:
    """One batch's per-example posterior parameters, their Adam optimizer and the
    traced functions: made once per (model, settings), reset for every batch."""

    def __init__(self, vae, batch_size: int, num_steps: int, learning_rate: float, num_samples: int):
        self.model_ref = weakref.ref(vae)
        self.batch_size = batch_size
        params = self.head_params(tf.zeros((1, *vae.data_shape), tf.float32))
        self.params = keras.Variable(tf.zeros((batch_size, int(params.shape[-1]))), name="q_params")
        schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=num_steps)
        self.optimizer = keras.optimizers.Adam(learning_rate=schedule)
        self.optimizer.build([self.params])
        self.num_steps = num_steps
        self.num_samples = num_samples
        self.optimize = tf.function(self._optimize, reduce_retracing=True)

    def head_params(self, x):
        return tf.cast(self.model_ref().posterior_parameters(x, training=False), tf.float32)

    def _optimize(self, x, seed):
        for step in tf.range(self.num_steps):
            with tf.GradientTape() as tape:
                step_seed = tf.random.experimental.stateless_fold_in(seed, step)
                params = tf.convert_to_tensor(self.params)
                elbo = elbo_of_params(self.model_ref(), x, params, step_seed, self.num_samples, path_derivative=True)
                loss = -tf.reduce_sum(elbo)
            gradients = tape.gradient(loss, [self.params])
            self.optimizer.apply_gradients(zip(gradients, [self.params]))
        return tf.convert_to_tensor(self.params)

    def run(self, x: tf.Tensor, seed) -> tf.Tensor:
        rows = int(x.shape[0])
        # Pad a short last batch by repeating rows: each row has its own parameters
        # and gradient, so the copies change nothing; they are dropped after.
        padded = tf.gather(x, tf.range(self.batch_size) % rows)
        self.params.assign(self.head_params(padded))
        for variable in self.optimizer.variables:
            variable.assign(tf.zeros_like(variable))
        return self.optimize(padded, seed)[:rows]


def elbo_of_params(vae, x, params, seed, num_samples: int, path_derivative: bool = False) -> tf.Tensor:
    """Monte Carlo ELBO per example of q = ``vae.posterior_layer.distribution(params)``.

    ``mean_m [log p(x|z_m) + log p(z_m) - log q(z_m)]`` over ``num_samples``
    reparameterized samples, ``(B,)``. With ``path_derivative`` the log q term sees
    the parameters through z only (Roeder et al., 2017), for optimization.
    """
    rows = tf.shape(x)[0]
    tiled = lambda t: tf.reshape(  # noqa: E731  [B, ...] -> [M * B, ...]
        tf.broadcast_to(t[tf.newaxis], tf.concat([[num_samples], tf.shape(t)], 0)),
        tf.concat([[num_samples * rows], tf.shape(t)[1:]], 0),
    )
    head = vae.posterior_layer
    params = tiled(params)
    z = tf.cast(head.distribution(params).sample(seed=seed), tf.float32)
    q = head.distribution(tf.stop_gradient(params) if path_derivative else params)
    log_q = tf.reshape(tf.cast(q.log_prob(z), tf.float32), [num_samples, rows])
    # The M samples' likelihoods are scored against one copy of x.
    log_px, log_pz = vae.joint_log_prob(tf.cast(x, tf.float32), tf.reshape(z, [num_samples, rows, vae.latent_dim]))
    return tf.reduce_mean(log_weights(log_px, log_pz, log_q), axis=0)


_OPTIMIZERS: "weakref.WeakKeyDictionary[Any, dict]" = weakref.WeakKeyDictionary()


def optimized_elbo(
    vae,
    x,
    optimize_steps: int = 300,
    learning_rate: float = 0.02,
    optimize_samples: int = 16,
    num_elbo_samples: int = 200,
    batch_size: int | None = None,
    seed: int | None = None,
    return_amortized: bool = False,
):
    """The ELBO of a posterior of the model's family optimized for each example.

    Starts from the encoder's parameters for each example and runs
    ``optimize_steps`` Adam steps (cosine-decayed ``learning_rate``) on the ELBO
    estimated with ``optimize_samples`` samples, then estimates the optimized ELBO
    with ``num_elbo_samples`` samples (the same noise as the amortized ELBO, so
    their difference has little Monte Carlo error).

    Args:
        vae: a built VAE.
        x: data ``(N, *data_shape)``.
        optimize_steps: Adam steps per batch.
        learning_rate: initial Adam learning rate.
        optimize_samples: samples per ELBO gradient.
        num_elbo_samples: samples of the final ELBO estimates.
        batch_size: examples optimized together (independently; by default memory-bounded).
        seed: int for reproducible results.
        return_amortized: also return the amortized ELBO (same noise).

    Returns:
        float64 ``(N,)`` nats, or ``(optimized, amortized)``.

    Example:
        >>> best = kv.evaluation.optimized_elbo(vae, x_test[:100], seed=0)  # doctest: +SKIP
    """
    optimize_steps = _check_positive(optimize_steps, "optimize_steps", allow_none=False)
    optimize_samples = _check_positive(optimize_samples, "optimize_samples", allow_none=False)
    num_elbo_samples = _check_positive(num_elbo_samples, "num_elbo_samples", allow_none=False)
    batch_size = _check_positive(batch_size, "batch_size")
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float)) or not learning_rate > 0:
        raise ValueError(f"learning_rate must be a positive number, got {learning_rate!r}.")
    x = _as_array(vae, x)
    x = np.asarray(vae.to_model_units(x))  # the units the model computes in
    n = len(x)
    if batch_size is None:
        batch_size = _mcmc.default_batch_size(vae, max(optimize_samples, num_elbo_samples), n)
    batch_size = max(1, min(batch_size, n))
    cache = _OPTIMIZERS.setdefault(vae, {})
    key = (batch_size, optimize_steps, float(learning_rate), optimize_samples)
    if key not in cache:
        cache[key] = _Optimizer(vae, batch_size, optimize_steps, float(learning_rate), optimize_samples)
    optimizer = cache[key]
    model_ref = weakref.ref(vae)

    @tf.function(reduce_retracing=True)
    def elbo(batch, params, batch_seed):
        return elbo_of_params(model_ref(), batch, params, batch_seed, num_elbo_samples)

    base = _mcmc.base_seed(seed, _mcmc.GAPS_STREAM)
    optimized, amortized = [], []
    for index, start in enumerate(range(0, n, batch_size)):
        batch = tf.constant(x[start : start + batch_size], tf.float32)
        optimize_seed, elbo_seed = tf.unstack(tf.random.experimental.stateless_split(_mcmc.batch_seed(base, index), 2))
        best = optimizer.run(batch, optimize_seed)
        optimized.append(elbo(batch, best, elbo_seed).numpy().astype(np.float64))
        if return_amortized:
            amortized.append(elbo(batch, optimizer.head_params(batch), elbo_seed).numpy().astype(np.float64))
    optimized = np.concatenate(optimized)
    return (optimized, np.concatenate(amortized)) if return_amortized else optimized


def amortized_elbo(vae, x, num_elbo_samples: int = 200, batch_size: int | None = None, seed: int | None = None) -> np.ndarray:
    """The Monte Carlo ELBO of the encoder's q(z|x) per example (same noise as :func:`optimized_elbo`)."""
    num_elbo_samples = _check_positive(num_elbo_samples, "num_elbo_samples", allow_none=False)
    x = _as_array(vae, x)
    x = np.asarray(vae.to_model_units(x))  # the units the model computes in
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
    for index, start in enumerate(range(0, n, batch_size)):
        elbo_seed = tf.unstack(tf.random.experimental.stateless_split(_mcmc.batch_seed(base, index), 2))[1]
        out.append(elbo(tf.constant(x[start : start + batch_size], tf.float32), elbo_seed).numpy())
    return np.concatenate(out).astype(np.float64)


def inference_gaps(
    vae,
    x,
    log_px=None,
    ais: dict | None = None,
    optimize_steps: int = 300,
    learning_rate: float = 0.02,
    optimize_samples: int = 16,
    num_elbo_samples: int = 200,
    batch_size: int | None = None,
    seed: int | None = None,
    verbose: int = 0,
) -> InferenceGaps:
    """Approximation and amortization gaps per example (see the module docstring).

    Args:
        vae: a built VAE.
        x: data ``(N, *data_shape)`` (a few hundred examples are plenty for the means).
        log_px: precomputed log p(x) per example (e.g. a long AIS run); by default
            :func:`keras_vae.evaluation.ais_log_likelihood` with the ``ais`` settings.
        ais: keyword arguments of ``ais_log_likelihood`` (``num_steps``,
            ``num_chains``, ``anneal_from``, ...).
        optimize_steps, learning_rate, optimize_samples, num_elbo_samples,
            batch_size: as for :func:`optimized_elbo`.
        seed: int for reproducible results.
        verbose: 1 prints the summary.

    Returns:
        :class:`InferenceGaps`.

    Example:
        >>> gaps = kv.evaluation.inference_gaps(vae, x_test[:100], ais={"num_steps": 1000}, seed=0)  # doctest: +SKIP
        >>> gaps.table()["amortization_gap"]                                                  # doctest: +SKIP
    """
    x = _as_array(vae, x)
    optimize_samples = _check_positive(optimize_samples, "optimize_samples", allow_none=False)
    num_elbo_samples = _check_positive(num_elbo_samples, "num_elbo_samples", allow_none=False)
    # One batching for both ELBOs: batch b of each draws the same noise.
    batch_size = _check_positive(batch_size, "batch_size") or _mcmc.default_batch_size(
        vae, max(optimize_samples, num_elbo_samples), len(x)
    )
    ais = dict(ais or {})
    settings = {"optimize_steps": optimize_steps, "learning_rate": learning_rate,
                "optimize_samples": optimize_samples, "num_elbo_samples": num_elbo_samples}
    seconds = {}
    if log_px is None:
        if "seed" not in ais and seed is not None:
            ais["seed"] = seed
        t0 = time.perf_counter()
        log_px = ais_log_likelihood(vae, x, **ais)
        seconds["log_px"] = time.perf_counter() - t0
        steps, chains = ais.get("num_steps", 500), ais.get("num_chains", 16)
        settings["log_px"] = f"AIS T={steps} C={chains}"
    else:
        log_px = np.asarray(log_px, np.float64).reshape(-1)
        if log_px.shape != (len(x),):
            raise ValueError(f"log_px must have one value per example, shape ({len(x)},), got {log_px.shape}.")
        settings["log_px"] = "given"
    t0 = time.perf_counter()
    amortized = amortized_elbo(vae, x, num_elbo_samples, batch_size, seed)
    seconds["elbo_amortized"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    optimized = optimized_elbo(
        vae, x, optimize_steps, learning_rate, optimize_samples, num_elbo_samples, batch_size, seed
    )
    seconds["elbo_optimized"] = time.perf_counter() - t0
    gaps = InferenceGaps(log_px=log_px, elbo_amortized=amortized, elbo_optimized=optimized,
                         seconds=seconds, settings=settings)
    if verbose:
        print(gaps.summary(), flush=True)
    return gaps
