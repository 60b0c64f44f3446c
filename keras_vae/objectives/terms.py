"""What an objective is given: the terms of one batch, computed in one batched pass."""
from __future__ import annotations

from typing import Callable

import tensorflow as tf

from keras_vae.objectives._log_weights import log_weights
from keras_vae.objectives.kl import kl_divergence, tfd


def _factors(distribution, what: str):
    """The scalar distribution of each latent dimension of a factorized
    ``Independent`` over ``[L]`` (batch shape ``[..., L]``), or a ValueError."""
    if (
        isinstance(distribution, tfd.Independent)
        and distribution.event_shape.rank == 1
        and distribution.distribution.event_shape.rank == 0
    ):
        return distribution.distribution
    raise ValueError(
        f"per-dimension KL terms need a {what} that factorizes over the latent dimensions "
        f"(a tfd.Independent of a scalar distribution, e.g. the diagonal Gaussian posterior "
        f"and the standard normal prior); this {what} is a {type(distribution).__name__}."
    )


class Terms:
    """The quantities of one batch that any VAE objective is built from.

    The model draws ``K = objective.num_samples`` reparameterized samples
    ``z_k ~ q(z|x)`` in one batched pass (no Python loop over K) and evaluates every
    density at all of them. Shapes: ``B`` examples, ``L`` latent dimensions.

    Attributes:
        x: the checked float32 batch ``[B, *data_shape]``.
        q: the posterior q(z|x), a ``tfd.Distribution`` with batch shape ``[B]``.
        z: the samples ``[K, B, L]``.
        log_px: ``log p(x|z_k)``, ``[K, B]``.
        log_pz: ``log p(z_k)``, ``[K, B]``.
        log_qz: ``log q(z_k|x)``, ``[K, B]``.
        prior: p(z), a ``tfd.Distribution`` with event shape ``[L]``.
        training: whether this is a training step.
        kl_method: the VAE's ``kl`` setting (``"auto"``, ``"analytic"``, ``"mc"``).
        step: the optimizer's step counter (int64 scalar) when the model's train /
            test step built these terms, else ``None``; schedules read it.
        objective_seed: a stateless seed (int32 ``[2]``) for an objective's own
            noise, moving with the step, set by the train / test step; ``None``
            elsewhere (the objective then draws fresh noise).

    Example:
        >>> import keras_vae as kv, numpy as np
        >>> vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(4,), seed=0)
        >>> terms = vae.terms(np.full((3, 4), 0.5, "float32"), num_samples=5, seed=1)
        >>> tuple(terms.z.shape), tuple(terms.log_weights().shape), tuple(terms.kl().shape)
        ((5, 3, 2), (5, 3), (3,))
    """

    def __init__(
        self,
        x: tf.Tensor,
        q,
        z: tf.Tensor,
        log_px: tf.Tensor,
        log_pz: tf.Tensor,
        log_qz: tf.Tensor,
        prior,
        training: bool = False,
        kl_method: str = "auto",
        stopped_posterior: Callable[[], object] | None = None,
        joint_log_prob: Callable[[tf.Tensor], tuple[tf.Tensor, tf.Tensor]] | None = None,
        step: tf.Tensor | None = None,
        objective_seed: tf.Tensor | None = None,
    ):
        self.x = x
        self.q = q
        self.z = z
        self.log_px = log_px
        self.log_pz = log_pz
        self.log_qz = log_qz
        self.prior = prior
        self.training = training
        self.kl_method = kl_method
        self._stopped_posterior = stopped_posterior
        self._joint_log_prob = joint_log_prob
        self._kl = {}
        self._kl_per_dimension = {}
        self.step = step
        self.objective_seed = objective_seed
        self._cache = {}

    def cached(self, key: str, compute: Callable[[], object]):
        """``compute()`` once per batch: an objective's ``__call__`` and its
        ``auxiliary_losses`` share what both need (e.g. a discriminator's outputs)."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    @property
    def num_samples(self) -> int:
        """K, the number of samples per example (static)."""
        return int(self.z.shape[0])

    def log_weights(self) -> tf.Tensor:
        """``log p(x|z_k) + log p(z_k) - log q(z_k|x)``, ``[K, B]``."""
        return log_weights(self.log_px, self.log_pz, self.log_qz)

    def kl(self, method: str | None = None) -> tf.Tensor:
        """Per-example ``KL(q(z|x) || p(z))``, ``[B]``: analytic through
        ``tfd.kl_divergence`` where TFP registers the pair (``"auto"`` /
        ``"analytic"``), else the Monte Carlo mean of ``log q - log p`` over the K
        samples. ``method`` defaults to the VAE's ``kl`` setting."""
        method = self.kl_method if method is None else method
        if method not in self._kl:
            mc = tf.reduce_mean(self.log_qz - self.log_pz, axis=0)
            if method == "mc":
                self._kl[method] = mc
            else:
                try:
                    value = kl_divergence(self.q, self.prior, method="analytic")
                    self._kl[method] = tf.cast(value, tf.float32)
                except ValueError:
                    if method == "analytic":
                        raise
                    self._kl[method] = mc
        return self._kl[method]

    def kl_per_dimension(self, method: str | None = None) -> tf.Tensor:
        """Per-example, per-dimension ``KL(q(z_i|x) || p(z_i))``, ``[B, L]``, for a
        posterior and a prior that factorize over the latent dimensions (each a
        ``tfd.Independent`` of a scalar distribution: the diagonal Gaussian, the
        standard normal and learned Gaussian priors). Then the KL is the sum over
        dimensions, ``kl() == reduce_sum(kl_per_dimension(), -1)``: analytic where
        TFP registers the scalar pair (``"auto"`` / ``"analytic"``), else the Monte
        Carlo mean over the K samples of ``log q(z_i) - log p(z_i)``.

        Raises:
            ValueError: when q or p does not factorize (a full-covariance or flow
                posterior, a mixture or VampPrior prior): their KL has no
                per-dimension terms.
        """
        method = self.kl_method if method is None else method
        if method not in self._kl_per_dimension:
            q_i, p_i = _factors(self.q, "posterior"), _factors(self.prior, "prior")
            value = None
            if method != "mc":
                try:
                    value = tf.cast(tfd.kl_divergence(q_i, p_i), tf.float32)
                except NotImplementedError:
                    if method == "analytic":
                        raise ValueError(
                            f"No analytic KL is registered in TFP for {type(q_i).__name__} || "
                            f"{type(p_i).__name__}; use kl='mc' or kl='auto'."
                        ) from None
            if value is None:
                value = tf.reduce_mean(
                    tf.cast(q_i.log_prob(self.z), tf.float32) - tf.cast(p_i.log_prob(self.z), tf.float32), axis=0
                )
            self._kl_per_dimension[method] = value
        return self._kl_per_dimension[method]

    def kl_per_group(self, method: str | None = None) -> tf.Tensor:
        """Per-example KL of each latent group, ``[B, groups]``: one group here (the
        whole latent, ``kl()[:, None]``); a hierarchical model's terms
        (:class:`~keras_vae.objectives.group_terms.GroupTerms`) have one per group."""
        return self.kl(method)[:, None]

    def reconstruction(self) -> tf.Tensor:
        """``E_q log p(x|z)`` estimated by the mean over the K samples, ``[B]``."""
        return tf.reduce_mean(self.log_px, axis=0)

    def _require(self, what):
        if what is None:
            raise ValueError(
                "These terms were built without the model's callbacks; build them with "
                "VAE.terms(...)."
            )
        return what

    def log_weights_at_stopped_z(self) -> tf.Tensor:
        """The log-weights with z held constant (no gradient reaches the posterior
        through z, nor through q's parameters): gradients reach only the decoder,
        likelihood and prior. Costs one more decoder pass. ``[K, B]``."""
        z = tf.stop_gradient(self.z)
        log_px, log_pz = self._require(self._joint_log_prob)(z)
        stopped_q = self._require(self._stopped_posterior)()
        return log_weights(log_px, log_pz, stopped_q.log_prob(z))

    def stopped_log_qz(self) -> tf.Tensor:
        """``log q(z_k|x)`` with the posterior's parameters held constant (gradients
        reach the posterior only through ``z``): the doubly reparameterized
        estimator of Tucker et al. (2018) needs it. ``[K, B]``."""
        stopped_q = self._require(self._stopped_posterior)()
        return tf.cast(stopped_q.log_prob(self.z), tf.float32)
