"""Samples of the true posterior p(z|x) by Hamiltonian Monte Carlo, beside the
amortized posterior q(z|x).

HMC (TFP's ``HamiltonianMonteCarlo``) targets the unnormalized posterior
``p(x, z) = p(x|z) p(z)``: its samples are asymptotically exact, whatever the
encoder learned, at the price of many decoder passes. The chains start from
q(z|x) samples, a step size per example is adapted during burn-in
(``SimpleStepSizeAdaptation``), and convergence is reported as the split
potential scale reduction R-hat across chains (``tfp.mcmc.potential_scale_reduction``;
values near 1, say below 1.05, indicate mixed chains) and the effective sample size.

Two defaults make the chains mix on a trained model:

- ``precondition=True``: HMC runs on z / s, s the per-dimension spread of q(z|x)
  (a diagonal mass matrix, through ``tfp.mcmc.TransformedTransitionKernel`` and
  ``tfp.bijectors.Scale``), so one step size suits every dimension: the narrowest
  posterior direction no longer sets the step of all the others;
- ``step_size_jitter=0.5``: each transition's step size is drawn uniformly within
  ±50% of the adapted one (Neal, 2011, sec. 5.4.2.2). A fixed trajectory length
  (step size × leapfrog steps) that is close to a multiple of the period of some
  posterior direction brings the chain back near where it started in that
  direction; jitter breaks such resonances.

On the MNIST model of ``benchmarks/inference_gaps.py`` a fixed trajectory
(without jitter or preconditioning) mixed poorly in some posterior directions —
more burn-in did not help, jitter and preconditioning together did; that
benchmark prints the R-hat and effective sample sizes it reaches.

Example:
    >>> import numpy as np, keras_vae as kv
    >>> vae = kv.VAE(encoder=kv.encoders.MLPEncoder([16]), decoder=kv.decoders.MLPDecoder([16]),
    ...              latent_dim=2, input_shape=(8,), seed=0)
    >>> x = np.random.default_rng(0).integers(0, 2, (3, 8)).astype("float32")
    >>> result = kv.evaluation.posterior_samples(vae, x, num_samples=40, num_burnin_steps=20, seed=0)
    >>> result.samples.shape, result.r_hat.shape
    ((3, 40, 2), (3, 2))
"""
from __future__ import annotations

import dataclasses
import weakref

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from keras_vae.evaluation import _mcmc
from keras_vae.evaluation._common import _batches, _check_positive, _num_examples, checked_condition, traced

__all__ = ["PosteriorSamples", "hmc_posterior_samples", "posterior_samples"]

METHODS = ("hmc", "q")


@dataclasses.dataclass
class PosteriorSamples:
    """Latent samples per example and, for HMC, how well the chains mixed.

    Attributes:
        samples: float32 ``(N, num_samples, latent_dim)``; for HMC the samples of
            chain c are ``samples[:, c::num_chains]`` (chains interleaved).
        method: ``"hmc"`` or ``"q"``.
        r_hat: ``(N, latent_dim)`` split potential scale reduction per example and
            dimension (HMC only; ``None`` for ``"q"``).
        effective_sample_size: ``(N, latent_dim)`` (HMC only).
        acceptance_rate: ``(N,)`` mean HMC acceptance after burn-in (HMC only).
        step_size: ``(N,)`` the adapted HMC step sizes (HMC only).

    Example:
        >>> result = vae.posterior_samples(x_test[:10], num_samples=1000)  # doctest: +SKIP
        >>> result.max_r_hat() < 1.05                                     # doctest: +SKIP
        True
    """

    samples: np.ndarray
    method: str
    r_hat: np.ndarray | None = None
    effective_sample_size: np.ndarray | None = None
    acceptance_rate: np.ndarray | None = None
    step_size: np.ndarray | None = None

    def mean(self) -> np.ndarray:
        """Posterior mean per example, ``(N, latent_dim)``."""
        return np.mean(self.samples, axis=1, dtype=np.float64)

    def covariance(self) -> np.ndarray:
        """Posterior covariance per example, ``(N, latent_dim, latent_dim)``."""
        centred = self.samples.astype(np.float64) - self.mean()[:, None, :]
        return np.einsum("nsi,nsj->nij", centred, centred) / max(1, self.samples.shape[1] - 1)

    def max_r_hat(self) -> float:
        """The largest R-hat over examples and dimensions (``nan`` for ``"q"``)."""
        return float(np.max(self.r_hat)) if self.r_hat is not None else float("nan")


# q(z|x) samples per example whose per-dimension spread preconditions HMC.
_PRECONDITION_SAMPLES = 64


