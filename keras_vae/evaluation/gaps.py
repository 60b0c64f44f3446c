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
import warnings
import weakref
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from keras_vae.evaluation import _mcmc
from keras_vae.evaluation._common import _as_array, _check_positive
from keras_vae.evaluation.ais import ais_log_likelihood
from keras_vae.objectives._log_weights import log_weights

__all__ = ["InferenceGaps", "OptimizedELBO", "inference_gaps", "optimized_elbo"]


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
    #: per example: did the optimization of q* meet its stopping rule (None: unknown).
    converged: np.ndarray | None = None
    #: per example: the Adam steps q* took.
    steps: np.ndarray | None = None

    @property
    def num_unconverged(self) -> int:
        """Examples whose q* was still improving when the step limit was reached."""
        return 0 if self.converged is None else int(np.sum(~np.asarray(self.converged, bool)))

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
        if self.num_unconverged:
            lines.append(
                f"  WARNING: q* had not converged for {self.num_unconverged} of {n} examples after "
                f"{int(np.max(self.steps))} steps: the optimized ELBO is too low there and the "
                "approximation gap too large; raise optimize_steps (--optimize-steps)."
            )
        return "\n".join(lines)


# ------------------------------------------------------------- per-example q*
#: Steps between two checks of the stopping rule.
WINDOW = 100
#: Samples (fixed noise per batch) of the ELBO the stopping rule compares.
CHECK_SAMPLES = 64
#: Adam steps that move the prior-matched start from the amortized parameters.
PRIOR_MATCH_STEPS = 200


class _Optimizer:
    """One batch's per-example posterior parameters, their Adam optimizer and the
    traced functions: made once per (model, settings), reset for every batch.

    Adam's update is element-wise and the loss is a sum over examples, so every
    example is optimized on its own, as if alone."""

    def __init__(self, vae, batch_size: int, learning_rate: float, num_samples: int):
        self.model_ref = weakref.ref(vae)
        self.batch_size = batch_size
        params = self.head_params(tf.zeros((1, *vae.data_shape), tf.float32))
        self.params = keras.Variable(tf.zeros((batch_size, int(params.shape[-1]))), name="q_params")
        self.optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
        self.optimizer.build([self.params])
        self.num_samples = num_samples
        self.window = tf.function(self._window, reduce_retracing=True)
        self.check = tf.function(self._check, reduce_retracing=True)

    def head_params(self, x):
        return tf.cast(self.model_ref().posterior_parameters(x, training=False), tf.float32)

    def reset(self, params) -> None:
        self.params.assign(params)
        for variable in self.optimizer.variables:
            # The moments and the step count; a float learning rate is a variable too.
            if "learning_rate" not in variable.path:
                variable.assign(tf.zeros_like(variable))

    def _window(self, x, seed, first_step, num_steps, with_likelihood: bool):
        """``num_steps`` Adam steps on the ELBO (or, without the likelihood, on
        ``-KL(q || p(z))``, which moves q to the prior)."""
        for step in tf.range(num_steps):
            with tf.GradientTape() as tape:
                step_seed = tf.random.experimental.stateless_fold_in(seed, first_step + step)
                params = tf.convert_to_tensor(self.params)
                elbo = elbo_of_params(self.model_ref(), x, params, step_seed, self.num_samples,
                                      path_derivative=True, with_likelihood=with_likelihood)
                loss = -tf.reduce_sum(elbo)
            gradients = tape.gradient(loss, [self.params])
            self.optimizer.apply_gradients(zip(gradients, [self.params]))
        return tf.convert_to_tensor(self.params)

    def _check(self, x, params, seed):
        return elbo_of_params(self.model_ref(), x, params, seed, CHECK_SAMPLES)

    def run(self, x: tf.Tensor, seed, max_steps: int, tolerance: float):
        """Optimize each example's q from the better of two starts until its ELBO
        stops rising (see :func:`optimized_elbo`). Returns ``(params, converged,
        steps)`` for the rows of ``x``."""
        rows = int(x.shape[0])
        # Pad a short last batch by repeating rows: each row has its own parameters
        # and gradient, so the copies change nothing; they are dropped after.
        padded = tf.gather(x, tf.range(self.batch_size) % rows)
        prior_seed, check_seed, seed = tf.unstack(tf.random.experimental.stateless_split(seed, 3))
        amortized = self.head_params(padded)
        # The prior's start is reached from all-zero parameters (a moderate q for the
        # usual heads), not from the encoder's: a scale 100x off is 60 units away in
        # the head's softplus parameter, thousands of Adam steps.
        self.reset(tf.zeros_like(amortized))
        matched = self.window(padded, prior_seed, 0, PRIOR_MATCH_STEPS, False)
        starts = tf.stack([amortized, matched])  # [2, B, P]
        start_elbo = tf.stack([self.check(padded, amortized, check_seed), self.check(padded, matched, check_seed)])
        start_elbo = tf.where(tf.math.is_nan(start_elbo), -np.inf, start_elbo)
        pick = tf.cast(start_elbo[1] > start_elbo[0], tf.int32)
        best = tf.gather(tf.transpose(starts, [1, 0, 2]), pick, batch_dims=1)
        best_elbo = tf.reduce_max(start_elbo, axis=0).numpy().astype(np.float64)
        self.reset(best)
        converged = np.zeros(self.batch_size, bool)
        steps = np.zeros(self.batch_size, np.int64)
        done = 0
        while done < max_steps and not converged.all():
            num = min(WINDOW, max_steps - done)
            current = self.window(padded, seed, done, num, True)
            done += num
            steps[~converged] = done
            elbo = self.check(padded, current, check_seed).numpy().astype(np.float64)
            gain = np.where(np.isfinite(elbo), elbo - best_elbo, -np.inf)
            improved = gain > 0
            best = tf.where(improved[:, None], current, best)
            best_elbo = np.where(improved, elbo, best_elbo)
            # The relative rule: less than `tolerance` of |ELBO| (at least 1 nat's worth) gained in a window.
            converged |= gain <= tolerance * np.maximum(1.0, np.abs(best_elbo))
        return best[:rows], converged[:rows], steps[:rows]


