"""Annealed importance sampling (AIS) estimates of log p(x) (Neal, 2001; for
decoder-based models Wu et al., 2017).

AIS moves chains through distributions that go from a normalized start p_0(z) — the
prior p(z) or the amortized posterior q(z|x) — to the unnormalized posterior
p(x, z) = p(x|z) p(z)::

    f_t(z) = p_0(z)^(1 - b_t) p(x, z)^(b_t),     t = 1..T, b_t sigmoidal from 0 to 1

with one HMC transition (TFP's ``HamiltonianMonteCarlo``, with a step size per
temperature tuned to an acceptance rate by pilot chains) leaving each f_t invariant, and
accumulates the log-weight ``sum_t (b_t - b_{t-1}) (log p(x, z_{t-1}) - log p_0(z_{t-1}))``
(the loop of ``tfp.mcmc.sample_annealed_importance_chain``, with the sigmoidal schedule
of Grosse et al. 2015 in place of its linear one). Each chain's weight is an unbiased
estimate of p(x); the log of their mean over chains is a stochastic lower bound on
log p(x) that tightens with more steps. Unlike the importance-sampled estimate
(:func:`keras_vae.evaluation.log_likelihood`) it does not rely on q(z|x) being good:
annealed from the prior, it does not use q at all: the step sizes are tuned per
temperature by pilot chains, starting from the prior's spread (see
:func:`annealed_importance_log_weights`), so a poor encoder changes nothing.

Example:
    >>> import numpy as np, keras_vae as kv
    >>> vae = kv.VAE(encoder=kv.encoders.MLPEncoder([16]), decoder=kv.decoders.MLPDecoder([16]),
    ...              latent_dim=2, input_shape=(8,), seed=0)
    >>> x = np.random.default_rng(0).integers(0, 2, (5, 8)).astype("float32")
    >>> kv.evaluation.ais_log_likelihood(vae, x, num_steps=20, num_chains=4, seed=0).shape
    (5,)
"""
from __future__ import annotations

import math
import time

import numpy as np
import tensorflow as tf

from keras_vae.evaluation import _mcmc
from keras_vae.evaluation._common import _batches, _check_positive, _num_examples, checked_condition, traced
from keras_vae.evaluation.log_likelihood import bits_per_dim
from keras_vae.objectives._log_weights import importance_bound

__all__ = ["ais_log_likelihood", "annealed_importance_log_weights"]