def _check_jitter(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not 0 <= value < 1:
        raise ValueError(f"step_size_jitter must be a number in [0, 1), got {value!r}.")
    return float(value)


def hmc_posterior_samples(
    vae,
    x,
    seed,
    num_results: int = 250,
    num_chains: int = 4,
    num_burnin_steps: int = 500,
    num_leapfrog_steps: int = 10,
    step_size: float | None = None,
    target_accept_prob: float = 0.75,
    precondition: bool = True,
    step_size_jitter: float = 0.5,
) -> dict[str, tf.Tensor]:
    """HMC on p(z|x) for one batch, as tensors (usable inside ``tf.function``).

    Args:
        vae: a built VAE.
        x: float tensor ``(B, *data_shape)``; for a conditioned model the prepared
            batch ``{"x": x, "condition": c}``, and the target is p(z | x, c) ∝
            p(x | z, c) p(z | c).
        seed: stateless seed, int32 ``[2]``.
        num_results: samples kept per chain.
        num_chains: chains per example, started from q(z|x) samples.
        num_burnin_steps: discarded steps; the step size is adapted during the
            first 80% of them.
        num_leapfrog_steps: leapfrog steps per transition.
        step_size: initial step size in units of z; preconditioned, the mean over
            dimensions of the per-dimension steps. ``None``: 0.5 in the
            preconditioned units, else half the prior's spread (q's spread is not
            read: it is wrong exactly when MCMC is needed); adaptation then tunes it.
        target_accept_prob: acceptance rate of the adaptation.
        precondition: run HMC on z / s, s the per-dimension standard deviation of
            64 q(z|x) samples (a diagonal mass matrix from q).
        step_size_jitter: each transition's step size is the adapted one times a
            uniform draw from ``[1 - jitter, 1 + jitter]`` (0: no jitter).

    Returns:
        dict: ``samples`` ``(num_results, C, B, L)``, ``r_hat`` and
        ``effective_sample_size`` ``(B, L)``, ``acceptance_rate`` and ``step_size``
        ``(B,)`` (the adapted step in units of z; preconditioned, the mean over
        dimensions of the per-dimension steps).
    """
    num_results = _check_positive(num_results, "num_results", allow_none=False)
    num_chains = _check_positive(num_chains, "num_chains", allow_none=False)
    num_burnin_steps = int(num_burnin_steps)
    if num_burnin_steps < 0:
        raise ValueError(f"num_burnin_steps must be >= 0, got {num_burnin_steps}.")
    num_leapfrog_steps = _check_positive(num_leapfrog_steps, "num_leapfrog_steps", allow_none=False)
    step_size = _mcmc.check_step_size(step_size)
    target_accept_prob = _mcmc.check_probability(target_accept_prob, "target_accept_prob")
    step_size_jitter = _check_jitter(step_size_jitter)
    seed = tf.convert_to_tensor(seed, tf.int32)
    init_seed, step_seed, chain_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 3))
    densities = _mcmc.Densities(vae, x, num_chains)
    if precondition:
        inputs = densities.x if densities.condition is None else {"x": densities.x, "condition": densities.condition}
        scale = _q_scale(vae, inputs, step_seed)  # [B, L]
        mean_scale = tf.reduce_mean(scale, axis=-1, keepdims=True)  # [B, 1]
        initial = 0.5 * tf.ones_like(mean_scale) if step_size is None else step_size / mean_scale
    else:
        initial = densities.initial_step_size(step_seed, step_size)
    def wrap(hmc):
        if step_size_jitter:
            hmc = _mcmc.JitteredStepSize(hmc, step_size_jitter)
        if precondition:  # the chains move u = z / s; the state and samples stay z
            hmc = tfp.mcmc.TransformedTransitionKernel(hmc, tfp.bijectors.Scale(scale))
        return hmc

    kernel = _mcmc.adaptive_hmc_kernel(
        densities.log_joint,
        initial,
        num_leapfrog_steps,
        num_adaptation_steps=int(0.8 * num_burnin_steps),
        target_accept_prob=target_accept_prob,
        wrap=wrap,
    )

    def trace(_, results):
        inner = results.inner_results.inner_results if precondition else results.inner_results
        return tf.cast(inner.is_accepted, tf.float32)

    samples, accepted, final = _sample(kernel, densities, num_results, num_burnin_steps, init_seed, chain_seed, trace)
    adapted = final.new_step_size  # [B, 1]
    if precondition:
        adapted = adapted * mean_scale
    if num_results >= 4:  # split R-hat: each chain's halves compared too
        r_hat = tfp.mcmc.potential_scale_reduction(samples, independent_chain_ndims=1, split_chains=True)
    elif num_chains >= 2:
        r_hat = tfp.mcmc.potential_scale_reduction(samples, independent_chain_ndims=1)
    else:  # one chain of fewer than 4 samples: no diagnostic
        r_hat = tf.fill(tf.shape(samples)[2:], tf.constant(np.nan, tf.float32))
    return {
        "samples": samples,
        "r_hat": r_hat,
        "effective_sample_size": tfp.mcmc.effective_sample_size(samples, cross_chain_dims=1),
        "acceptance_rate": tf.reduce_mean(accepted, axis=[0, 1]),
        "step_size": tf.reduce_mean(adapted, axis=-1),
    }


