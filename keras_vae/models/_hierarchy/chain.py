"""A distribution over a stack of latent groups, drawn ancestrally: the posterior and
the prior of a hierarchical model as one object over the concatenated latent.

It offers what the tools use of a ``tfd.Distribution`` (``sample``, ``log_prob``,
``event_shape``, ``reparameterization_type``) plus the per-group pieces the
hierarchical terms need (``sample_with_parts``, ``conditionals``, ``point``).
"""
from __future__ import annotations

from typing import Callable, Sequence

import tensorflow as tf
import tensorflow_probability as tfp

tfd = tfp.distributions

# conditional(group, {group: z}) -> the distribution of ``group`` (event [size])
# given the groups already drawn (any leading sample / batch dimensions).
Conditional = Callable[[int, dict], object]


class GroupChain:
    """p(z_1, ..., z_L) = prod_l p(z_l | its parents), drawn in ``order``.

    Args:
        sizes: the size of each group, z_1 (next to the data) first.
        order: the groups in the order they are drawn (each group's parents come
            before it), e.g. ``[0, 1]`` bottom-up or ``[1, 0]`` top-down.
        conditional: ``conditional(group, drawn)`` -> a distribution over that
            group with event shape ``[size]``, ``drawn`` a dict of the groups drawn
            so far (tensors ``[..., size]``).

    Example:
        >>> import tensorflow as tf, tensorflow_probability as tfp
        >>> tfd = tfp.distributions
        >>> def conditional(g, drawn):
        ...     loc = tf.zeros([2]) if g == 1 else drawn[1]
        ...     return tfd.Independent(tfd.Normal(loc, 1.0), 1)
        >>> chain = GroupChain([2, 2], [1, 0], conditional)
        >>> z = chain.sample(5, seed=[0, 1]); tuple(z.shape), tuple(chain.log_prob(z).shape)
        ((5, 4), (5,))
    """

    reparameterization_type = tfd.FULLY_REPARAMETERIZED
    dtype = tf.float32

    def __init__(self, sizes: Sequence[int], order: Sequence[int], conditional: Conditional):
        self.sizes = [int(s) for s in sizes]
        self.order = [int(g) for g in order]
        self.conditional = conditional
        self.event_shape = tf.TensorShape([sum(self.sizes)])

    # ----------------------------------------------------------- structure
    def split(self, z) -> list:
        """The concatenated latent ``[..., D]`` as one tensor per group."""
        return tf.split(tf.cast(z, tf.float32), self.sizes, axis=-1)

    def join(self, parts) -> tf.Tensor:
        return tf.concat(list(parts), axis=-1)

    # ----------------------------------------------------------- sampling
    def sample_with_parts(self, sample_shape=(), seed=None):
        """``(z, groups, conditionals)``: the concatenated sample, one sample per
        group and the distribution each was drawn from (group order)."""
        seeds = tfp.random.split_seed(seed, n=len(self.sizes))
        drawn, dists = {}, {}
        for i, g in enumerate(self.order):
            dist = self.conditional(g, drawn)
            shape = sample_shape if i == 0 else ()
            drawn[g] = tf.cast(dist.sample(shape, seed=seeds[i]), tf.float32)
            dists[g] = dist
        groups = [drawn[g] for g in range(len(self.sizes))]
        return self.join(groups), groups, [dists[g] for g in range(len(self.sizes))]

    def sample(self, sample_shape=(), seed=None) -> tf.Tensor:
        return self.sample_with_parts(sample_shape, seed)[0]

    def point(self) -> list:
        """Each group's mean given its parents' means (drawn in order), one tensor per group."""
        drawn = {}
        for g in self.order:
            dist = self.conditional(g, drawn)
            drawn[g] = tf.cast(dist.mean(), tf.float32)
        return [drawn[g] for g in range(len(self.sizes))]

    # ----------------------------------------------------------- densities
    def conditionals(self, z) -> list:
        """The conditional of every group at the latent ``z`` ``[..., D]`` (group order)."""
        groups = dict(enumerate(self.split(z)))
        return [self.conditional(g, groups) for g in range(len(self.sizes))]

    def log_prob_parts(self, z) -> list:
        """``log p(z_l | parents)`` per group, each ``[...]`` (float32)."""
        groups = self.split(z)
        return [tf.cast(d.log_prob(zl), tf.float32) for d, zl in zip(self.conditionals(z), groups)]

    def log_prob(self, z) -> tf.Tensor:
        return tf.add_n(self.log_prob_parts(z))
