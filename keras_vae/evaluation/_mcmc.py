"""The pieces the MCMC tools share: densities over a [chains, batch, latent] state,
HMC transitions and their step sizes, seeds and batching.

Every density here is built from the model's public methods only: ``vae.prior()``,
``vae.posterior(x)`` and ``vae.joint_log_prob(x, z)``, and only their ``log_prob``
and ``sample``, so any prior, posterior (flows included) and likelihood works.

The chains of one example share a step size: the state has shape
``[chains, batch, latent]`` and the step size ``[batch, 1]``, and the acceptance
probability that tunes it is averaged over the chains of each example.

No step size is derived from q(z|x): a poor encoder (an untrained head, scales
100x off) is exactly when AIS and HMC are used, so the first step size comes from
the prior's spread (:meth:`Densities.initial_step_size`) and the adaptation
(:func:`adapt_step_sizes` for AIS, :func:`adaptive_hmc_kernel` for HMC) recovers from a start
two orders of magnitude off.
"""
from __future__ import annotations

import math
import random
from typing import NamedTuple

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

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
# Prior samples whose spread sets the first step size.
_SCALE_SAMPLES = 64
# The first step size, as a fraction of the prior's spread (the mean over latent
# dimensions of the standard deviation of prior samples).
INITIAL_STEP_FRACTION = 0.5
# The AIS pilots' controller: log s += ADAPTATION_GAIN * (acceptance - target) after
# each transition, after WARMUP_STEPS transitions under p_0, within these bounds
# (in log units) around the first step size.
ADAPTATION_GAIN = 1.0
WARMUP_STEPS = 10
MAX_LOG_STEP_DECREASE = 30.0
MAX_LOG_STEP_INCREASE = 10.0
# Each AIS transition's step size is the scheduled one times a uniform draw from
# [1 - jitter, 1 + jitter] per chain (Neal, 2011, sec. 5.4.2.2).
STEP_SIZE_JITTER = 0.5

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
# (~5 s for an MLP) is then repaid; XLA ran 1.7x to 2.9x faster at 100 steps of the
# 784-300-20 MLP (benchmarks/ais.py).
XLA_MIN_STEPS = 100


def resolve_jit(vae, jit_compile, num_steps: int) -> bool:
    """``jit_compile`` for an AIS run: ``True`` / ``False`` as given; ``"auto"``: XLA
    for runs of at least ``XLA_MIN_STEPS`` steps on a model the training rule
    compiles (``keras_vae._xla.resolve``). XLA draws other random numbers from the
    same seed, so the estimate changes by its Monte Carlo error with this choice."""
    if check_jit_compile(jit_compile) == "auto":
        return num_steps >= XLA_MIN_STEPS and bool(_xla.resolve(vae, "auto"))
    return bool(jit_compile)


def ais_batch_size(vae, batch_size: int | None, num_chains: int, n: int | None) -> int:
    """``batch_size``, or by default one that bounds the memory of an AIS batch
    (``num_chains`` chains per example; the pilot chains run before them)."""
    if batch_size is None:
        return default_batch_size(vae, max(num_chains, PILOT_CHAINS), n)
    return batch_size


