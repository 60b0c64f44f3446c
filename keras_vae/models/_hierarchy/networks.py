"""The two chains of a hierarchical VAE: the generative prior chain p(z_L) prod_l
p(z_l | z_{l+1}) and the inference chain q(z | x) of each scheme (bottom-up, ladder,
residual), as :class:`~keras_vae.models._hierarchy.chain.GroupChain` objects over the
concatenated latent."""
from __future__ import annotations

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from keras_vae.models._hierarchy.chain import GroupChain
from keras_vae.models._hierarchy.merge import precision_weighted
from keras_vae.models._hierarchy.residual import residual_gaussian

tfd = tfp.distributions


def gaussian(loc, scale):
    """A diagonal Gaussian over the last axis."""
    return tfd.Independent(tfd.Normal(loc=loc, scale=scale), reinterpreted_batch_ndims=1)


class StoppedPosterior:
    """q(z | x) with every weight of the model held constant: gradients reach it only
    through z (DReG's ``stopped_log_qz``). The weights are read as
    ``stop_gradient(w)`` inside a ``keras.StatelessScope``."""

    def __init__(self, model, x, training):
        self.model, self.x, self.training = model, x, training

    def log_prob(self, z):
        mapping = [(v, tf.stop_gradient(tf.convert_to_tensor(v.value))) for v in self.model.trainable_variables]
        with keras.StatelessScope(state_mapping=mapping):
            return self.model._posterior_chain(self.x, self.training).log_prob(z)


class HierarchyNetworks:
    """Mixin of :class:`~keras_vae.HierarchicalVAE`: its chains from its layers
    (``q_bodies``, ``q_heads``, ``p_bodies``, ``p_heads``, ``decoder``,
    ``likelihood_layer``, ``prior_layer``)."""

    @staticmethod
    def _head_at(body, head, inputs, training):
        """``head(body(inputs))`` as a distribution, for inputs with any leading dims."""
        lead = tf.shape(inputs)[:-1]
        flat = tf.reshape(inputs, [-1, inputs.shape[-1]])
        params = head(body(flat, training=training), training=training)
        params = tf.reshape(params, tf.concat([lead, [params.shape[-1]]], 0))
        return head.distribution(params)

    def _top_prior(self, training):
        top = len(self.latent_dims) - 1

        def posterior_fn(inputs):  # the VampPrior's q(z_L | u) (ladder / residual only)
            return self._top_posterior(self._bottom_up_params(self.prepare(inputs), training)[top])

        return self.prior_layer.distribution(posterior_fn=posterior_fn)

    def _top_down(self, g, drawn, training):
        """p(z_g | z_{g+1}) at the drawn parent (g below the top)."""
        return self._head_at(self.p_bodies[g], self.p_heads[g], drawn[g + 1], training)

    def _prior_chain(self, training=False) -> GroupChain:
        top = len(self.latent_dims) - 1
        top_prior = self._top_prior(training)

        def conditional(g, drawn):
            return top_prior if g == top else self._top_down(g, drawn, training)

        return GroupChain(self.latent_dims, list(range(top, -1, -1)), conditional)

    def _bottom_up_params(self, x, training) -> list:
        """The deterministic bottom-up pass d_l = f_l(d_{l-1}) (ladder, residual):
        each group's head output on d_l."""
        h = self.likelihood_layer.encoder_input(x)
        params = []
        for g in range(len(self.latent_dims)):
            h = self.q_bodies[g](h, training=training)
            params.append(self.q_heads[g](h, training=training))
        return params

    def _top_posterior(self, params):
        """q(z_L | x) from the top head's output: the bottom-up Gaussian (ladder) or
        N(dmu, dsigma), the residual relative to N(0, I) (residual)."""
        head = self.q_heads[-1]
        if self.inference == "residual":
            return residual_gaussian(0.0, 1.0, *head.deltas(params))
        return head.distribution(params)

    def _local_params(self, x, training) -> list:
        """The per-example parameters of q(z | x): every group's head output on the
        bottom-up pass (ladder, residual), or q(z_1 | x)'s head output alone
        (bottom-up: the higher groups are networks of the group below, not of x)."""
        if self.inference == "bottom_up":
            x_in = self.likelihood_layer.encoder_input(x)
            return [self.q_heads[0](self.q_bodies[0](x_in, training=training), training=training)]
        return self._bottom_up_params(x, training)

    def _chain_from_params(self, params: list, training) -> GroupChain:
        """q(z | x) as a chain, from the per-example parameters of :meth:`_local_params`."""
        num = len(self.latent_dims)
        if self.inference in ("ladder", "residual"):
            top = self._top_posterior(params[-1])
            conditional = self._merged_conditional(params, top, training)
            return GroupChain(self.latent_dims, list(range(num - 1, -1, -1)), conditional)

        def conditional(g, drawn):
            if g == 0:
                return self.q_heads[0].distribution(params[0])
            return self._head_at(self.q_bodies[g], self.q_heads[g], drawn[g - 1], training)

        return GroupChain(self.latent_dims, list(range(num)), conditional)

    def _posterior_chain(self, x, training=False) -> GroupChain:
        return self._chain_from_params(self._local_params(x, training), training)

    def _merged_conditional(self, params, top, training):
        """q(z_g | z_{g+1}, x) of the top-down schemes: the ladder's precision-weighted
        merge of the bottom-up Gaussian with p(z_g | z_{g+1}), or the residual
        N(mu_p + dmu, sigma_p * dsigma)."""
        num = len(self.latent_dims)

        def conditional(g, drawn):
            if g == num - 1:
                return top
            p = self._top_down(g, drawn, training).distribution
            if self.inference == "residual":
                return residual_gaussian(p.loc, p.scale, *self.q_heads[g].deltas(params[g]))
            b = self.q_heads[g].distribution(params[g]).distribution
            return gaussian(*precision_weighted(b.loc, b.scale, p.loc, p.scale))

        return conditional

    def _analytic_groups(self) -> list:
        """Whether each group's KL may be analytic: its prior's parent is drawn before it."""
        num = len(self.latent_dims)
        if self.inference == "bottom_up":
            return [False] * (num - 1) + [True]
        return [True] * num

    def _check_latent(self, z, what="z"):
        width = z.shape[-1]
        if width not in (self.latent_dims[0], self.latent_dim):
            raise ValueError(
                f"{what} has {width} latent values per example; {self.name} takes z_1 "
                f"({self.latent_dims[0]}) or all groups concatenated ({self.latent_dim})."
            )

    def _likelihood_params(self, z, training):
        """The likelihood head's parameters at latents ``[..., D]`` (or z_1 ``[..., d_1]``)."""
        z = tf.cast(z, tf.float32)
        z1 = z[..., : self.latent_dims[0]]
        lead = tf.shape(z1)[:-1]
        features = self.decoder(tf.reshape(z1, [-1, self.latent_dims[0]]), training=training)
        params = self.likelihood_layer(features, training=training)
        return tf.reshape(params, tf.concat([lead, tf.shape(params)[1:]], 0))

    def _log_px(self, x, z, training, log_prob=None):
        params = self._likelihood_params(z, training)
        return (log_prob or self.likelihood_layer.log_prob)(params, x)
