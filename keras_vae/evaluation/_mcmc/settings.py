"""The MCMC tools' settings: seed streams, memory-bounded batch sizes, argument
checks and the ``jit_compile="auto"`` rule."""
from __future__ import annotations

import math
import random

import numpy as np
import tensorflow as tf

from keras_vae import _seeds, _xla
from keras_vae.evaluation._common import _INT32_MAX, _check_positive, check_jit_compile

# Seed streams of the MCMC tools (the model uses 0-4; log_likelihood 5,
# kl_per_dimension 6). Values never change: results for a seed depend on them.
AIS_STREAM = _seeds.AIS
BDMC_STREAM = _seeds.BDMC
HMC_STREAM = _seeds.HMC
GAPS_STREAM = _seeds.GAPS

# Memory budget, in float32 elements, of one batch's decoder output
# (chains * batch * data size): HMC evaluates the decoder on all chains at once.
CHAIN_BUDGET = 2**22
# AIS pilot chains per example (at most): they anneal before the weighted chains
# and set the step-size schedule (adapt_step_sizes); their weights are not used.
PILOT_CHAINS = 4

ANNEAL_FROM = ("prior", "q")


def base_seed(seed: int | None, stream: int) -> tf.Tensor:
    """The stateless seed pair ``[seed, stream]`` (a random seed when ``None``)."""
    if seed is None:
        seed = random.randint(0, _INT32_MAX - 1)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an int or None, got {seed!r}.")
    return tf.constant([int(seed) % _INT32_MAX, stream], tf.int32)


def batch_seed(base: tf.Tensor, index: int) -> tf.Tensor:
    return tf.random.experimental.stateless_fold_in(base, index)


def default_batch_size(vae, num_chains: int, n: int | None) -> int:
    """Examples per batch that keep ``chains * batch * data size`` under the budget."""
    batch = max(1, CHAIN_BUDGET // (num_chains * math.prod(vae.data_shape)))
    return min(batch, n) if n else batch


def check_probability(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not 0 < value < 1:
        raise ValueError(f"{name} must be a number in (0, 1), got {value!r}.")
    return float(value)


def check_anneal_from(anneal_from: str) -> str:
    if anneal_from not in ANNEAL_FROM:
        raise ValueError(
            f"anneal_from must be one of {ANNEAL_FROM} (anneal from p(z) or from q(z|x)), "
            f"got {anneal_from!r}."
        )
    return anneal_from


def check_step_size(step_size) -> float | None:
    if step_size is None:
        return None
    if isinstance(step_size, bool) or not isinstance(step_size, (int, float, np.floating)) or not step_size > 0:
        raise ValueError(f"step_size must be a positive number or None (from the prior's spread), got {step_size!r}.")
    return float(step_size)


def check_ais_arguments(
    num_steps, num_chains, anneal_from, num_leapfrog_steps, step_size, target_accept_prob, batch_size
) -> tuple[tuple, int | None]:
    """The arguments :func:`~keras_vae.evaluation.ais_log_likelihood` and
    :func:`~keras_vae.evaluation.bdmc` share, validated: the AIS settings as a
    hashable tuple of (name, value) (the key of ``ais.traced_ais``), and the batch
    size (``None`` stays ``None``: see :func:`ais_batch_size`)."""
    settings = (
        ("num_steps", _check_positive(num_steps, "num_steps", allow_none=False)),
        ("num_chains", _check_positive(num_chains, "num_chains", allow_none=False)),
        ("anneal_from", check_anneal_from(anneal_from)),
        ("num_leapfrog_steps", _check_positive(num_leapfrog_steps, "num_leapfrog_steps", allow_none=False)),
        ("step_size", check_step_size(step_size)),
        ("target_accept_prob", check_probability(target_accept_prob, "target_accept_prob")),
    )
    return settings, _check_positive(batch_size, "batch_size")


# From this many annealing steps, "auto" compiles AIS with XLA: the compilation
# is then repaid (measured with benchmarks/ais.py; see the benchmarks page).
XLA_MIN_STEPS = 100


def resolve_jit(vae, jit_compile, num_steps: int) -> bool:
    """``jit_compile`` for an AIS run: ``True`` / ``False`` as given; ``"auto"``: XLA
    for runs of at least ``XLA_MIN_STEPS`` steps on a model the training rule
    compiles (``keras_vae._xla.resolve``). XLA draws other random numbers from the
    same seed, so the estimate changes by its Monte Carlo error with this choice."""
    if check_jit_compile(jit_compile) == "auto":
        return _xla.auto_allowed() and num_steps >= XLA_MIN_STEPS and bool(_xla.resolve(vae, "auto"))
    return bool(jit_compile)


def ais_batch_size(vae, batch_size: int | None, num_chains: int, n: int | None) -> int:
    """``batch_size``, or by default one that bounds the memory of an AIS batch
    (``num_chains`` chains per example; the pilot chains run before them)."""
    if batch_size is None:
        return default_batch_size(vae, max(num_chains, PILOT_CHAINS), n)
    return batch_size