def _q_scale(vae, x, seed) -> tf.Tensor:
    """The per-dimension standard deviation of q(z|x) samples, ``[B, L]`` (only
    ``sample`` is used: a flow has no ``stddev``); ``x`` may be ``{"x", "condition"}``."""
    q = vae.posterior(x, training=False)
    z = tf.cast(q.sample(_PRECONDITION_SAMPLES, seed=seed), tf.float32)
    return tf.maximum(tf.math.reduce_std(z, axis=0), 1e-4)


def _sample(kernel, densities, num_results, num_burnin_steps, init_seed, chain_seed, trace):
    result = tfp.mcmc.sample_chain(
        num_results=num_results,
        current_state=densities.sample_q(init_seed),
        kernel=kernel,
        num_burnin_steps=num_burnin_steps,
        trace_fn=trace,
        return_final_kernel_results=True,
        seed=chain_seed,
    )
    return result.all_states, result.trace, result.final_kernel_results


def _traced(vae, settings: tuple, jit_compile: bool):
    """The HMC run for one set of settings, traced once for any batch size."""

    def build(model_ref):
        kwargs = dict(settings)
        signature = [_mcmc.batch_spec(vae), tf.TensorSpec([2], tf.int32)]

        @tf.function(input_signature=signature, jit_compile=bool(jit_compile))
        def run(x, seed):
            return hmc_posterior_samples(model_ref(), x, seed, **kwargs)

        return run

    return traced(vae, ("hmc.run", settings, bool(jit_compile)), build)


def _q_sampler(vae, num_samples: int):
    """``tf.function(batch, seed)`` -> ``num_samples`` draws of q(z|x), ``[S, B, L]``."""
    model_ref = weakref.ref(vae)

    @tf.function(reduce_retracing=True)
    def draw(batch, batch_seed):
        q = model_ref().posterior(batch, training=False)
        return tf.cast(q.sample(num_samples, seed=batch_seed), tf.float32)

    return draw


