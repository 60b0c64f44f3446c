"""KL(q || p): analytic through TFP where registered, Monte Carlo otherwise."""
from __future__ import annotations

import tensorflow as tf
import tensorflow_probability as tfp

tfd = tfp.distributions

KL_METHODS = ("auto", "analytic", "mc")


def kl_divergence(q, p, z: tf.Tensor | None = None, method: str = "auto") -> tf.Tensor:
    """Per-example KL(q || p) in nats.

    Args:
        q: posterior distribution, batch shape ``(batch,)``.
        p: prior distribution (broadcastable against ``q``).
        z: a sample from ``q``; needed for the Monte Carlo estimate
            ``log q(z) - log p(z)``.
        method: ``"analytic"`` uses ``tfd.kl_divergence`` (error if TFP registers no
            formula for the pair); ``"mc"`` the one-sample estimate; ``"auto"`` the
            analytic KL when registered, the estimate otherwise. The choice is made
            once per pair of distribution types, at trace time.

    Returns:
        A float32 tensor of shape ``(batch,)``.
    """
    if method not in KL_METHODS:
        raise ValueError(f"kl must be one of {KL_METHODS}, got {method!r}.")
    if method in ("auto", "analytic"):
        try:
            return _analytic(q, p)
        except NotImplementedError:
            if method == "analytic":
                raise ValueError(
                    f"No analytic KL is registered in TFP for "
                    f"{type(q).__name__} || {type(p).__name__}; use kl='mc' or kl='auto'."
                ) from None
    if z is None:
        raise ValueError("The Monte Carlo KL needs a sample z from q.")
    return q.log_prob(z) - p.log_prob(z)


def _as_multivariate_normal(distribution):
    """An ``Independent(Normal)`` over a vector as the equal ``MultivariateNormalDiag``
    (TFP registers the KL of a full-covariance Gaussian only against the latter);
    anything else unchanged."""
    if (
        isinstance(distribution, tfd.Independent)
        and isinstance(distribution.distribution, tfd.Normal)
        and distribution.event_shape.rank == 1
    ):
        inner = distribution.distribution
        return tfd.MultivariateNormalDiag(loc=inner.loc, scale_diag=inner.scale)
    return distribution


def _analytic(q, p):
    """``tfd.kl_divergence(q, p)``, also for a full-covariance Gaussian against a
    factorized one (through TFP's multivariate-normal formula)."""
    try:
        return tfd.kl_divergence(q, p)
    except NotImplementedError:
        q_mvn, p_mvn = _as_multivariate_normal(q), _as_multivariate_normal(p)
        if q_mvn is q and p_mvn is p:
            raise
        return tfd.kl_divergence(q_mvn, p_mvn)
