"""Per-group diagnostics of a hierarchical VAE: KL per dimension and active units."""
from __future__ import annotations

import numpy as np
import tensorflow as tf


class HierarchyDiagnostics:
    """Mixin of :class:`~keras_vae.HierarchicalVAE`: ``kl_per_dimension`` and
    ``active_units``, one result per group."""

    def kl_per_dimension(self, x, num_samples: int = 1, seed: int = 0, batch_size: int = 256) -> list:
        """Mean KL per latent dimension of each group against its top-down prior
        (one float64 array per group, z_1 first)."""
        x = np.asarray(x)
        self.check_data(x)
        total, count = 0.0, 0
        for start in range(0, len(x), batch_size):
            batch = self.prepare(x[start : start + batch_size])
            terms = self.terms(batch, num_samples=num_samples, seed=seed + start)
            total = total + tf.reduce_sum(terms.kl_per_dimension(), axis=0).numpy().astype(np.float64)
            count += int(batch.shape[0])
        per_dim = total / max(count, 1)
        return list(np.split(per_dim, np.cumsum(self.latent_dims)[:-1]))

    def active_units(self, x, threshold: float = 0.01, num_samples: int = 16, seed: int = 0,
                     return_activity: bool = False) -> dict:
        """Active units per group (Burda et al. 2015): dimensions u of group l with
        ``Cov_x(E_q[u]) > threshold``, E_q[z_l] the mean of q(z_l | parents) averaged
        over ``num_samples`` ancestral draws of its parents.

        The draws are split in two halves and the activity is the covariance over x of
        the two halves' estimates: their Monte Carlo errors are independent, so it is an
        unbiased estimate of Cov_x(E_q[u]). (The variance of a single estimate adds
        the Monte Carlo variance / ``num_samples`` to every unit, and on an untrained
        or poor encoder counts inactive units of the lower groups as active.) A group
        whose q does not depend on draws (z_1 of ``bottom_up``) gets its exact variance.

        Returns ``{"active_units": total, "per_group": [one int per group, z_1 first]}``,
        with ``return_activity`` also ``"activity"``: each group's Cov_x(E_q[u]), one
        array per group.
        """
        if int(num_samples) < 2 or int(num_samples) % 2:
            raise ValueError(f"num_samples must be an even number >= 2 (two halves), got {num_samples}.")
        x = np.asarray(x)
        self.check_data(x)
        halves = ([], [])
        for start in range(0, len(x), 256):
            q = self.posterior(x[start : start + 256])
            _, _, dists = q.sample_with_parts(num_samples, seed=self.noise_seed(seed + start))
            # E_q[z_l] = E over the parents' samples of the conditional's mean: no
            # sampling noise of z_l itself (which would count as activity).
            rows = len(x[start : start + 256])
            means = tf.concat(
                [tf.broadcast_to(d.mean(), [num_samples, rows, size]) for d, size in zip(dists, self.latent_dims)],
                axis=-1,
            ).numpy().astype(np.float64)
            half = num_samples // 2
            halves[0].append(means[:half].mean(axis=0))
            halves[1].append(means[half:].mean(axis=0))
        a, b = (np.concatenate(h) for h in halves)
        covariance = np.mean((a - a.mean(axis=0)) * (b - b.mean(axis=0)), axis=0)
        activity = np.split(covariance, np.cumsum(self.latent_dims)[:-1])
        per_group = [int(np.sum(v > threshold)) for v in activity]
        result = {"active_units": int(sum(per_group)), "per_group": per_group}
        if return_activity:
            result["activity"] = activity
        return result
