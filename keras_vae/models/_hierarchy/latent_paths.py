"""Traversal and interpolation of a hierarchical VAE at a chosen latent group."""
from __future__ import annotations

import numpy as np
import tensorflow as tf


class HierarchyLatentPaths:
    """Mixin of :class:`~keras_vae.HierarchicalVAE`: decoding from one group and the
    latent paths (``interpolate``, ``traverse``) at that group."""

    def _check_group(self, group) -> int:
        if isinstance(group, bool) or not isinstance(group, (int, np.integer)) or not 0 <= group < len(self.latent_dims):
            raise ValueError(
                f"group must be an integer in [0, {len(self.latent_dims)}) (0 is z_1, next to "
                f"the data), got {group!r}."
            )
        return int(group)

    def decode_from_group(self, z_group, group: int) -> tf.Tensor:
        """The mean of p(x | z_1) where z_{group+1} is given and every lower group is its
        top-down conditional's mean given the group above (``group=0``: z_1 itself)."""
        group = self._check_group(group)
        z = tf.convert_to_tensor(z_group, tf.float32)
        if z.shape[-1] != self.latent_dims[group]:
            raise ValueError(f"group {group} has {self.latent_dims[group]} latent values, got {z.shape[-1]}.")
        for g in range(group - 1, -1, -1):
            z = tf.cast(self._head_at(self.p_bodies[g], self.p_heads[g], z, False).mean(), tf.float32)
        return self.likelihood_layer.distribution(self._likelihood_params(z, False)).mean()

    def interpolate(self, x1, x2, steps: int = 8, group: int = 0) -> np.ndarray:
        """Decoded means along the straight line between the posterior points of ``x1``
        and ``x2`` (one example each) at latent group ``group`` (lower groups follow
        the top-down means, see :meth:`decode_from_group`): ``[steps, *data_shape]``."""
        group = self._check_group(group)
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 2:
            raise ValueError(f"steps must be an integer >= 2, got {steps!r}.")
        a = np.asarray(self.encode(np.asarray(x1)[None])[group])[0]
        b = np.asarray(self.encode(np.asarray(x2)[None])[group])[0]
        t = np.linspace(0.0, 1.0, int(steps))[:, None]
        return self.decode_from_group((1 - t) * a + t * b, group).numpy()

    def traverse(self, x, dim: int, values=None, group: int = 0) -> np.ndarray:
        """Decoded means of ``x``'s (one example) posterior point at group ``group`` with
        latent ``dim`` of that group set to each value (default -3..3, 9 values)."""
        group = self._check_group(group)
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or not 0 <= dim < self.latent_dims[group]:
            raise ValueError(f"dim must be an integer in [0, {self.latent_dims[group]}), got {dim!r}.")
        values = np.linspace(-3.0, 3.0, 9) if values is None else np.asarray(values, np.float64).reshape(-1)
        point = np.asarray(self.encode(np.asarray(x)[None])[group])[0]
        codes = np.repeat(point[None], len(values), axis=0)
        codes[:, dim] = values
        return self.decode_from_group(codes.astype("float32"), group).numpy()
