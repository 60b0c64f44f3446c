"""Annealed importance sampling (AIS) estimates of log p(x) (Neal, 2001; for
decoder-based models Wu et al., 2017).

AIS moves chains through distributions that go from a normalized start p_0(z) — the
prior p(z) or the amortized posterior q(z|x) — to the unnormalized posterior
p(x, z) = p(x|z) p(z)::

    f_t(z) = p_0(z)^(1 - b_t) p(x, z)^(b_t),     b_t = t / T,  t = 1..T

with one HMC transition (TFP's ``HamiltonianMonteCarlo``, step size adapted to
an acceptance rate by ``SimpleStepSizeAdaptation``) leaving each f_t invariant, and
accumulates the log-weight ``sum_t (b_t - b_{t-1}) (log p(x, z_{t-1}) - log p_0(z_{t-1}))``
(``tfp.mcmc.sample_annealed_importance_chain``). Each chain's weight is an unbiased
estimate of p(x); the log of their mean over chains is a stochastic lower bound on
log p(x) that tightens with more steps. Unlike the importance-sampled estimate
(:func:`keras_vae.evaluation.log_likelihood`) it does not rely on q(z|x) being good:
annealed from the prior, it does not use q at all, apart from setting the first
step size.

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
import tensorflow_probability as tfp

from keras_vae.evaluation import _mcmc
from keras_vae.evaluation._common import _as_array, _batches, _check_positive, _num_examples, traced
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
    target_accept_prob: float = 0.65,
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
        step_size: initial step size; ``None`` estimates one per example from the
            spread of q(z|x) samples.
        target_accept_prob: acceptance rate the step size is adapted to.
        initial_state: ``(C, B, latent_dim)`` start of the chains; by default drawn
            from p_0 (forward). Required for ``reverse=True``.
        reverse: anneal from p(x, z) back to p_0.
        pilot_state: ``(P, B, latent_dim)`` start of the pilot chains (see below);
            by default drawn from p_0. For a reverse run, give approximate posterior
            samples drawn independently of ``initial_state`` (BDMC gives the final
            states of its forward run).

    Besides the C chains, ``P = min(4, C)`` pilot chains per example run the same
    annealing; only their acceptance adapts the step size, and their weights are
    dropped. A step size adapted from a chain's own acceptance makes the kernel
    sequence depend on that chain, and the AIS argument (a fixed sequence of
    kernels, each leaving its annealing distribution invariant) no longer holds;
    adapted from independent pilot chains, it holds for the other chains given
    the pilots, and their weights stay unbiased. Each HMC kernel also recomputes
    its cached target log-prob under the current annealing distribution
    (:class:`keras_vae.evaluation._mcmc.FreshTarget`; TFP reuses the previous
    one, tfp#1429): without that, BDMC's upper bound fell 0.04 nats below the exact
    log p(x) of the linear-Gaussian model (4 standard errors).

    Returns:
        dict of tensors: ``log_weights`` ``(C, B)`` (forward: log p(x) estimates;
        reverse: log 1/p(x) estimates), ``state`` ``(C, B, latent_dim)`` (the final
        chain states) and ``step_size`` ``(B,)`` (the adapted step sizes).

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
    init_seed, step_seed, ais_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 3))
    # The first `pilot` chains adapt the step size, their weights are dropped: the
    # other chains then move under step sizes that do not depend on them, as AIS
    # requires (see the docstring). They start from p_0, or from
    # `pilot_state`, never from the weighted chains' start.
    pilot = min(_mcmc.PILOT_CHAINS, num_chains)
    densities = _mcmc.Densities(vae, x, pilot + num_chains)
    start_log_prob = densities.log_prior if anneal_from == "prior" else densities.log_q
    start = densities.sample_prior(init_seed) if anneal_from == "prior" else densities.sample_q(init_seed)
    if initial_state is None:
        initial_state = start
    else:
        pilot_start = start[:pilot] if pilot_state is None else tf.cast(pilot_state, tf.float32)[:pilot]
        initial_state = tf.concat([pilot_start, tf.cast(initial_state, tf.float32)], axis=0)
        initial_state = tf.reshape(initial_state, [pilot + num_chains, densities.batch, vae.latent_dim])
    step = densities.step_size(step_seed, step_size)
    if reverse:
        proposal_fn, target_fn = densities.log_joint, start_log_prob
    else:
        proposal_fn, target_fn = start_log_prob, densities.log_joint

    def make_kernel(log_prob_fn):
        kernel = _mcmc.hmc_kernel(
            log_prob_fn, step, num_leapfrog_steps, num_steps, target_accept_prob, pilot_chains=pilot
        )
        return _mcmc.FreshTarget(kernel, log_prob_fn)

    state, log_weights, results = tfp.mcmc.sample_annealed_importance_chain(
        num_steps=num_steps,
        proposal_log_prob_fn=proposal_fn,
        target_log_prob_fn=target_fn,
        current_state=initial_state,
        make_kernel_fn=make_kernel,
        seed=ais_seed,
    )
    final_step = tf.reduce_mean(results.inner_results.new_step_size, axis=-1)
    return {"log_weights": log_weights[pilot:], "state": state[pilot:], "step_size": final_step}


def traced_ais(vae, settings: tuple, jit_compile: bool):
    """A cached ``tf.function`` for one set of AIS settings: ``(x, seed)``, or with
    ``("reverse", True)`` in the settings ``(x, seed, initial_state, pilot_state)``.

    Traced once for any batch size (the batch dimension is left unknown).
    """

    def build(model_ref):
        kwargs = dict(settings)
        x_spec = tf.TensorSpec([None, *vae.data_shape], tf.float32)
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
    target_accept_prob: float = 0.65,
    batch_size: int | None = None,
    seed: int | None = None,
    return_bits_per_dim: bool = False,
    jit_compile: bool | str = "auto",
    verbose: int = 0,
):
    """AIS estimate of log p(x) per example, in nats (see the module docstring).

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
        step_size: initial HMC step size (``None``: half the spread of q(z|x), per
            example); adapted to ``target_accept_prob``.
        target_accept_prob: HMC acceptance rate the step size is adapted to.
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

    Returns:
        float64 array ``(N,)`` of log p^(x) in nats, or ``(log_px, bits_per_dim)``.

    Example:
        >>> ll = kv.evaluation.ais_log_likelihood(vae, x_test[:100], num_steps=1000, seed=0)  # doctest: +SKIP
        >>> print(f"AIS NLL: {-ll.mean():.2f} nats")                                        # doctest: +SKIP
    """
    settings, batch_size = _mcmc.check_ais_arguments(
        num_steps, num_chains, anneal_from, num_leapfrog_steps, step_size, target_accept_prob, batch_size
    )
    if isinstance(x, tf.data.Dataset):
        vae.check_data(x)
    else:
        x = _as_array(vae, x)
    if vae.data_shape is None:
        raise ValueError("The VAE is not built; give it input_shape= or data first.")
    jit_compile = _mcmc.resolve_jit(vae, jit_compile, num_steps)
    n = _num_examples(x)
    batch_size = _mcmc.ais_batch_size(vae, batch_size, num_chains, n)
    base = _mcmc.base_seed(seed, _mcmc.AIS_STREAM)
    run = traced_ais(vae, settings, jit_compile)
    results = []
    start = time.perf_counter()
    for index, batch in enumerate(_batches(vae, x, batch_size)):
        batch = _mcmc.to_tensor(vae, batch)
        if int(batch.shape[0]) == 0:
            continue
        rows = int(batch.shape[0])
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