def annealed_importance_log_weights(
    vae,
    x,
    seed,
    num_steps: int = 500,
    num_chains: int = 16,
    anneal_from: str = "prior",
    num_leapfrog_steps: int = 10,
    step_size: float | None = None,
    target_accept_prob: float = 0.8,
    initial_state=None,
    reverse: bool = False,
    pilot_state=None,
) -> dict[str, tf.Tensor]:
    """AIS log-weights of one batch, as tensors: the building block, usable in ``tf.function``.

    Forward (``reverse=False``): chains start from p_0 (the prior, or q(z|x)) and
    end near p(z|x); ``logmeanexp`` of the weights over chains is a stochastic lower
    bound on log p(x). Reverse (Grosse et al., 2015): chains start from an exact
    posterior sample ``initial_state`` (known for data simulated from the model) and
    anneal back to p_0; the weights estimate ``1 / p(x)``, so ``-logmeanexp`` is a
    stochastic upper bound on log p(x).

    Args:
        vae: a built VAE.
        x: a float tensor ``(B, *data_shape)`` (not checked here; the numpy-level
            functions check it).
        seed: a stateless seed, int32 tensor of shape ``[2]``.
        num_steps: annealing steps T (one HMC transition each).
        num_chains: C, independent chains per example.
        anneal_from: ``"prior"`` (p_0 = p(z)) or ``"q"`` (p_0 = q(z|x)).
        num_leapfrog_steps: leapfrog steps per HMC transition.
        step_size: where the step-size adaptation starts; ``None``: half the
            prior's spread (never q's; see below).
        target_accept_prob: acceptance probability the step sizes are adapted to.
        initial_state: ``(C, B, latent_dim)`` start of the chains; by default drawn
            from p_0 (forward). Required for ``reverse=True``.
        reverse: anneal from p(x, z) back to p_0.
        pilot_state: ``(P, B, latent_dim)`` start of the pilot chains (see below);
            by default drawn from p_0 (also for a reverse run, whose pilots then
            first move under p(x, z) in their warm-up). For a reverse run, give approximate posterior
            samples drawn independently of ``initial_state`` (BDMC gives the final
            states of its forward run).

    Step sizes: before the weighted chains, ``P = min(4, C)`` pilot chains per
    example anneal along the same path (from their own p_0 samples, or from
    ``pilot_state``) and tune one step size per temperature and example toward
    ``target_accept_prob`` (:func:`keras_vae.evaluation._mcmc.adapt_step_sizes`:
    10 warm-up transitions under the path's first distribution, then a proportional controller on the log
    step after each transition, smoothed over nearby temperatures). The controller
    starts from ``step_size``, by default half the prior's spread; q(z|x) is never
    read for it, so with ``anneal_from="prior"`` the estimate does not depend on the
    encoder at all (for a fixed seed it is the same number whatever q is), and with
    ``anneal_from="q"`` q is only the start distribution. The weighted chains then
    run with that fixed schedule (``_anneal``, one ``_mcmc.hmc_transition`` per step):
    the sequence of kernels does not depend on them, so each transition leaves its
    annealing distribution invariant and the weights stay unbiased (AIS's
    requirement; a step adapted from a chain's own acceptance breaks it). Each
    transition recomputes HMC's cached target log-prob and gradient under the current
    annealing distribution (TFP reuses the previous one, tfp#1429: without the
    recomputation BDMC's upper bound fell below the exact log p(x) of the
    linear-Gaussian model; tests/test_mcmc.py::test_bdmc_brackets_the_exact_log_px
    checks that it stays above).

    Returns:
        dict of tensors: ``log_weights`` ``(C, B)`` (forward: log p(x) estimates;
        reverse: log 1/p(x) estimates), ``state`` ``(C, B, latent_dim)`` (the final
        chain states), ``step_size`` ``(B,)`` (the step size of the last
        temperature), ``step_sizes`` ``(T, B)`` (the whole schedule) and
        ``pilot_acceptance`` ``(T, B)`` (the pilots' mean acceptance probability
        per temperature, a check that the schedule reached the target).

    Example:
        >>> import keras_vae as kv, tensorflow as tf  # doctest: +SKIP
        >>> @tf.function
        ... def score(x):
        ...     out = kv.evaluation.annealed_importance_log_weights(vae, x, tf.constant([0, 1]))
        ...     return tf.reduce_logsumexp(out["log_weights"], 0) - tf.math.log(16.0)
    """
    anneal_from = _mcmc.check_anneal_from(anneal_from)
    num_steps = _check_positive(num_steps, "num_steps", allow_none=False)
    num_chains = _check_positive(num_chains, "num_chains", allow_none=False)
    num_leapfrog_steps = _check_positive(num_leapfrog_steps, "num_leapfrog_steps", allow_none=False)
    step_size = _mcmc.check_step_size(step_size)
    target_accept_prob = _mcmc.check_probability(target_accept_prob, "target_accept_prob")
    if reverse and initial_state is None:
        raise ValueError(
            "reverse=True needs initial_state: exact posterior samples (C, B, latent_dim), "
            "e.g. the z that simulated x (see keras_vae.evaluation.bdmc)."
        )
    seed = tf.convert_to_tensor(seed, tf.int32)
    init_seed, pilot_init_seed, step_seed, pilot_seed, ais_seed = tf.unstack(
        tf.random.experimental.stateless_split(seed, 5)
    )
    pilot = min(_mcmc.PILOT_CHAINS, num_chains)
    densities = _mcmc.Densities(vae, x, num_chains)
    pilots = _mcmc.Densities(vae, x, pilot)

    def ends(d):  # (p_0's log density, p_0's sampler, the path's start fn, its end fn)
        start_log_prob = d.log_prior if anneal_from == "prior" else d.log_q
        sample = d.sample_prior if anneal_from == "prior" else d.sample_q
        return sample, (d.log_joint, start_log_prob) if reverse else (start_log_prob, d.log_joint)

    sample, (proposal_fn, target_fn) = ends(densities)
    pilot_sample, (pilot_proposal_fn, pilot_target_fn) = ends(pilots)
    if initial_state is None:
        initial_state = sample(init_seed)
    initial_state = tf.reshape(tf.cast(initial_state, tf.float32), [num_chains, densities.batch, vae.latent_dim])
    if pilot_state is None:
        pilot_state = pilot_sample(pilot_init_seed)
    pilot_state = tf.reshape(tf.cast(pilot_state, tf.float32)[:pilot], [pilot, densities.batch, vae.latent_dim])
    schedule = _mcmc.adapt_step_sizes(
        pilot_proposal_fn,
        pilot_target_fn,
        pilot_state,
        densities.initial_step_size(step_seed, step_size),
        num_steps,
        num_leapfrog_steps,
        target_accept_prob,
        pilot_seed,
    )
    step_sizes = tf.exp(schedule.log_step_sizes)  # [T, B, 1]

    state, log_weights = _anneal(proposal_fn, target_fn, initial_state, step_sizes, num_leapfrog_steps, ais_seed)
    return {
        "log_weights": log_weights,
        "state": state,
        "step_size": step_sizes[-1, :, 0],
        "step_sizes": step_sizes[:, :, 0],
        "pilot_acceptance": schedule.acceptance,
    }


