"""What :func:`keras_vae.evaluation.inference_gaps` needs of a hierarchical VAE: q's
per-example parameters, and q rebuilt from them.

The gaps (Cremer et al. 2018) optimize, for each example, the parameters the
encoder would predict, with every other weight held: so the family q* ranges over is
the amortized posterior's own family, and the amortized q is one of its members
(the amortization gap is >= 0 up to optimization and Monte Carlo error):

- ``bottom_up``: q(z_1 | x)'s diagonal Gaussian (its 2 d_1 head outputs) is free per
  example; q(z_l | z_{l-1}) for l >= 2 stay the model's networks (they take z_{l-1},
  not x: nothing in them is per example).
- ``ladder``: every group's bottom-up Gaussian N(mu^_l, s^_l) is free per example
  (2 sum d_l numbers); each lower group is still its precision-weighted merge with
  the model's top-down prior p(z_l | z_{l+1}) at the sampled parent.
- ``residual``: every group's (dmu_l, dsigma_l) is free per example (before the
  soft clamp); q(z_l | z_{l+1}) = N(mu_p + dmu_l, sigma_p dsigma_l) with the model's
  top-down prior.

The approximation gap is therefore what this *structure* cannot represent (for
bottom-up: a diagonal q(z_1); for the ladder: conditionals that are merges with the
prior), not what a free-form Gaussian over all groups could reach.
"""
from __future__ import annotations

import tensorflow as tf

from keras_vae.models._hierarchy.chain import GroupChain


class HierarchyGaps:
    """Mixin of :class:`~keras_vae.HierarchicalVAE`: the inference-gaps hooks."""

    def _local_sizes(self) -> list[int]:
        """The width of each per-example parameter block (see :meth:`posterior_parameters`)."""
        groups = self.latent_dims[:1] if self.inference == "bottom_up" else self.latent_dims
        return [2 * d for d in groups]

    def posterior_parameters(self, x, training: bool | None = False) -> tf.Tensor:
        """The per-example parameters of q(z | x) for a prepared batch (as
        ``VAE.posterior_parameters``), ``[B, P]``, for the inference gaps:
        q(z_1 | x)'s head output (bottom-up) or every group's bottom-up head output
        (ladder, residual), concatenated, z_1 first.

        Example:
            >>> import numpy as np, keras_vae as kv
            >>> h = kv.HierarchicalVAE(latent_dims=(3, 2), input_shape=(4,), inference="ladder",
            ...                        q_hidden=[[8], [8]], p_hidden=[[8], [8]], seed=0)
            >>> tuple(h.posterior_parameters(np.zeros((5, 4), "float32")).shape)
            (5, 10)
        """
        params = self._local_params(tf.convert_to_tensor(x, tf.float32), training)
        return tf.concat([tf.cast(p, tf.float32) for p in params], axis=-1)

    def posterior_from_parameters(self, params) -> GroupChain:
        """q(z | x) over the concatenated latent from :meth:`posterior_parameters`'
        output (any leading dimensions)."""
        params = tf.convert_to_tensor(params, tf.float32)
        sizes = self._local_sizes()
        if params.shape[-1] != sum(sizes):
            raise ValueError(
                f"{self.name} takes {sum(sizes)} posterior parameters per example "
                f"(inference={self.inference!r}), got {params.shape[-1]}."
            )
        return self._chain_from_params(tf.split(params, sizes, axis=-1), False)
