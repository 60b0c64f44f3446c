"""HMC transitions built on TFP's kernels: one transition with a fresh cache, the
step-size-adapted kernel of ``posterior_samples``, and the base of the wrappers
that adjust what TFP's HMC is given."""
from __future__ import annotations

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

def hmc_transition(log_prob_fn, state, step_size, num_leapfrog_steps: int, seed, jitter: float = 0.0):
    """One TFP HMC transition of ``state`` under ``log_prob_fn`` with a fresh cache.

    The kernel's results are bootstrapped at ``state`` under ``log_prob_fn`` itself,
    so the target log-prob and gradient HMC reuses in its first half-step and in the
    Metropolis ratio are those of this distribution. (TFP's
    ``sample_annealed_importance_chain`` hands each step the results cached under the
    previous temperature, tfp#1429; a transition built on them leaves neither
    distribution invariant, and BDMC's upper bound fell below the exact log p(x) of
    the linear-Gaussian model; tests/test_mcmc.py::test_bdmc_brackets_the_exact_log_px
    checks the bracket.)

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

    The rate 0.1 moves the log step by about 0.1 per transition, so a start far
    off is corrected during the burn-in. (TFP's dual averaging
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


class JitteredStepSize(WrappingKernel):
    """An HMC kernel whose step size is multiplied, at each transition, by a factor
    drawn uniformly from ``[1 - amount, 1 + amount]`` (one per example).

    Sits between the step-size adaptation and TFP's ``HamiltonianMonteCarlo``: the
    adaptation sets and reads the unjittered step size (it is put back into the
    results after each transition) and the transitions are TFP's own. A step size
    drawn independently of the state keeps each transition reversible, so the
    posterior stays invariant. It has no results of its own, so TFP's
    ``unnest`` getters and ``TransformedTransitionKernel`` see the HMC results.
    """

    def __init__(self, inner_kernel, amount: float):
        super().__init__(inner_kernel, amount=amount)
        self._amount = amount

    def one_step(self, current_state, previous_kernel_results, seed=None):
        jitter_seed, seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
        accepted = previous_kernel_results.accepted_results
        step_size = accepted.step_size

        def jitter(step):
            return step * tf.random.stateless_uniform(
                tf.shape(step), jitter_seed, 1.0 - self._amount, 1.0 + self._amount, dtype=step.dtype
            )

        jittered = previous_kernel_results._replace(
            accepted_results=accepted._replace(step_size=tf.nest.map_structure(jitter, step_size))
        )
        state, results = self._inner_kernel.one_step(current_state, jittered, seed=seed)
        return state, results._replace(accepted_results=results.accepted_results._replace(step_size=step_size))
