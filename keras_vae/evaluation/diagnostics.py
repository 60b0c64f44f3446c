"""KL diagnostics: per-dimension KL, active units and posterior collapse."""
from __future__ import annotations

import random
import warnings

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from keras_vae import _seeds
from keras_vae.evaluation._common import _INT32_MAX, _batches, _check_positive, checked_condition, traced

tfd = tfp.distributions

_KL_STREAM = _seeds.KL_PER_DIMENSION


class PosteriorCollapseWarning(UserWarning):
    """The posterior carries (almost) no information about x."""


class NoMarginalsError(ValueError):
    """A posterior or prior without closed-form one-dimensional marginals (a flow):
    it has a total KL but no KL per dimension."""


def _posterior_mean(model_ref):
    @tf.function(reduce_retracing=True)
    def posterior_mean(x, condition=None):
        vae = model_ref()
        given = {} if condition is None else {"condition": vae.prepare_condition(condition)}
        # The posterior's point (its mean where it has one; a flow names another).
        return tf.cast(
            vae.posterior_layer.point(vae.posterior_parameters(vae.prepare(x), training=False, **given)),
            tf.float32,
        )

    return posterior_mean


def _data(vae, x, condition, tool: str):
    """``(x, condition)`` of the diagnostics, checked before anything runs: x an array
    or a batched dataset (no condition), or, for a conditioned model, arrays of x and
    of one condition per example (given as ``condition=`` or as
    ``{"x": x, "condition": c}``)."""
    if isinstance(x, dict):
        if condition is not None:
            raise ValueError(f"{tool}: the condition was given twice, in the dict x and as condition=.")
        unknown = sorted(set(x) - {"x", "condition"})
        if unknown or "x" not in x:
            raise ValueError(f"{tool} takes x, or a dict with keys 'x' and 'condition'; got keys {sorted(x)}.")
        x, condition = x["x"], x.get("condition")
    if condition is None and getattr(vae, "condition_layer", None) is None and isinstance(x, tf.data.Dataset):
        return x, None
    return checked_condition(vae, x, condition, tool)


def _groups(vae, condition, tool: str) -> bool:
    """Whether ``vae`` has latent groups (``kv.HierarchicalVAE``), whose per-group
    diagnostics the model computes itself (z_l against its top-down prior)."""
    if getattr(vae, "latent_dims", None) is None:
        return False
    if condition is not None:
        raise ValueError(f"{tool}: {type(vae).__name__} takes no condition.")
    return True


def _marginals(distribution, latent_dim: int, what: str):
    """The one-dimensional marginals of a distribution over [latent_dim], as one
    distribution with batch shape ``[..., latent_dim]``.

    Exact for a factorized distribution (``tfd.Independent``: its own factors), a
    multivariate normal (``Normal(loc, stddev)``) and a mixture of either (the
    mixture of the components' marginals: the mixture and VampPriors).
    """
    if (
        isinstance(distribution, tfd.Independent)
        and distribution.event_shape.rank == 1
        and tf.compat.dimension_value(distribution.distribution.batch_shape[-1]) == latent_dim
    ):
        return distribution.distribution
    if isinstance(distribution, tfd.MultivariateNormalLinearOperator):
        return tfd.Normal(loc=distribution.mean(), scale=distribution.stddev())
    if isinstance(distribution, tfd.MixtureSameFamily):
        components = _marginals(distribution.components_distribution, latent_dim, what)
        if isinstance(components, tfd.Normal):
            # Components [K, L] -> per dimension a mixture over K: [L, K].
            logits = distribution.mixture_distribution.logits_parameter()
            return tfd.MixtureSameFamily(
                tfd.Categorical(logits=tf.broadcast_to(logits, [latent_dim, tf.shape(logits)[-1]])),
                tfd.Normal(loc=tf.transpose(components.loc), scale=tf.transpose(components.scale)),
            )
    raise NoMarginalsError(
        f"Per-dimension KL needs the one-dimensional marginals of the {what}, which "
        f"{type(distribution).__name__} does not have in closed form (a flow). Use the "
        "total KL (vae.evaluate) instead."
    )


