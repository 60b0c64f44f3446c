"""The chains of the conv hierarchy (``architecture="conv"``, NVAE-style): the
top-down prior p(z_L) prod_l p(z_l | z_{>l}) through a deterministic conv state, the
residual posterior q(z_l | z_{>l}, x) = N(mu_p + dmu_l, sigma_p dsigma_l) on it, and
p(x | z) from the state after z_1 (it depends on every group, as in NVAE)."""
from __future__ import annotations

import tensorflow as tf

from keras_vae.models._hierarchy.chain import GroupChain
from keras_vae.models._hierarchy.latent_paths import HierarchyLatentPaths
from keras_vae.models._hierarchy.networks import HierarchyNetworks, gaussian
from keras_vae.models._hierarchy.residual import residual_gaussian


class TopDownStates:
    """The top-down states of one chain, memoized on the drawn groups they depend on
    (a chain asks for each group's conditional once per pass; without the memo the
    state above would be recomputed for every group)."""

    def __init__(self, model, training):
        self.top_down, self.sizes, self.training = model.top_down, model.latent_dims, training
        self.memo: dict = {}

    def _cached(self, kind, g, drawn, make):
        key = tuple(drawn[k] for k in range(g if kind == "after" else g + 1, len(self.sizes)))
        hit = self.memo.get((kind, g))
        if hit is not None and all(a is b for a, b in zip(hit[0], key)):
            return hit[1]
        value = make()
        self.memo[(kind, g)] = (key, value)  # holding the keys keeps their identities unique
        return value

    def state_in(self, g, drawn):
        """The state group ``g`` (below the top) reads, ``[N, h, w, C]``."""
        return self._cached("in", g, drawn, lambda: self.top_down.descend(g, self.state_after(g + 1, drawn)))

    def state_after(self, g, drawn):
        def make():
            z = tf.reshape(tf.cast(drawn[g], tf.float32), [-1, self.sizes[g]])
            top = g == len(self.sizes) - 1
            state = self.top_down.initial(tf.shape(z)[0]) if top else self.state_in(g, drawn)
            return self.top_down.combine(g, state, z, self.training)

        return self._cached("after", g, drawn, make)

    def prior(self, g, drawn):
        """p(z_g | z_{>g}) with the leading dimensions of the drawn groups."""
        lead = tf.shape(drawn[g + 1])[:-1]
        loc, scale = self.top_down.loc_scale(self.top_down.prior_params(g, self.state_in(g, drawn)))
        shape = tf.concat([lead, [self.sizes[g]]], 0)
        return gaussian(tf.reshape(loc, shape), tf.reshape(scale, shape))


class ConvHierarchyNetworks:
    """Mixin of :class:`~keras_vae.HierarchicalVAE`: with ``architecture="conv"`` its
    chains come from ``conv_encoder``, ``q_heads``, ``top_down`` and
    ``likelihood_layer``; otherwise the MLP chains of :class:`HierarchyNetworks`
    (called by name, not through ``super()``: AutoGraph, which converts these methods
    inside ``tf.function``, resolves a zero-argument ``super()`` wrongly)."""

    def _is_conv(self) -> bool:
        return getattr(self, "architecture", "mlp") == "conv"

    @property
    def decode_width(self) -> int:
        """The latent width ``decode`` and the exported ``decode`` take: z_1 (MLP) or
        every group concatenated (conv: p(x | z) reads every group)."""
        return self.latent_dim if self._is_conv() else self.latent_dims[0]

    def _prior_chain(self, training=False) -> GroupChain:
        if not self._is_conv():
            return HierarchyNetworks._prior_chain(self, training)
        top = len(self.latent_dims) - 1
        top_prior = self._top_prior(training)
        states = TopDownStates(self, training)

        def conditional(g, drawn):
            return top_prior if g == top else states.prior(g, drawn)

        return GroupChain(self.latent_dims, list(range(top, -1, -1)), conditional)

    def _bottom_up_params(self, x, training) -> list:
        if not self._is_conv():
            return HierarchyNetworks._bottom_up_params(self, x, training)
        features = self.conv_encoder(self.likelihood_layer.encoder_input(x), training=training)
        per_scale = self.groups_per_scale
        return [head(features[g // per_scale], training=training) for g, head in enumerate(self.q_heads)]

    def _merged_conditional(self, params, top, training):
        if not self._is_conv():
            return HierarchyNetworks._merged_conditional(self, params, top, training)
        num = len(self.latent_dims)
        states = TopDownStates(self, training)

        def conditional(g, drawn):
            if g == num - 1:
                return top
            p = states.prior(g, drawn).distribution
            return residual_gaussian(p.loc, p.scale, *self.q_heads[g].deltas(params[g]))

        return conditional

    def _likelihood_params(self, z, training):
        if not self._is_conv():
            return HierarchyNetworks._likelihood_params(self, z, training)
        z = tf.cast(z, tf.float32)
        lead = tf.shape(z)[:-1]
        drawn = dict(enumerate(tf.split(tf.reshape(z, [-1, self.latent_dim]), self.latent_dims, axis=-1)))
        state = TopDownStates(self, training).state_after(0, drawn)
        params = self.likelihood_layer(self.top_down.output(state, training=training), training=training)
        return tf.reshape(params, tf.concat([lead, tf.shape(params)[1:]], 0))

    def _check_latent(self, z, what="z"):
        if not self._is_conv():
            return HierarchyNetworks._check_latent(self, z, what)
        if z.shape[-1] != self.latent_dim:
            raise ValueError(
                f"{what} has {z.shape[-1]} latent values per example; the conv hierarchy's "
                f"p(x | z) reads every group: give all groups concatenated ({self.latent_dim})."
            )

    def decode_from_group(self, z_group, group: int) -> tf.Tensor:
        """The mean of p(x | z) with z_{group+1} given. MLP: every lower group is its
        top-down conditional's mean given the group above. Conv: the groups above are
        the prior chain's means (p(x | z) reads every group), the lower ones the
        top-down means given everything above."""
        if not self._is_conv():
            return HierarchyLatentPaths.decode_from_group(self, z_group, group)
        group = self._check_group(group)
        z = tf.convert_to_tensor(z_group, tf.float32)
        if z.shape[-1] != self.latent_dims[group]:
            raise ValueError(f"group {group} has {self.latent_dims[group]} latent values, got {z.shape[-1]}.")
        chain = self._prior_chain(False)
        rows = tf.shape(z)[0]
        drawn = {}
        for g in chain.order:
            if g == group:
                drawn[g] = z
                continue
            mean = tf.cast(chain.conditional(g, drawn).mean(), tf.float32)
            drawn[g] = tf.broadcast_to(mean, [rows, self.latent_dims[g]])
        joined = tf.concat([drawn[g] for g in range(len(self.latent_dims))], axis=-1)
        return self.likelihood_layer.distribution(self._likelihood_params(joined, False)).mean()
