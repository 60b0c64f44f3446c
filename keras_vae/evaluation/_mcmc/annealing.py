"""The AIS annealing path: the sigmoidal schedule of temperatures and the pilot
chains that tune a step size per temperature."""
from __future__ import annotations

from typing import NamedTuple

import tensorflow as tf

from keras_vae.evaluation._mcmc.kernels import acceptance_probability, hmc_transition

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

    (a proportional controller, so a start 100x off in either direction comes back
    within the pilot transitions; tests/test_ais_stress.py starts encoders 100x off).
    The schedule for temperature t is the
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
