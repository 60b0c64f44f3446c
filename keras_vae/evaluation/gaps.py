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

import numpy as np

from keras_vae.evaluation import _mcmc
from keras_vae.evaluation._common import _check_positive, checked_condition
from keras_vae.evaluation._q_star import CHECK_SAMPLES, PRIOR_MATCH_STEPS, WINDOW, elbo_of_params  # noqa: F401
from keras_vae.evaluation.ais import ais_log_likelihood
from keras_vae.evaluation.optimized_q import OptimizedELBO, amortized_elbo, optimized_elbo

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
    condition=None,
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
        condition: a conditioned model's conditions, one per example of x (the
            model refuses x without them, an unconditioned one refuses them). The
            gaps are then those of log p(x | c): AIS from p(z | c) to
            p(x, z | c), the encoder's q(z | x, c), and q* optimized for each
            (x, c) on ``E_q[log p(x | z, c) + log p(z | c) - log q(z)]``.

    Returns:
        :class:`InferenceGaps`.

    Example:
        >>> gaps = kv.evaluation.inference_gaps(vae, x_test[:100], ais={"num_steps": 1000}, seed=0)  # doctest: +SKIP
        >>> gaps.table()["amortization_gap"]                                                  # doctest: +SKIP
    """
    x, condition = checked_condition(vae, x, condition, "inference_gaps")
    optimize_samples = _check_positive(optimize_samples, "optimize_samples", allow_none=False)
    num_elbo_samples = _check_positive(num_elbo_samples, "num_elbo_samples", allow_none=False)
    # One batching for both ELBOs: batch b of each draws the same noise.
    batch_size = _check_positive(batch_size, "batch_size") or _mcmc.default_batch_size(
        vae, max(optimize_samples, num_elbo_samples), len(x)
    )
    settings = {"optimize_steps": optimize_steps, "learning_rate": learning_rate,
                "optimize_samples": optimize_samples, "num_elbo_samples": num_elbo_samples}
    seconds = {}
    if log_px is None:
        log_px, settings["log_px"], seconds["log_px"] = _ais_log_px(vae, x, ais, seed, condition)
    else:
        log_px, settings["log_px"] = _given_log_px(log_px, len(x)), "given"
    t0 = time.perf_counter()
    amortized = amortized_elbo(vae, x, num_elbo_samples, batch_size, seed, condition=condition)
    seconds["elbo_amortized"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    details = optimized_elbo(
        vae, x, optimize_steps, learning_rate, optimize_samples, num_elbo_samples, batch_size, seed,
        tolerance=tolerance, return_details=True, condition=condition,
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


def _ais_log_px(vae, x, ais: dict | None, seed: int | None, condition) -> tuple[np.ndarray, str, float]:
    """log p(x) (log p(x | c)) by AIS with the ``ais`` settings: ``(log_px, label, seconds)``."""
    ais = dict(ais or {})
    if condition is not None:
        ais["condition"] = condition
    if "seed" not in ais and seed is not None:
        ais["seed"] = seed
    t0 = time.perf_counter()
    log_px = np.asarray(ais_log_likelihood(vae, x, **ais), np.float64)
    seconds = time.perf_counter() - t0
    if not np.all(np.isfinite(log_px)):
        raise FloatingPointError(
            f"AIS gave a non-finite log p(x) for {int(np.sum(~np.isfinite(log_px)))} examples "
            "(the model's density is not finite there): the gaps cannot be computed."
        )
    steps, chains = ais.get("num_steps", 500), ais.get("num_chains", 16)
    return log_px, f"AIS T={steps} C={chains}", seconds


def _given_log_px(log_px, n: int) -> np.ndarray:
    """A precomputed log p(x): one finite value per example, float64 ``(n,)``."""
    log_px = np.asarray(log_px, np.float64).reshape(-1)
    if log_px.shape != (n,):
        raise ValueError(f"log_px must have one value per example, shape ({n},), got {log_px.shape}.")
    if not np.all(np.isfinite(log_px)):
        bad = np.flatnonzero(~np.isfinite(log_px))
        raise ValueError(
            f"log_px holds {len(bad)} non-finite values (first at example {int(bad[0])}: "
            f"{log_px[bad[0]]}); the gaps need a finite log p(x) for every example."
        )
    return log_px