def posterior_samples(
    vae,
    x,
    num_samples: int = 1000,
    method: str = "hmc",
    num_chains: int = 4,
    num_burnin_steps: int = 500,
    num_leapfrog_steps: int = 10,
    step_size: float | None = None,
    target_accept_prob: float = 0.75,
    batch_size: int | None = None,
    seed: int | None = None,
    jit_compile: bool | str = False,
    precondition: bool = True,
    step_size_jitter: float = 0.5,
    condition=None,
) -> PosteriorSamples:
    """Samples of the posterior over z for each example of x.

    ``method="hmc"`` samples the true posterior p(z|x) ∝ p(x|z) p(z) with HMC
    (``num_chains`` chains per example started from q(z|x), ``num_burnin_steps``
    discarded, then ``ceil(num_samples / num_chains)`` kept per chain) and reports
    R-hat; ``method="q"`` draws from the amortized posterior q(z|x) for comparison
    (the gap between the two is what the encoder gets wrong).

    Args:
        vae: a built VAE.
        x: data ``(N, *data_shape)`` or a batched dataset.
        num_samples: samples per example.
        method: ``"hmc"`` or ``"q"``.
        num_chains: HMC chains per example (>= 2 for a cross-chain R-hat; one chain
            still gets the split-chain R-hat).
        num_burnin_steps: HMC steps discarded per chain (step size adapted in the
            first 80%).
        num_leapfrog_steps: leapfrog steps per HMC transition.
        step_size: initial HMC step size in units of z (``None``: half the spread
            of q(z|x)).
        target_accept_prob: HMC acceptance rate the step size is adapted to.
        batch_size: examples per batch (by default memory-bounded).
        seed: int for reproducible samples.
        jit_compile: compile the HMC loop with XLA (``"auto"``: as for
            ``ais_log_likelihood``, counting burn-in and kept steps).
        precondition: HMC on z scaled by q(z|x)'s per-dimension spread (a diagonal
            mass matrix from q; see the module docstring).
        step_size_jitter: each HMC transition's step size is drawn uniformly within
            ± this fraction of the adapted one (0: a fixed step size).
        condition: a conditioned model's conditions, one per example of x (arrays;
            refused for an unconditioned model). HMC then targets p(z | x, c) ∝
            p(x | z, c) p(z | c), and ``"q"`` draws from q(z | x, c).

    Returns:
        :class:`PosteriorSamples`.

    Example:
        >>> hmc = kv.evaluation.posterior_samples(vae, x_test[:8], num_samples=2000, seed=0)  # doctest: +SKIP
        >>> amortized = kv.evaluation.posterior_samples(vae, x_test[:8], 2000, method="q")  # doctest: +SKIP
        >>> hmc.max_r_hat(), np.abs(hmc.mean() - amortized.mean()).max()                    # doctest: +SKIP
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}.")
    num_samples = _check_positive(num_samples, "num_samples", allow_none=False)
    num_chains = _check_positive(num_chains, "num_chains", allow_none=False)
    batch_size = _check_positive(batch_size, "batch_size")
    if isinstance(x, tf.data.Dataset) and condition is None and getattr(vae, "condition_layer", None) is None:
        vae.check_data(x)
    else:
        x, condition = checked_condition(vae, x, condition, "posterior_samples")
    n = _num_examples(x)
    base = _mcmc.base_seed(seed, _mcmc.HMC_STREAM)
    if method == "q":
        draw = _q_sampler(vae, num_samples)
        batch_size = batch_size or (n or 256)
        out = [
            np.swapaxes(draw(_mcmc.to_tensor(vae, b), _mcmc.batch_seed(base, i)).numpy(), 0, 1)
            for i, b in enumerate(_batches(vae, x, batch_size, condition))
        ]
        return PosteriorSamples(samples=_concat(out, (0, num_samples, vae.latent_dim)), method="q")

    per_chain = -(-num_samples // num_chains)
    settings = (
        ("num_results", per_chain),
        ("num_chains", num_chains),
        ("num_burnin_steps", int(num_burnin_steps)),
        ("num_leapfrog_steps", _check_positive(num_leapfrog_steps, "num_leapfrog_steps", allow_none=False)),
        ("step_size", _mcmc.check_step_size(step_size)),
        ("target_accept_prob", _mcmc.check_probability(target_accept_prob, "target_accept_prob")),
        ("precondition", bool(precondition)),
        ("step_size_jitter", _check_jitter(step_size_jitter)),
    )
    if settings[2][1] < 0:
        raise ValueError(f"num_burnin_steps must be >= 0, got {num_burnin_steps}.")
    jit_compile = _mcmc.resolve_jit(vae, jit_compile, settings[2][1] + per_chain)
    if batch_size is None:
        batch_size = _mcmc.default_batch_size(vae, num_chains, n)
    run = _traced(vae, settings, jit_compile)
    parts: dict[str, list] = {k: [] for k in ("samples", "r_hat", "effective_sample_size", "acceptance_rate", "step_size")}
    for index, batch in enumerate(_batches(vae, x, batch_size, condition)):
        batch = _mcmc.to_tensor(vae, batch)
        rows = int(tf.nest.flatten(batch)[0].shape[0])
        if rows == 0:
            continue
        if jit_compile and index > 0:  # one XLA compilation: pad the last batch
            batch = _mcmc.pad_rows(batch, batch_size)
        out = {k: v.numpy() for k, v in run(batch, _mcmc.batch_seed(base, index)).items()}
        s = out["samples"][:, :, :rows]  # [S, C, B, L] -> [B, S * C, L], chains interleaved
        parts["samples"].append(np.transpose(s, (2, 0, 1, 3)).reshape(rows, -1, s.shape[-1])[:, :num_samples])
        for k in ("r_hat", "effective_sample_size", "acceptance_rate", "step_size"):
            parts[k].append(out[k][:rows])
    latent = vae.latent_dim
    return PosteriorSamples(
        samples=_concat(parts["samples"], (0, num_samples, latent)),
        method="hmc",
        r_hat=_concat(parts["r_hat"], (0, latent)),
        effective_sample_size=_concat(parts["effective_sample_size"], (0, latent)),
        acceptance_rate=_concat(parts["acceptance_rate"], (0,)),
        step_size=_concat(parts["step_size"], (0,)),
    )


def _concat(parts, empty_shape) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(empty_shape, np.float32)