def _anneal(proposal_fn, target_fn, state, step_sizes, num_leapfrog_steps: int, seed):
    """The weighted chains: ``log w += (b_t - b_{t-1}) (log target - log proposal)(z_{t-1})``,
    then one HMC transition leaving ``f_t`` invariant, for t = 1..T (``b_t`` the
    sigmoidal :func:`~keras_vae.evaluation._mcmc.annealing_schedule`; TFP's
    ``sample_annealed_importance_chain`` has only the linear one). Returns
    ``(final state, log_weights [C, B])``."""
    num_steps = int(step_sizes.shape[0])
    betas = _mcmc.annealing_schedule(num_steps)
    log_weights = tf.zeros(tf.shape(state)[:-1], tf.float32)

    def body(t, z, log_w):
        beta = betas[t + 1]
        log_w = log_w + (beta - betas[t]) * (target_fn(z) - proposal_fn(z))
        log_prob_fn = _mcmc.annealed_log_prob(proposal_fn, target_fn, beta)
        step_seed = tf.random.experimental.stateless_fold_in(seed, t)
        z, _ = _mcmc.hmc_transition(log_prob_fn, z, step_sizes[t], num_leapfrog_steps, step_seed,
                                    _mcmc.STEP_SIZE_JITTER)
        return t + 1, z, log_w

    _, state, log_weights = tf.while_loop(
        lambda t, *_: t < num_steps, body, (tf.constant(0), tf.cast(state, tf.float32), log_weights)
    )
    return state, log_weights


def traced_ais(vae, settings: tuple, jit_compile: bool):
    """A cached ``tf.function`` for one set of AIS settings: ``(x, seed)``, or with
    ``("reverse", True)`` in the settings ``(x, seed, initial_state, pilot_state)``.

    Traced once for any batch size (the batch dimension is left unknown).
    """

    def build(model_ref):
        kwargs = dict(settings)
        x_spec = _mcmc.batch_spec(vae)
        seed_spec = tf.TensorSpec([2], tf.int32)
        if kwargs.get("reverse"):
            state_spec = tf.TensorSpec([None, None, vae.latent_dim], tf.float32)

            @tf.function(input_signature=[x_spec, seed_spec, state_spec, state_spec], jit_compile=bool(jit_compile))
            def run(x, seed, initial_state, pilot_state):
                return annealed_importance_log_weights(
                    model_ref(), x, seed, initial_state=initial_state, pilot_state=pilot_state, **kwargs
                )

            return run

        @tf.function(input_signature=[x_spec, seed_spec], jit_compile=bool(jit_compile))
        def run(x, seed):
            return annealed_importance_log_weights(model_ref(), x, seed, **kwargs)

        return run

    return traced(vae, ("ais.run", settings, bool(jit_compile)), build)