class Densities:
    """log p(x, z), log p(z) and log q(z|x) of one batch, on states ``[C, B, L]``.

    q(z|x) is built once on the data tiled to ``C * B`` rows (chain-major), so it
    sees a flat batch; this works for posteriors whose ``log_prob`` does not
    broadcast over extra sample dimensions (e.g. a flow conditioned on x). The
    likelihood scores the C chains against one copy of the batch
    (``VAE.joint_log_prob``).
    """

    def __init__(self, vae, x, num_chains: int):
        self.vae = vae
        # A conditioned model's batch is {"x": x, "condition": c}: every density
        # below is then the one given c (p(z | c), q(z | x, c), p(x | z, c)).
        x, condition = (x["x"], x["condition"]) if isinstance(x, dict) else (x, None)
        self.x = tf.cast(x, tf.float32)
        self.condition = condition
        self.num_chains = num_chains
        self.batch = tf.shape(self.x)[0]
        self.latent_dim = vae.latent_dim
        self.data_shape = tuple(vae.data_shape)
        self.rows = num_chains * self.batch
        self.tiled_x = self._tiled(self.x)
        given = {} if condition is None else {"condition": condition}
        self._given = given
        self.prior = vae.prior(**given)
        # p(z | c) has one distribution per example (batch shape [B]).
        self._prior_per_example = condition is not None and getattr(vae.prior_layer, "takes_condition", False)
        self._q = None

    def _tiled(self, t):
        """``[B, ...]`` -> ``[C * B, ...]``, chain-major."""
        tiled = tf.broadcast_to(t[tf.newaxis], tf.concat([[self.num_chains], tf.shape(t)], 0))
        return tf.reshape(tiled, tf.concat([[self.rows], tf.shape(t)[1:]], 0))

    @property
    def q(self):
        """q(z|x) with batch shape ``[C * B]``."""
        if self._q is None:
            given = {} if self.condition is None else {"condition": self._tiled(self.condition)}
            self._q = self.vae.posterior(self.tiled_x, training=False, **given)
        return self._q

    def _flat(self, z):
        return tf.reshape(z, [self.rows, self.latent_dim])

    def _unflat(self, values):
        return tf.reshape(tf.cast(values, tf.float32), [self.num_chains, self.batch])

    def log_likelihood(self, z):
        """log p(x|z), ``[C, B]``: the C chains' parameters scored against one copy of
        the batch, summed over the data as one axis (``Likelihood.log_prob``)."""
        return self.vae.joint_log_prob(self.x, z, prior=self.prior, **self._given)[0]

    def log_prior(self, z):
        return self._unflat(self.prior.log_prob(z))

    def log_joint(self, z):
        """log p(x, z) = log p(x|z) + log p(z), ``[C, B]``: the unnormalized posterior."""
        return self.log_likelihood(z) + self.log_prior(z)

    def log_q(self, z):
        return self._unflat(self.q.log_prob(self._flat(z)))

    def sample_q(self, seed) -> tf.Tensor:
        """z ~ q(z|x), ``[C, B, L]``."""
        z = tf.cast(self.q.sample(seed=seed), tf.float32)
        return tf.reshape(z, [self.num_chains, self.batch, self.latent_dim])

    def sample_prior(self, seed) -> tf.Tensor:
        shape = [self.num_chains] if self._prior_per_example else [self.num_chains, self.batch]
        z = self.prior.sample(shape, seed=seed)
        return tf.cast(z, tf.float32)

    def initial_step_size(self, seed, step_size: float | None) -> tf.Tensor:
        """The first HMC step size per example, ``[B, 1]``: where adaptation starts.

        Given: that value for every example. ``None``: ``INITIAL_STEP_FRACTION``
        (0.5) times the prior's spread, the mean over latent dimensions of the
        standard deviation of ``_SCALE_SAMPLES`` (64) prior samples (only ``sample``
        is used: a VampPrior or a mixture has no closed-form stddev). q(z|x) is not
        read: its spread is wrong by orders of magnitude exactly when MCMC is
        needed, and the adaptation moves the step to each distribution's scale.
        """
        if step_size is not None:
            return tf.fill([self.batch, 1], tf.constant(step_size, tf.float32))
        z = tf.cast(self.prior.sample(_SCALE_SAMPLES, seed=seed), tf.float32)  # [S, (B,) L]
        spread = tf.reduce_mean(tf.math.reduce_std(z, axis=0))
        return tf.fill([self.batch, 1], INITIAL_STEP_FRACTION * tf.maximum(spread, 1e-4))


#: The sharpness of the sigmoidal annealing schedule (Grosse et al., 2015's BDMC code).
SIGMOID_SHARPNESS = 4.0