def elbo_of_params(vae, x, params, seed, num_samples: int, path_derivative: bool = False,
                   with_likelihood: bool = True) -> tf.Tensor:
    """Monte Carlo ELBO per example of q = ``vae.posterior_layer.distribution(params)``.

    ``mean_m [log p(x|z_m) + log p(z_m) - log q(z_m)]`` over ``num_samples``
    reparameterized samples, ``(B,)``. With ``path_derivative`` the log q term sees
    the parameters through z only (Roeder et al., 2017), for optimization. Without
    the likelihood it is ``-KL(q || p(z))`` (estimated), whose maximum is the prior.
    """
    rows = tf.shape(x)[0]
    tiled = lambda t: tf.reshape(  # noqa: E731  [B, ...] -> [M * B, ...]
        tf.broadcast_to(t[tf.newaxis], tf.concat([[num_samples], tf.shape(t)], 0)),
        tf.concat([[num_samples * rows], tf.shape(t)[1:]], 0),
    )
    # A model whose q is not one head's distribution (HierarchicalVAE) rebuilds it itself.
    distribution = getattr(vae, "posterior_from_parameters", None) or vae.posterior_layer.distribution
    params = tiled(params)
    z = tf.cast(distribution(params).sample(seed=seed), tf.float32)
    q = distribution(tf.stop_gradient(params) if path_derivative else params)
    log_q = tf.reshape(tf.cast(q.log_prob(z), tf.float32), [num_samples, rows])
    # The M samples' likelihoods are scored against one copy of x.
    log_px, log_pz = vae.joint_log_prob(tf.cast(x, tf.float32), tf.reshape(z, [num_samples, rows, vae.latent_dim]))
    if not with_likelihood:
        log_px = tf.zeros_like(log_pz)
    return tf.reduce_mean(log_weights(log_px, log_pz, log_q), axis=0)


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
):
    """The ELBO of a posterior of the model's family optimized for each example.

    Each example's q starts from the better (by a fixed-noise ELBO) of two points:
    the encoder's parameters, and the member of the family closest to the prior
    (``PRIOR_MATCH_STEPS`` Adam steps on ``KL(q || p(z))`` from all-zero head
    parameters) — so an untrained or badly scaled encoder does not decide where the
    search starts. Adam (``learning_rate``, path-derivative gradient,
    ``optimize_samples`` samples per step) then runs in windows of ``WINDOW`` (100)
    steps; after each window the ELBO of the current parameters is estimated on a
    fixed set of ``CHECK_SAMPLES`` (64) draws, the best parameters so far are kept,
    and an example has *converged* when a window raised its ELBO by less than
    ``tolerance * max(1, |ELBO|)``. It stops when every example of the batch has
    converged or after ``optimize_steps`` steps; an example that had not converged by
    then is reported (``return_details``) and :func:`inference_gaps` warns. The
    optimized ELBO is finally estimated with ``num_elbo_samples`` fresh samples (the
    same noise as the amortized ELBO, so their difference has little Monte Carlo
    error).

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
    x = _as_array(vae, x)
    x = np.asarray(vae.to_model_units(x))  # the units the model computes in
    n = len(x)
    if batch_size is None:
        batch_size = _mcmc.default_batch_size(vae, max(optimize_samples, num_elbo_samples, CHECK_SAMPLES), n)
    batch_size = max(1, min(batch_size, n))
    cache = _OPTIMIZERS.setdefault(vae, {})
    key = (batch_size, float(learning_rate), optimize_samples)
    if key not in cache:
        cache[key] = _Optimizer(vae, batch_size, float(learning_rate), optimize_samples)
    optimizer = cache[key]
    model_ref = weakref.ref(vae)

    @tf.function(reduce_retracing=True)
    def elbo(batch, params, batch_seed):
        return elbo_of_params(model_ref(), batch, params, batch_seed, num_elbo_samples)

    base = _mcmc.base_seed(seed, _mcmc.GAPS_STREAM)
    optimized, amortized, converged, steps = [], [], [], []
    for index, start in enumerate(range(0, n, batch_size)):
        batch = tf.constant(x[start : start + batch_size], tf.float32)
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
    optimize_steps: int = 3000,
    learning_rate: float = 0.02,
    optimize_samples: int = 16,
    num_elbo_samples: int = 200,
    batch_size: int | None = None,
    seed: int | None = None,
    verbose: int = 0,
    tolerance: float = 1e-4,
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
            batch_size, tolerance: as for :func:`optimized_elbo` (the step limit
            and the stopping rule of each example's q*; examples that did not
            converge are counted in the result and warned about).
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
        log_px = np.asarray(ais_log_likelihood(vae, x, **ais), np.float64)
        seconds["log_px"] = time.perf_counter() - t0
        if not np.all(np.isfinite(log_px)):
            raise FloatingPointError(
                f"AIS gave a non-finite log p(x) for {int(np.sum(~np.isfinite(log_px)))} examples "
                "(the model's density is not finite there): the gaps cannot be computed."
            )
        steps, chains = ais.get("num_steps", 500), ais.get("num_chains", 16)
        settings["log_px"] = f"AIS T={steps} C={chains}"
    else:
        log_px = np.asarray(log_px, np.float64).reshape(-1)
        if log_px.shape != (len(x),):
            raise ValueError(f"log_px must have one value per example, shape ({len(x)},), got {log_px.shape}.")
        if not np.all(np.isfinite(log_px)):
            bad = np.flatnonzero(~np.isfinite(log_px))
            raise ValueError(
                f"log_px holds {len(bad)} non-finite values (first at example {int(bad[0])}: "
                f"{log_px[bad[0]]}); the gaps need a finite log p(x) for every example."
            )
        settings["log_px"] = "given"
    t0 = time.perf_counter()
    amortized = amortized_elbo(vae, x, num_elbo_samples, batch_size, seed)
    seconds["elbo_amortized"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    details = optimized_elbo(
        vae, x, optimize_steps, learning_rate, optimize_samples, num_elbo_samples, batch_size, seed,
        tolerance=tolerance, return_details=True,
    )
    seconds["elbo_optimized"] = time.perf_counter() - t0
    gaps = InferenceGaps(log_px=log_px, elbo_amortized=amortized, elbo_optimized=details.optimized,
                         seconds=seconds, settings=settings, converged=details.converged, steps=details.steps)
    if gaps.num_unconverged:
        warnings.warn(
            f"inference_gaps: q* had not converged for {gaps.num_unconverged} of {len(x)} examples "
            f"after {optimize_steps} steps; the approximation gap is overstated there. Raise "
            "optimize_steps.",
            RuntimeWarning,
            stacklevel=2,
        )
    if verbose:
        print(gaps.summary(), flush=True)
    return gaps