def ais_log_likelihood(
    vae,
    x,
    num_steps: int = 500,
    num_chains: int = 16,
    anneal_from: str = "prior",
    num_leapfrog_steps: int = 10,
    step_size: float | None = None,
    target_accept_prob: float = 0.8,
    batch_size: int | None = None,
    seed: int | None = None,
    return_bits_per_dim: bool = False,
    jit_compile: bool | str = "auto",
    verbose: int = 0,
    condition=None,
):
    """AIS estimate of log p(x) per example, in nats (see the module docstring);
    for a conditioned model, of log p(x | c) with ``condition=c`` (one per example):
    the path then runs from p(z | c) (or q(z | x, c)) to p(x, z | c).

    ``log p^(x) = log (1/C) sum_c w_c`` over C independent AIS chains; a stochastic
    lower bound on log p(x) that rises to it with ``num_steps`` (and whose spread
    shrinks with ``num_chains``). Cost per example: ``num_chains * num_steps *
    (num_leapfrog_steps + 1)`` decoder passes with gradients.

    Examples are processed in batches; a batch runs all its chains at once, so
    memory holds ``num_chains * batch_size`` decoder outputs (the default batch keeps
    that under ~16 MB). Batch ``b`` uses the stateless seed ``fold_in([seed, 7], b)``:
    a fixed ``seed`` and ``batch_size`` give identical results on every run.

    Args:
        vae: a built :class:`keras_vae.VAE`.
        x: data ``(N, *data_shape)`` or a batched ``tf.data.Dataset`` (of x or ``(x, ...)``).
        num_steps: annealing steps T. Hundreds to thousands for an image model.
        num_chains: independent chains per example.
        anneal_from: ``"prior"`` (the standard: independent of q) or ``"q"`` (start
            at q(z|x): fewer steps for the same accuracy when q is good; for a flow
            posterior each step evaluates log q at the chains' z, which inverts the
            flow, one network pass per latent dimension).
        num_leapfrog_steps: leapfrog steps per HMC transition.
        step_size: where the per-temperature step-size adaptation starts (``None``:
            half the prior's spread; q(z|x) is never read for it). The schedule is
            tuned toward ``target_accept_prob`` by ``min(4, num_chains)`` pilot
            chains per example before the weighted chains run (see
            :func:`annealed_importance_log_weights`).
        target_accept_prob: HMC acceptance probability the step sizes are adapted to.
        batch_size: examples per batch.
        seed: int for reproducible estimates (random when ``None``).
        return_bits_per_dim: also return ``-log p^(x) / (D ln 2)``.
        jit_compile: compile the annealing loop with XLA (compiled once per
            batch shape; pays for long runs, see ``benchmarks/ais.py``). ``"auto"``:
            XLA from 100 steps on for a model the training rule compiles
            (``keras_vae._xla.resolve``). The random streams differ under XLA, so
            the estimate for a fixed seed depends on this choice (by its Monte
            Carlo error), never on anything else.
        verbose: 1 prints progress per batch.
        condition: a conditioned model's conditions, one per example of x (arrays);
            refused for an unconditioned model.

    Returns:
        float64 array ``(N,)`` of log p^(x) in nats, or ``(log_px, bits_per_dim)``.

    Example:
        >>> ll = kv.evaluation.ais_log_likelihood(vae, x_test[:100], num_steps=1000, seed=0)  # doctest: +SKIP
        >>> print(f"AIS NLL: {-ll.mean():.2f} nats")                                        # doctest: +SKIP
    """
    settings, batch_size = _mcmc.check_ais_arguments(
        num_steps, num_chains, anneal_from, num_leapfrog_steps, step_size, target_accept_prob, batch_size
    )
    if isinstance(x, tf.data.Dataset) and condition is None and getattr(vae, "condition_layer", None) is None:
        vae.check_data(x)
    else:
        x, condition = checked_condition(vae, x, condition, "ais_log_likelihood")
    if vae.data_shape is None:
        raise ValueError("The VAE is not built; give it input_shape= or data first.")
    jit_compile = _mcmc.resolve_jit(vae, jit_compile, num_steps)
    n = _num_examples(x)
    batch_size = _mcmc.ais_batch_size(vae, batch_size, num_chains, n)
    base = _mcmc.base_seed(seed, _mcmc.AIS_STREAM)
    run = traced_ais(vae, settings, jit_compile)
    results = []
    start = time.perf_counter()
    for index, batch in enumerate(_batches(vae, x, batch_size, condition)):
        batch = _mcmc.to_tensor(vae, batch)
        rows = int((batch["x"] if isinstance(batch, dict) else batch).shape[0])
        if rows == 0:
            continue
        if jit_compile and index > 0:  # one XLA compilation: pad the last batch
            batch = _mcmc.pad_rows(batch, batch_size)
        out = run(batch, _mcmc.batch_seed(base, index))
        results.append(importance_bound(tf.cast(out["log_weights"], tf.float64)).numpy()[:rows])
        if verbose:
            done = sum(len(r) for r in results)
            print(
                f"ais_log_likelihood: batch {index + 1}, {done}{'/' + str(n) if n else ''} examples, "
                f"T={num_steps}, C={num_chains}, {time.perf_counter() - start:.1f}s",
                flush=True,
            )
    log_px = np.concatenate(results) if results else np.zeros((0,), np.float64)
    if return_bits_per_dim:
        return log_px, bits_per_dim(log_px, math.prod(vae.data_shape))
    return log_px