def annealing_schedule(num_steps: int) -> tf.Tensor:
    """``b_0 = 0 < b_1 < ... < b_T = 1``, float32 ``[T + 1]``: the sigmoidal schedule
    (Grosse, Ghahramani & Adams, 2015; used for decoder-based models by Wu et al.,
    2017)::

        b_t = (s(d (2t/T - 1)) - s(-d)) / (s(d) - s(-d)),   s the logistic, d = 4

    It spends more temperatures near both ends than the linear ``t / T``: near
    ``b = 0``, where the first bit of the likelihood already narrows the prior by
    orders of magnitude, and near ``b = 1``.

    Example:
        >>> b = annealing_schedule(4).numpy()
        >>> float(b[0]), float(b[-1]), bool((b[1:] > b[:-1]).all())
        (0.0, 1.0, True)
    """
    t = tf.range(num_steps + 1, dtype=tf.float64) / float(num_steps)
    d = SIGMOID_SHARPNESS
    low, high = tf.sigmoid(tf.constant(-d, tf.float64)), tf.sigmoid(tf.constant(d, tf.float64))
    betas = (tf.sigmoid(d * (2.0 * t - 1.0)) - low) / (high - low)
    betas = tf.concat([[0.0], betas[1:-1], [1.0]], 0)  # exact ends
    return tf.cast(betas, tf.float32)


class StepSizeTrace(NamedTuple):
    """What :func:`adapt_step_sizes` returns: ``log_step_sizes`` ``[T, B, 1]``, the
    smoothed log step size per annealing step and example; ``acceptance`` ``[T, B]``,
    the pilot chains' mean acceptance probability at each step; ``state`` the pilot
    chains' final state."""

    log_step_sizes: tf.Tensor
    acceptance: tf.Tensor
    state: tf.Tensor


def hmc_transition(log_prob_fn, state, step_size, num_leapfrog_steps: int, seed, jitter: float = 0.0):
    """One TFP HMC transition of ``state`` under ``log_prob_fn`` with a fresh cache.

    The kernel's results are bootstrapped at ``state`` under ``log_prob_fn`` itself,
    so the target log-prob and gradient HMC reuses in its first half-step and in the
    Metropolis ratio are those of this distribution. (TFP's
    ``sample_annealed_importance_chain`` hands each step the results cached under the
    previous temperature, tfp#1429; a transition built on them leaves neither
    distribution invariant, which put BDMC's upper bound 0.04 nats below the exact
    log p(x) of the linear-Gaussian model.)

    ``jitter``: the step size of each chain is multiplied by a uniform draw from
    ``[1 - jitter, 1 + jitter]`` (independent of the state, so the transition still
    leaves the distribution invariant).

    Returns ``(new_state, MetropolisHastingsKernelResults)``.
    """
    if jitter:
        jitter_seed, seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
        shape = tf.concat([tf.shape(state)[:-1], [1]], 0)
        step_size = step_size * tf.random.stateless_uniform(shape, jitter_seed, 1.0 - jitter, 1.0 + jitter)
    hmc = tfp.mcmc.HamiltonianMonteCarlo(
        target_log_prob_fn=log_prob_fn, step_size=step_size, num_leapfrog_steps=num_leapfrog_steps
    )
    return hmc.one_step(state, hmc.bootstrap_results(state), seed=seed)


def acceptance_probability(results) -> tf.Tensor:
    """``min(1, exp(log_accept_ratio))`` of HMC results, 0 where it is not finite."""
    ratio = tf.cast(results.log_accept_ratio, tf.float32)
    ratio = tf.where(tf.math.is_finite(ratio), ratio, tf.constant(-np.inf, tf.float32))
    return tf.exp(tf.minimum(ratio, 0.0))


def annealed_log_prob(proposal_fn, target_fn, beta):
    """``beta * target + (1 - beta) * proposal``: TFP's annealing distribution."""
    return lambda z: beta * target_fn(z) + (1.0 - beta) * proposal_fn(z)