def kl_per_dimension(
    vae,
    x,
    batch_size: int = 256,
    method: str = "auto",
    num_samples: int = 16,
    seed: int | None = None,
    condition=None,
) -> np.ndarray:
    """Mean over the data of KL(q(z_i|x) || p(z_i)) for each latent dimension i
    (for a conditioned model KL(q(z_i|x, c) || p(z_i | c)), given ``condition``).

    For factorized posteriors and priors (``tfd.Independent``) the KL splits into
    a sum over dimensions. For a full-covariance posterior or a mixture prior
    (mixture, VampPrior) the terms are the KLs between the one-dimensional
    marginals, and their sum is then the total KL minus the dependence between
    dimensions, not the total KL. A flow posterior has no closed-form marginals
    (``ValueError``). Each term is analytic where TFP registers the pair
    (e.g. Normal || Normal: ``0.5 (s^2 + m^2 - 1) - log s`` against N(0, 1)) and a
    Monte Carlo estimate with ``num_samples`` samples otherwise.

    Args:
        vae: a built VAE.
        x: data array ``(N, *data_shape)`` or a batched dataset.
        batch_size: examples per forward pass.
        method: ``"auto"`` (analytic when registered), ``"analytic"`` or ``"mc"``.
        num_samples: samples per example for the Monte Carlo estimate.
        seed: int for a reproducible Monte Carlo estimate.
        condition: a conditioned model's conditions, one per example of x (or give
            x as ``{"x": x, "condition": c}``); refused for an unconditioned model.

    Returns:
        float64 array ``(latent_dim,)`` in nats; for factorized q and p its sum is
        the mean total KL. For a model with latent groups (``kv.HierarchicalVAE``)
        one such array per group, z_1 first, each group's KL taken against its
        top-down prior p(z_l | z_{l+1}) by Monte Carlo over the parents
        (``num_samples`` draws; ``method`` does not apply).

    Raises:
        NoMarginalsError: (a ValueError) the posterior or prior has no closed-form
            marginals (a flow).
        ValueError: a conditioned model without its conditions, or an
            unconditioned one with some (before anything is computed).

    Example:
        >>> kl = vae.kl_per_dimension(x_test)          # doctest: +SKIP
        >>> np.argsort(kl)[::-1][:5]                    # most informative dims  # doctest: +SKIP
    """
    if method not in ("auto", "analytic", "mc"):
        raise ValueError(f"method must be 'auto', 'analytic' or 'mc', got {method!r}.")
    batch_size = _check_positive(batch_size, "batch_size", allow_none=False)
    num_samples = _check_positive(num_samples, "num_samples", allow_none=False)
    if _groups(vae, condition, "kl_per_dimension"):
        return vae.kl_per_dimension(x, num_samples=num_samples, seed=0 if seed is None else int(seed),
                                    batch_size=batch_size)
    x, condition = _data(vae, x, condition, "kl_per_dimension")
    latent_dim = vae.latent_dim
    base = tf.constant(
        [random.randint(0, _INT32_MAX - 1) if seed is None else int(seed) % _INT32_MAX, _KL_STREAM],
        tf.int32,
    )
    total = np.zeros(latent_dim, np.float64)
    count = 0
    for index, batch in enumerate(_batches(vae, x, batch_size, condition)):
        given = {}
        if condition is not None:  # q(z | x, c) against p(z | c) (p(z) for a prior that ignores c)
            batch, given = batch["x"], {"condition": vae.prepare_condition(batch["condition"])}
        q = vae.posterior(vae.prepare(batch), training=False, **given)
        q_dims = _marginals(q, latent_dim, "posterior")
        p_dims = _marginals(vae.prior(training=False, **given), latent_dim, "prior")
        kl = None
        if method != "mc":
            try:
                kl = tfd.kl_divergence(q_dims, p_dims)
            except NotImplementedError:
                if method == "analytic":
                    raise ValueError(
                        f"TFP registers no analytic KL for {type(q_dims).__name__} || "
                        f"{type(p_dims).__name__}; use method='mc' or 'auto'."
                    ) from None
        if kl is None:
            seed_b = tf.random.experimental.stateless_fold_in(base, index)
            z = q_dims.sample(num_samples, seed=seed_b)
            kl = tf.reduce_mean(q_dims.log_prob(z) - p_dims.log_prob(z), axis=0)
        kl = tf.broadcast_to(tf.cast(kl, tf.float32), [q.batch_shape_tensor()[0], latent_dim])
        total += np.sum(kl.numpy().astype(np.float64), axis=0)
        count += int(kl.shape[0])
    if count == 0:
        raise ValueError("x is empty.")
    return total / count


def _posterior_means(vae, x, batch_size: int, condition=None) -> np.ndarray:
    fn = traced(vae, "diagnostics.posterior_mean", _posterior_mean)
    if condition is None:
        means = [fn(tf.convert_to_tensor(b)).numpy() for b in _batches(vae, x, batch_size)]
    else:
        means = [fn(tf.convert_to_tensor(b["x"]), tf.convert_to_tensor(b["condition"])).numpy()
                 for b in _batches(vae, x, batch_size, condition)]
    if not means:
        raise ValueError("x is empty.")
    return np.concatenate(means).astype(np.float64)


