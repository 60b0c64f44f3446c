"""Bidirectional Monte Carlo (Grosse, Ghahramani & Adams, 2015; for VAEs Wu et al., 2017).

On data simulated from the model itself, ``z ~ p(z)``, ``x ~ p(x|z)``, the z that
generated x is an exact sample of the posterior p(z|x). That makes a reverse AIS
run possible: start at z, anneal from p(x, z) back to the start distribution, and
the weights estimate 1/p(x), so their ``-log mean`` is a stochastic *upper* bound
on log p(x). Forward AIS gives the usual stochastic *lower* bound; the true value
lies between them, and the width of the sandwich says how far any estimator (AIS
at these settings, or the importance-sampled estimate) can be trusted on data like
this.

Example:
    >>> import keras_vae as kv
    >>> vae = kv.VAE(encoder=kv.encoders.MLPEncoder([16]), decoder=kv.decoders.MLPDecoder([16]),
    ...              latent_dim=2, input_shape=(8,), seed=0)
    >>> result = kv.evaluation.bdmc(vae, num_examples=4, num_steps=20, num_chains=2, seed=0)
    >>> result.lower.shape, bool((result.gap() > -1).all())
    ((4,), True)
"""
from __future__ import annotations

import dataclasses
import time

import numpy as np
import tensorflow as tf

from keras_vae.evaluation import _mcmc
from keras_vae.evaluation._common import _check_positive
from keras_vae.evaluation.ais import traced_ais
from keras_vae.objectives._log_weights import importance_bound

__all__ = ["BDMCResult", "bdmc", "simulate"]


@dataclasses.dataclass
class BDMCResult:
    """The BDMC sandwich on simulated data: ``lower <= log p(x) <= upper`` (in expectation).

    Attributes:
        x: float32 ``(N, *data_shape)``, the simulated data.
        z: float32 ``(N, latent_dim)``, the latents that generated x (exact posterior samples).
        lower: float64 ``(N,)``, forward AIS estimate of log p(x), nats.
        upper: float64 ``(N,)``, reverse AIS estimate, nats.
        seconds: wall time of the forward and of the reverse runs.

    Example:
        >>> r = kv.evaluation.bdmc(vae, num_examples=100, num_steps=1000, seed=0)  # doctest: +SKIP
        >>> print(f"{r.lower.mean():.2f} <= log p(x) <= {r.upper.mean():.2f}")   # doctest: +SKIP
    """

    x: np.ndarray
    z: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    seconds: dict

    def gap(self) -> np.ndarray:
        """``upper - lower`` per example: the bound on either estimate's error."""
        return self.upper - self.lower

    def summary(self) -> str:
        """One line: the mean bounds and the mean gap, in nats per example."""
        return (
            f"BDMC on {len(self.lower)} simulated examples: {self.lower.mean():.3f} <= log p(x) <= "
            f"{self.upper.mean():.3f} nats/example (gap {self.gap().mean():.3f})"
        )


def simulate(vae, num_examples: int, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``z ~ p(z)`` and ``x ~ p(x|z)`` from the model: ``(x, z)`` as float32 arrays.

    Example:
        >>> x, z = kv.evaluation.simulate(vae, 10, seed=0)   # doctest: +SKIP
    """
    num_examples = _check_positive(num_examples, "num_examples", allow_none=False)
    if vae.data_shape is None:
        raise ValueError("The VAE is not built; give it input_shape= or data first.")
    z_seed, x_seed = tf.unstack(tf.random.experimental.stateless_split(_mcmc.base_seed(seed, _mcmc.BDMC_STREAM), 2))
    z = tf.cast(vae.prior().sample(num_examples, seed=z_seed), tf.float32)
    x = tf.cast(vae.likelihood(z, training=False).sample(seed=x_seed), tf.float32)
    return x.numpy(), z.numpy()


def bdmc(
    vae,
    num_examples: int = 100,
    num_steps: int = 500,
    num_chains: int = 16,
    anneal_from: str = "prior",
    num_leapfrog_steps: int = 10,
    step_size: float | None = None,
    target_accept_prob: float = 0.8,
    batch_size: int | None = None,
    seed: int | None = None,
    jit_compile: bool | str = "auto",
    verbose: int = 0,
) -> BDMCResult:
    """Forward and reverse AIS on data simulated from the model: log p(x) bracketed.

    Both directions use the same annealing path (``anneal_from``, ``num_steps``) and
    HMC settings as :func:`keras_vae.evaluation.ais_log_likelihood`; each runs
    ``num_chains`` chains per example. As ``num_steps`` grows the bounds meet.

    Args:
        vae: a built VAE.
        num_examples: examples to simulate.
        num_steps, num_chains, anneal_from, num_leapfrog_steps, step_size,
            target_accept_prob, jit_compile: as for ``ais_log_likelihood``.
        batch_size: examples per batch (by default memory-bounded).
        seed: int for reproducible data and estimates.
        verbose: 1 prints the summary line.

    Returns:
        :class:`BDMCResult`.

    Example:
        >>> result = kv.evaluation.bdmc(vae, num_examples=50, num_steps=2000, seed=0)  # doctest: +SKIP
        >>> print(result.summary())                                                   # doctest: +SKIP
    """
    settings, batch_size = _mcmc.check_ais_arguments(
        num_steps, num_chains, anneal_from, num_leapfrog_steps, step_size, target_accept_prob, batch_size
    )
    jit_compile = _mcmc.resolve_jit(vae, jit_compile, num_steps)
    x, z = simulate(vae, num_examples, seed)
    batch_size = _mcmc.ais_batch_size(vae, batch_size, num_chains, num_examples)
    base = _mcmc.base_seed(seed, _mcmc.BDMC_STREAM)
    forward = traced_ais(vae, settings, jit_compile)
    backward = traced_ais(vae, settings + (("reverse", True),), jit_compile)
    lower, upper, seconds = [], [], {"forward": 0.0, "reverse": 0.0}
    for index, start in enumerate(range(0, num_examples, batch_size)):
        xb = tf.constant(x[start : start + batch_size])
        zb = z[start : start + batch_size]
        seeds = tf.unstack(tf.random.experimental.stateless_split(_mcmc.batch_seed(base, index + 1), 2))
        t0 = time.perf_counter()
        out = forward(xb, seeds[0])
        lower.append(importance_bound(tf.cast(out["log_weights"], tf.float64)).numpy())
        t1 = time.perf_counter()
        exact = tf.constant(np.broadcast_to(zb[None], (num_chains, *zb.shape)))
        # The reverse run's pilot chains start where the forward chains ended:
        # near the posterior, and independent of the exact samples.
        out = backward(xb, seeds[1], exact, out["state"])
        upper.append(-importance_bound(tf.cast(out["log_weights"], tf.float64)).numpy())
        seconds["forward"] += t1 - t0
        seconds["reverse"] += time.perf_counter() - t1
    result = BDMCResult(x=x, z=z, lower=np.concatenate(lower), upper=np.concatenate(upper), seconds=seconds)
    if verbose:
        print(result.summary(), flush=True)
    return result