def adapt_step_sizes(
    proposal_fn,
    target_fn,
    state: tf.Tensor,
    initial_step_size: tf.Tensor,
    num_steps: int,
    num_leapfrog_steps: int,
    target_accept_prob: float,
    seed,
) -> StepSizeTrace:
    """The AIS step-size schedule: pilot chains anneal first and tune it per temperature.

    The pilot chains (``state`` ``[P, B, L]``) run ``WARMUP_STEPS`` HMC transitions
    under ``proposal_fn`` (p_0), then one transition at each of the ``num_steps``
    annealing distributions ``b_t target + (1 - b_t) proposal``, ``b_t`` from
    :func:`annealing_schedule`, the path of the weighted chains. After every transition the
    log step size of each example moves toward the target acceptance::

        log s <- log s + ADAPTATION_GAIN * (mean acceptance over the pilots - target)

    (a proportional controller: from a step 100x too large, ~7 transitions back to
    the right scale; 100x too small, ~13). The schedule for temperature t is the
    mean of the controller's log step over the temperatures within
    ``smoothing_half_width(T)`` of t, which averages away the pilots' noise.

    Args:
        proposal_fn, target_fn: log densities of p_0 and of the end of the path, on
            ``[P, B, L]`` states, returning ``[P, B]``.
        state: the pilots' start, ``[P, B, L]`` (samples of ``proposal_fn``).
        initial_step_size: ``[B, 1]`` float32, the controller's start.
        num_steps: T.
        num_leapfrog_steps: leapfrog steps per transition.
        target_accept_prob: the acceptance probability the controller aims at.
        seed: stateless seed ``[2]``.

    Returns:
        :class:`StepSizeTrace`.
    """
    betas = annealing_schedule(num_steps)
    log_start = tf.math.log(tf.cast(initial_step_size, tf.float32))
    low, high = log_start - MAX_LOG_STEP_DECREASE, log_start + MAX_LOG_STEP_INCREASE
    steps = tf.TensorArray(tf.float32, size=num_steps, element_shape=log_start.shape)
    accepts = tf.TensorArray(tf.float32, size=num_steps)

    # One loop (one HMC graph to trace and compile): transitions 0..WARMUP_STEPS-1
    # at b = 0, then transition WARMUP_STEPS + t at b_{t+1} = (t + 1) / T.
    def body(i, z, log_step, steps, accepts):
        t = i - WARMUP_STEPS
        beta = betas[tf.maximum(t + 1, 0)]
        log_prob_fn = annealed_log_prob(proposal_fn, target_fn, beta)
        step_seed = tf.random.experimental.stateless_fold_in(seed, i)
        z, results = hmc_transition(log_prob_fn, z, tf.exp(log_step), num_leapfrog_steps, step_seed, STEP_SIZE_JITTER)
        accept = tf.reduce_mean(acceptance_probability(results), axis=0)  # [B]
        log_step = log_step + ADAPTATION_GAIN * (accept[:, tf.newaxis] - target_accept_prob)
        log_step = tf.clip_by_value(log_step, low, high)
        index = tf.maximum(t, 0)  # warm-up writes to entry 0, which step 0 then overwrites
        return i + 1, z, log_step, steps.write(index, log_step), accepts.write(index, accept)

    _, state, _, steps, accepts = tf.while_loop(
        lambda i, *_: i < WARMUP_STEPS + num_steps,
        body,
        (tf.constant(0), tf.cast(state, tf.float32), log_start, steps, accepts),
    )
    return StepSizeTrace(smooth(steps.stack(), smoothing_half_width(num_steps)), accepts.stack(), state)


