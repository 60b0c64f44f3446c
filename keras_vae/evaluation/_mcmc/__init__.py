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

One concern per module, all re-exported here (the tools write ``_mcmc.NAME``):
``settings`` (seed streams, batch sizes, argument checks, ``jit_compile="auto"``),
``densities`` (:class:`Densities` and the batches they are built from),
``kernels`` (HMC transitions on TFP's kernels) and ``annealing`` (AIS's schedule
and step-size pilots).
"""
from keras_vae.evaluation._mcmc.annealing import (
    ADAPTATION_GAIN,
    MAX_LOG_STEP_DECREASE,
    MAX_LOG_STEP_INCREASE,
    SIGMOID_SHARPNESS,
    STEP_SIZE_JITTER,
    WARMUP_STEPS,
    StepSizeTrace,
    adapt_step_sizes,
    annealed_log_prob,
    annealing_schedule,
    smooth,
    smoothing_half_width,
)
from keras_vae.evaluation._mcmc.densities import INITIAL_STEP_FRACTION, Densities, batch_spec, pad_rows, to_tensor
from keras_vae.evaluation._mcmc.kernels import (
    JitteredStepSize,
    WrappingKernel,
    acceptance_probability,
    adaptive_hmc_kernel,
    hmc_transition,
)
from keras_vae.evaluation._mcmc.settings import (
    AIS_STREAM,
    ANNEAL_FROM,
    BDMC_STREAM,
    CHAIN_BUDGET,
    GAPS_STREAM,
    HMC_STREAM,
    PILOT_CHAINS,
    XLA_MIN_STEPS,
    ais_batch_size,
    base_seed,
    batch_seed,
    check_ais_arguments,
    check_anneal_from,
    check_probability,
    check_step_size,
    default_batch_size,
    resolve_jit,
)

__all__ = [
    "ADAPTATION_GAIN",
    "AIS_STREAM",
    "ANNEAL_FROM",
    "BDMC_STREAM",
    "CHAIN_BUDGET",
    "Densities",
    "GAPS_STREAM",
    "HMC_STREAM",
    "INITIAL_STEP_FRACTION",
    "JitteredStepSize",
    "MAX_LOG_STEP_DECREASE",
    "MAX_LOG_STEP_INCREASE",
    "PILOT_CHAINS",
    "SIGMOID_SHARPNESS",
    "STEP_SIZE_JITTER",
    "StepSizeTrace",
    "WARMUP_STEPS",
    "WrappingKernel",
    "XLA_MIN_STEPS",
    "acceptance_probability",
    "adapt_step_sizes",
    "adaptive_hmc_kernel",
    "ais_batch_size",
    "annealed_log_prob",
    "annealing_schedule",
    "base_seed",
    "batch_seed",
    "batch_spec",
    "check_ais_arguments",
    "check_anneal_from",
    "check_probability",
    "check_step_size",
    "default_batch_size",
    "hmc_transition",
    "pad_rows",
    "resolve_jit",
    "smooth",
    "smoothing_half_width",
    "to_tensor",
]