def active_units(
    vae,
    x,
    threshold: float = 0.01,
    batch_size: int = 256,
    return_activity: bool = False,
    condition=None,
):
    """Number of active latent dimensions (Burda et al., 2015).

    Dimension u is active when its posterior mean varies with the data:
    ``A_u = Var_x(E_q[z_u | x]) > threshold`` (0.01 in the paper). A dimension whose
    posterior ignores x is inactive. For a conditioned model the means are those of
    q(z | x, c), each example with its own condition.

    Args:
        vae: a built VAE.
        x: data array or batched dataset.
        threshold: activity above which a unit counts as active.
        batch_size: examples per forward pass.
        return_activity: also return the activities ``A_u``, shape ``(latent_dim,)``.
        condition: a conditioned model's conditions, one per example of x (or give
            x as ``{"x": x, "condition": c}``); refused for an unconditioned model.

    Returns:
        int, or ``(int, activity array)``. For a model with latent groups
        (``kv.HierarchicalVAE``) the total over the groups, and the activities as one
        array per group.

    Example:
        >>> vae.active_units(x_test)   # doctest: +SKIP
        19
    """
    batch_size = _check_positive(batch_size, "batch_size", allow_none=False)
    if _groups(vae, condition, "active_units"):
        units = vae.active_units(x, threshold=threshold, return_activity=True)
        return (units["active_units"], units["activity"]) if return_activity else units["active_units"]
    x, condition = _data(vae, x, condition, "active_units")
    if isinstance(x, tf.data.Dataset):
        vae.check_data(x)
    activity = np.var(_posterior_means(vae, x, batch_size, condition), axis=0)
    count = int(np.sum(activity > threshold))
    return (count, activity) if return_activity else count


def check_posterior_collapse(
    vae,
    x,
    kl_threshold: float = 0.01,
    threshold: float = 0.01,
    batch_size: int = 256,
    warn: bool = True,
    condition=None,
) -> dict:
    """Diagnose posterior collapse: the encoder's output no longer depends on x.

    Warns (:class:`PosteriorCollapseWarning`) when the mean total KL is below
    ``kl_threshold`` nats or when no latent unit is active.

    Args:
        vae: a built VAE with a factorized posterior and prior.
        x: data array or batched dataset.
        kl_threshold: total KL (nats per example) below which the posterior counts
            as collapsed.
        threshold: activity threshold of :func:`active_units`.
        batch_size: examples per forward pass.
        warn: emit the warning (the dict is returned either way).
        condition: a conditioned model's conditions, one per example of x.

    Returns:
        A dict with ``kl_total`` (float), ``kl_per_dimension`` (array),
        ``active_units`` (int), ``active_dimensions`` (list of int), ``activity``
        (array), ``latent_dim`` and ``collapsed`` (bool). For a model with latent
        groups the arrays run over the groups' dimensions, z_1 first, and
        ``per_group`` adds each group's ``kl_total`` and ``active_units`` (a group
        can collapse while the others carry the information).

    Example:
        >>> report = vae.check_posterior_collapse(x_test)   # doctest: +SKIP
        >>> report["active_units"], report["kl_total"]        # doctest: +SKIP
    """
    groups = _groups(vae, condition, "check_posterior_collapse")
    if not groups:
        x, condition = _data(vae, x, condition, "check_posterior_collapse")
    kl = kl_per_dimension(vae, x, batch_size=batch_size, condition=condition)
    units, activity = active_units(vae, x, threshold, batch_size, return_activity=True, condition=condition)
    per_group = None
    if groups:
        per_group = {"kl_total": [float(np.sum(k)) for k in kl],
                     "active_units": [int(np.sum(a > threshold)) for a in activity]}
        kl, activity = np.concatenate(kl), np.concatenate(activity)
    kl_total = float(np.sum(kl))
    collapsed = kl_total < kl_threshold or units == 0
    report = {
        "kl_total": kl_total,
        "kl_per_dimension": kl,
        "active_units": units,
        "active_dimensions": [int(i) for i in np.flatnonzero(activity > threshold)],
        "activity": activity,
        "latent_dim": int(kl.shape[0]),
        "collapsed": bool(collapsed),
    }
    if per_group is not None:
        report["per_group"] = per_group
    if collapsed and warn:
        warnings.warn(
            f"Posterior collapse in {vae.name}: the mean KL(q(z|x) || p(z)) is "
            f"{kl_total:.4g} nats (threshold {kl_threshold:g}) and {units} of "
            f"{vae.latent_dim} latent units are active (posterior-mean variance > "
            f"{threshold:g}). The decoder is ignoring z. Remedies: KL annealing (start "
            "with beta < 1 and raise it), free bits, a weaker decoder, or more training.",
            PosteriorCollapseWarning,
            stacklevel=2,
        )
    return report
