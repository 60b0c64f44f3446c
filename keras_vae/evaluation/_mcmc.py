"""The pieces the MCMC tools share: densities over a [chains, batch, latent] state,
the HMC kernel with step-size adaptation, seeds and batching.

Every density here is built from the model's public methods only: ``vae.prior()``,
``vae.posterior(x)`` and ``vae.likelihood(z)``, and only their ``log_prob`` and
``sample``, so any prior, posterior (flows included) and likelihood works.

The chains of one example share a step size: the state has shape
``[chains, batch, latent]`` and the step size ``[batch, 1]``, so TFP's
``SimpleStepSizeAdaptation`` averages the acceptance probability over the chains of
each example (it reduces over the state dimensions the step size does not have) and
adapts one step size per example.
"""
from __future__ import annotations

import math
import random

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
from tensorflow_probability.python.mcmc import simple_step_size_adaptation

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
# Extra AIS chains per example whose acceptance adapts the step size (at most).
PILOT_CHAINS = 4
# q(z|x) samples per example that set the initial HMC step size.
_SCALE_SAMPLES = 16

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
        raise ValueError(f"step_size must be a positive number or None (estimated from q), got {step_size!r}.")
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
    (``num_chains`` chains and the pilot chains per example)."""
    if batch_size is None:
        return default_batch_size(vae, num_chains + PILOT_CHAINS, n)
    return batch_size


class Densities:
    """log p(x, z), log p(z) and log q(z|x) of one batch, on states ``[C, B, L]``.

    q(z|x) is built once on the data tiled to ``C * B`` rows (chain-major), so it
    sees a flat batch; this works for posteriors whose ``log_prob`` does not
    broadcast over extra sample dimensions (e.g. a flow conditioned on x). The
    likelihood scores the C chains against one copy of the batch
    (``VAE.joint_log_prob``).
    """

    def __init__(self, vae, x: tf.Tensor, num_chains: int):
        self.vae = vae
        self.x = tf.cast(x, tf.float32)
        self.num_chains = num_chains
        self.batch = tf.shape(self.x)[0]
        self.latent_dim = vae.latent_dim
        self.data_shape = tuple(vae.data_shape)
        self.rows = num_chains * self.batch
        tiled = tf.broadcast_to(self.x[tf.newaxis], tf.concat([[num_chains], tf.shape(self.x)], 0))
        self.tiled_x = tf.reshape(tiled, [self.rows, *self.data_shape])
        self.prior = vae.prior()
        self._q = None

    @property
    def q(self):
        """q(z|x) with batch shape ``[C * B]``."""
        if self._q is None:
            self._q = self.vae.posterior(self.tiled_x, training=False)
        return self._q

    def _flat(self, z):
        return tf.reshape(z, [self.rows, self.latent_dim])

    def _unflat(self, values):
        return tf.reshape(tf.cast(values, tf.float32), [self.num_chains, self.batch])

    def log_likelihood(self, z):
        """log p(x|z), ``[C, B]``: the C chains' parameters scored against one copy of
        the batch, summed over the data as one axis (``Likelihood.log_prob``)."""
        return self.vae.joint_log_prob(self.x, z, prior=self.prior)[0]

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
        z = self.prior.sample([self.num_chains, self.batch], seed=seed)
        return tf.cast(z, tf.float32)

    def step_size(self, seed, step_size: float | None) -> tf.Tensor:
        """The initial HMC step size per example, ``[B, 1]``.

        Given: that value for every example. ``None``: half the spread of q(z|x),
        the mean over latent dimensions of the standard deviation of
        ``_SCALE_SAMPLES`` samples (only ``sample`` is used: a flow has no stddev).
        Adaptation then tunes it to the target acceptance rate. AIS uses this step;
        ``posterior_samples`` by default preconditions with q's per-dimension spreads
        instead and jitters the step (see hmc.py: preconditioning alone did not mix
        an MNIST model's chains, with jitter it did).
        """
        if step_size is not None:
            return tf.fill([self.batch, 1], tf.constant(step_size, tf.float32))
        q = self.vae.posterior(self.x, training=False)
        z = tf.cast(q.sample(_SCALE_SAMPLES, seed=seed), tf.float32)  # [S, B, L]
        spread = tf.reduce_mean(tf.math.reduce_std(z, axis=0), axis=-1, keepdims=True)
        return 0.5 * tf.maximum(spread, 1e-4)


def hmc_kernel(
    target_log_prob_fn,
    step_size: tf.Tensor,
    num_leapfrog_steps: int,
    num_adaptation_steps: int,
    target_accept_prob: float,
    adaptation_rate: float = 0.05,
    pilot_chains: int | None = None,
    wrap=None,
):
    """TFP's HMC wrapped in ``SimpleStepSizeAdaptation`` (one step size per example).

    ``pilot_chains=P``: only the first P chains' acceptance drives the adaptation,
    for AIS: the other chains then move under a step-size sequence that does not
    depend on them, so their weights stay unbiased (the pilots' are dropped).
    ``wrap``: a function of the HMC kernel giving the kernel that is adapted (for
    ``posterior_samples``: the step-size jitter and the preconditioning).
    """
    getter = simple_step_size_adaptation.hmc_like_log_accept_prob_getter_fn
    if pilot_chains is not None:
        def getter(results, _all=getter):  # noqa: F811
            return _all(results)[:pilot_chains]

    hmc = tfp.mcmc.HamiltonianMonteCarlo(
        target_log_prob_fn=target_log_prob_fn,
        step_size=step_size,
        num_leapfrog_steps=num_leapfrog_steps,
    )
    return tfp.mcmc.SimpleStepSizeAdaptation(
        hmc if wrap is None else wrap(hmc),
        num_adaptation_steps=num_adaptation_steps,
        target_accept_prob=target_accept_prob,
        adaptation_rate=adaptation_rate,
        log_accept_prob_getter_fn=getter,
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


class FreshTarget(WrappingKernel):
    """Recompute the HMC kernel's cached target log-prob (and gradient) before each step.

    ``tfp.mcmc.sample_annealed_importance_chain`` makes a kernel for the next
    annealing distribution f_t but hands it the previous step's results, whose cached
    ``target_log_prob`` and gradient were computed under f_{t-1}. HMC reuses them in
    its first leapfrog half-step and in the Metropolis ratio, so each transition
    leaves neither distribution invariant (TFP issue #1429: AIS estimates off).
    This wrapper refreshes the cache under f_t; the transitions stay TFP's own.
    """

    def __init__(self, inner_kernel, target_log_prob_fn):
        super().__init__(inner_kernel, target_log_prob_fn=target_log_prob_fn)
        self._target_log_prob_fn = target_log_prob_fn

    def one_step(self, current_state, previous_kernel_results, seed=None):
        log_prob, gradient = tfp.math.value_and_gradient(self._target_log_prob_fn, current_state)
        adaptation = previous_kernel_results  # SimpleStepSizeAdaptationResults
        metropolis = adaptation.inner_results  # MetropolisHastingsKernelResults
        accepted = metropolis.accepted_results  # UncalibratedHamiltonianMonteCarloKernelResults
        grads = [gradient] if isinstance(accepted.grads_target_log_prob, (list, tuple)) else gradient
        accepted = accepted._replace(target_log_prob=log_prob, grads_target_log_prob=grads)
        refreshed = adaptation._replace(inner_results=metropolis._replace(accepted_results=accepted))
        return self._inner_kernel.one_step(current_state, refreshed, seed=seed)


def to_tensor(vae, batch) -> tf.Tensor:
    """A batch in the units the model computes in (standardized where it standardizes)."""
    return vae.to_model_units(tf.cast(tf.convert_to_tensor(batch), tf.float32))


def pad_rows(batch: tf.Tensor, size: int) -> tf.Tensor:
    """A short batch padded to ``size`` rows by repeating its rows.

    Under XLA a function is compiled once per input shape: padding the last batch
    saves a second compilation. Each example's chains (and step size) are its own,
    so the copies do not change the other rows' computation; their results are
    dropped. (The random draws for a padded batch differ from an unpadded one, so a
    result depends on ``batch_size`` either way.)
    """
    rows = int(batch.shape[0])
    return batch if rows >= size else tf.gather(batch, tf.range(size) % rows)
