"""The objective's terms of a hierarchical VAE, one set per latent group, and the
per-group KL metrics (``kl_1`` .. ``kl_L``) that ``fit`` reports."""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from keras_vae.models._hierarchy.networks import StoppedPosterior
from keras_vae.objectives import GroupTerms


class HierarchyTerms:
    """Mixin of :class:`~keras_vae.HierarchicalVAE`: ``terms()`` and the KL trackers."""

    def terms(self, x, num_samples: int = 1, seed=None, training: bool | None = False) -> GroupTerms:
        """The objective's terms from one batched pass: K ancestral samples of every
        group from q, each group's log q and log p (against its top-down prior), and
        log p(x | z_1). See :class:`~keras_vae.objectives.GroupTerms`."""
        if not (isinstance(x, tf.Tensor) and x.dtype == tf.float32):
            x = self.prepare(x)
        k = int(num_samples)
        if k < 1:
            raise ValueError(f"num_samples must be >= 1, got {num_samples!r}.")
        if seed is None or isinstance(seed, (int, np.integer)):
            seed = self.noise_seed(seed)
        q = self._posterior_chain(x, training)
        z, groups, q_parts = q.sample_with_parts(k, seed)
        log_q_parts = [tf.cast(d.log_prob(zg), tf.float32) for d, zg in zip(q_parts, groups)]
        prior = self._prior_chain(training)
        p_parts = prior.conditionals(z)
        log_p_parts = [tf.cast(d.log_prob(zg), tf.float32) for d, zg in zip(p_parts, groups)]
        return GroupTerms(
            x=x,
            q=q,
            z=z,
            log_px=self._log_px(x, z, training),
            log_pz=tf.add_n(log_p_parts),
            log_qz=tf.add_n(log_q_parts),
            prior=prior,
            training=bool(training),
            kl_method=self.kl_method,
            stopped_posterior=lambda: StoppedPosterior(self, x, training),
            joint_log_prob=lambda z: (self._log_px(x, z, training), prior.log_prob(z)),
            group_sizes=self.latent_dims,
            q_parts=q_parts,
            p_parts=p_parts,
            log_qz_parts=log_q_parts,
            log_pz_parts=log_p_parts,
            analytic_groups=self._analytic_groups(),
        )

    # KL per group: trackers of their own beside the objective's.
    def _finish_init(self, input_shape) -> None:
        self.group_kl_trackers = [
            keras.metrics.Mean(name=f"kl_{g + 1}") for g in range(len(self.latent_dims))
        ]
        super()._finish_init(input_shape)

    @property
    def metrics(self):
        return [*super().metrics, *self.group_kl_trackers]

    def _objective_values(self, terms):
        loss, values = super()._objective_values(terms)
        per_group = terms.kl_per_group()
        values = dict(values)
        for g, tracker in enumerate(self.group_kl_trackers):
            values[tracker.name] = per_group[:, g]
        return loss, values

    def _update_metrics(self, per_example_loss, values, weights) -> None:
        super()._update_metrics(per_example_loss, values, weights)
        for tracker in self.group_kl_trackers:
            tracker.update_state(values[tracker.name], sample_weight=weights)