def smoothing_half_width(num_steps: int) -> int:
    """Temperatures on either side whose controller values are averaged: T // 50, at most 10."""
    return min(num_steps // 50, 10)


def smooth(values: tf.Tensor, half_width: int) -> tf.Tensor:
    """The centred moving average of ``values`` along axis 0 (``[T, ...]``) over
    ``2 * half_width + 1`` entries, truncated at the ends."""
    if half_width <= 0:
        return values
    count = tf.shape(values)[0]
    sums = tf.concat([tf.zeros_like(values[:1]), tf.cumsum(values, axis=0)], axis=0)
    index = tf.range(count)
    low = tf.maximum(index - half_width, 0)
    high = tf.minimum(index + half_width + 1, count)
    width = tf.cast(high - low, values.dtype)
    width = tf.reshape(width, tf.concat([[count], tf.ones([tf.rank(values) - 1], tf.int32)], 0))
    return (tf.gather(sums, high) - tf.gather(sums, low)) / width


def adaptive_hmc_kernel(
    target_log_prob_fn,
    step_size: tf.Tensor,
    num_leapfrog_steps: int,
    num_adaptation_steps: int,
    target_accept_prob: float,
    adaptation_rate: float = 0.1,
    wrap=None,
):
    """TFP's HMC with the step size (one per example) tuned by
    ``tfp.mcmc.SimpleStepSizeAdaptation`` during the first ``num_adaptation_steps``.

    The rate 0.1 moves the log step by about 0.1 per transition, so a start 100x
    off is corrected within ~50 of the burn-in's transitions. (TFP's dual averaging
    was tried: with a ``[B, 1]`` step size inside ``sample_chain`` its step loses its
    static shape and the loop does not trace.) The acceptance probability is
    averaged over the chains of each example (the step size has shape ``[B, 1]``,
    the state ``[C, B, L]``). ``wrap``: a function of the HMC kernel giving the
    kernel that is adapted (``posterior_samples``: the step-size jitter and the
    preconditioning).
    """
    hmc = tfp.mcmc.HamiltonianMonteCarlo(
        target_log_prob_fn=target_log_prob_fn, step_size=step_size, num_leapfrog_steps=num_leapfrog_steps
    )
    return tfp.mcmc.SimpleStepSizeAdaptation(
        hmc if wrap is None else wrap(hmc),
        num_adaptation_steps=num_adaptation_steps,
        target_accept_prob=target_accept_prob,
        adaptation_rate=adaptation_rate,
    )


class WrappingKernel(tfp.mcmc.TransitionKernel):
    """A transition kernel that adjusts what its inner (TFP) kernel is given and
    otherwise is that kernel: its results, calibration and bootstrap are the
    inner kernel's, so TFP's ``unnest`` getters see through it. Subclasses
    implement ``one_step``."""

    def __init__(self, inner_kernel, **parameters):
        self._inner_kernel = inner_kernel
        self._parameters = {"inner_kernel": inner_kernel, **parameters}

    @property
    def parameters(self):
        return self._parameters

    @property
    def inner_kernel(self):
        return self._inner_kernel

    @property
    def is_calibrated(self) -> bool:
        return self._inner_kernel.is_calibrated

    def bootstrap_results(self, init_state):
        return self._inner_kernel.bootstrap_results(init_state)


def to_tensor(vae, batch):
    """A batch in the units the model computes in (standardized where it standardizes),
    float32; a conditioned batch: its x so, the condition as the model takes it."""
    if isinstance(batch, dict):
        return {"x": to_tensor(vae, batch["x"]), "condition": vae.prepare_condition(batch["condition"])}
    return vae.to_model_units(tf.cast(tf.convert_to_tensor(batch), tf.float32))


def pad_rows(batch: tf.Tensor, size: int) -> tf.Tensor:
    """A short batch padded to ``size`` rows by repeating its rows.

    Under XLA a function is compiled once per input shape: padding the last batch
    saves a second compilation. Each example's chains (and step size) are its own,
    so the copies do not change the other rows' computation; their results are
    dropped. (The random draws for a padded batch differ from an unpadded one, so a
    result depends on ``batch_size`` either way.)
    """
    if isinstance(batch, dict):
        return {key: pad_rows(value, size) for key, value in batch.items()}
    rows = int(batch.shape[0])
    return batch if rows >= size else tf.gather(batch, tf.range(size) % rows)
