"""The terms of a model with several latent groups (a hierarchical VAE)."""
from __future__ import annotations

from typing import Sequence

import tensorflow as tf

from keras_vae.objectives.kl import tfd
from keras_vae.objectives.terms import Terms


def _mean_over_samples(value, like) -> tf.Tensor:
    """``value`` broadcast to ``like``'s ``[K, B]`` and averaged over K, ``[B]``."""
    value = tf.cast(value, tf.float32)
    return tf.reduce_mean(tf.broadcast_to(value, tf.shape(like)), axis=0)


class GroupTerms(Terms):
    """:class:`Terms` whose latent is a stack of groups z_1 .. z_L.

    ``z``, ``log_qz`` and ``log_pz`` are those of the concatenated latent (the sums
    of the groups' log-densities), so the IWAE bound and DReG use them unchanged;
    the groups' own pieces give the KL per group::

        KL_l = E_q [log q(z_l | ...) - log p(z_l | z_{l+1})]

    always against the *top-down* conditional p(z_l | z_{l+1}) at the sampled
    parent. It is analytic (``tfd.kl_divergence``) where the parent was drawn
    before z_l, so that q(z_l | ...) and p(z_l | z_{l+1}) are two distributions given
    the same parent sample (the ladder's top-down pass, and the top group), and
    otherwise the Monte Carlo mean of ``log q - log p`` over the K samples.

    Attributes (besides :class:`Terms`'):
        group_sizes: the size of each group, z_1 first.
        q_parts, p_parts: each group's q and p conditionals (batch ``[K, B]`` or
            ``[B]``; the top prior may have batch ``[]``).
        log_qz_parts, log_pz_parts: each group's ``[K, B]`` log-densities.
        analytic_groups: for each group, whether the analytic KL is valid.

    Example:
        >>> import keras_vae as kv, numpy as np
        >>> h = kv.HierarchicalVAE(latent_dims=(3, 2), input_shape=(4,), seed=0,
        ...                        q_hidden=[[8], [8]], p_hidden=[[8], [8]])
        >>> t = h.terms(np.full((5, 4), 0.5, "float32"), num_samples=2, seed=0)
        >>> tuple(t.kl_per_group().shape), tuple(t.kl_per_dimension().shape)
        ((5, 2), (5, 5))
    """

    def __init__(
        self,
        *,
        group_sizes: Sequence[int],
        q_parts: Sequence,
        p_parts: Sequence,
        log_qz_parts: Sequence[tf.Tensor],
        log_pz_parts: Sequence[tf.Tensor],
        analytic_groups: Sequence[bool],
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.group_sizes = [int(s) for s in group_sizes]
        self.q_parts = list(q_parts)
        self.p_parts = list(p_parts)
        self.log_qz_parts = list(log_qz_parts)
        self.log_pz_parts = list(log_pz_parts)
        self.analytic_groups = [bool(a) for a in analytic_groups]
        self._kl_groups = {}

    @property
    def z_parts(self) -> list:
        return tf.split(self.z, self.group_sizes, axis=-1)

    def kl_per_group(self, method: str | None = None) -> tf.Tensor:
        """Per-example KL of each group against its top-down prior, ``[B, L]``."""
        method = self.kl_method if method is None else method
        if method not in self._kl_groups:
            values = []
            for g, (q, p, log_q, log_p) in enumerate(
                zip(self.q_parts, self.p_parts, self.log_qz_parts, self.log_pz_parts)
            ):
                value = None
                if method != "mc" and self.analytic_groups[g]:
                    try:
                        value = _mean_over_samples(tfd.kl_divergence(q, p), log_q)
                    except NotImplementedError:
                        if method == "analytic":
                            raise ValueError(
                                f"No analytic KL is registered in TFP for group {g + 1}'s "
                                f"{type(q).__name__} || {type(p).__name__}; use kl='mc' or 'auto'."
                            ) from None
                elif method == "analytic":
                    raise ValueError(
                        f"Group {g + 1}'s KL has no analytic form here: its prior's parent "
                        "is drawn after it (bottom-up inference); use kl='auto' or 'mc'."
                    )
                if value is None:
                    value = tf.reduce_mean(log_q - log_p, axis=0)
                values.append(value)
            self._kl_groups[method] = tf.stack(values, axis=-1)
        return self._kl_groups[method]

    def kl(self, method: str | None = None) -> tf.Tensor:
        """The KL of the whole latent: the sum of the groups' KLs, ``[B]``."""
        return tf.reduce_sum(self.kl_per_group(method), axis=-1)

    def kl_per_dimension(self, method: str | None = None) -> tf.Tensor:
        """Per-example, per-dimension KL of every group (concatenated, z_1 first),
        ``[B, sum(group_sizes)]``; each group against its top-down prior. Needs
        conditionals that factorize over dimensions (``tfd.Independent`` of a scalar
        distribution), as :meth:`Terms.kl_per_dimension`."""
        from keras_vae.objectives.terms import _factors

        method = self.kl_method if method is None else method
        if method not in self._kl_per_dimension:
            values = []
            for g, (q, p, z_g, log_q) in enumerate(zip(self.q_parts, self.p_parts, self.z_parts, self.log_qz_parts)):
                q_i, p_i = _factors(q, "posterior"), _factors(p, "prior")
                value = None
                if method != "mc" and self.analytic_groups[g]:
                    try:
                        kl = tf.cast(tfd.kl_divergence(q_i, p_i), tf.float32)
                        value = tf.reduce_mean(
                            tf.broadcast_to(kl, tf.concat([tf.shape(log_q), [self.group_sizes[g]]], 0)), axis=0
                        )
                    except NotImplementedError:
                        value = None
                if value is None:
                    value = tf.reduce_mean(
                        tf.cast(q_i.log_prob(z_g), tf.float32) - tf.cast(p_i.log_prob(z_g), tf.float32), axis=0
                    )
                values.append(value)
            self._kl_per_dimension[method] = tf.concat(values, axis=-1)
        return self._kl_per_dimension[method]
