"""Inverse autoregressive flow posterior (Kingma et al., 2016)."""
from __future__ import annotations

from typing import Sequence

import tensorflow as tf
import tensorflow_probability as tfp

from keras_vae._arguments import check_number
from keras_vae.posteriors.made import MADE
from keras_vae.posteriors.posterior import Posterior
from keras_vae.registry import register

tfd = tfp.distributions
tfb = tfp.bijectors


class _FlowDistribution(tfd.TransformedDistribution):
    """A transformed distribution whose ``log_prob`` first broadcasts its argument
    against the batch shape: inverting an autoregressive flow runs a
    ``tf.while_loop`` that cannot change shape, and a mixture over posteriors (the
    VampPrior) evaluates ``[..., 1, L]`` points against ``[K]`` components. A sample
    of the same shape keeps its identity, so the bijector cache still applies."""

    def _log_prob(self, y, **kwargs):
        full = tf.concat([self.batch_shape_tensor(), self.event_shape_tensor()], axis=0)
        target = tf.broadcast_dynamic_shape(tf.shape(y), full)
        static = tf.broadcast_static_shape(y.shape, self.batch_shape.concatenate(self.event_shape))
        if not (y.shape.is_fully_defined() and static == y.shape):
            y = tf.broadcast_to(y, target)
        return super()._log_prob(y, **kwargs)


@register("posterior", "iaf")
class IAFPosterior(Posterior):
    """q(z|x): a diagonal Gaussian pushed through ``num_flows`` inverse autoregressive
    flows, each conditioned on a context vector h(x) from the encoder.

    Each step is ``tfb.Invert(tfb.MaskedAutoregressiveFlow(...))``, whose forward
    pass (sampling) is one parallel network evaluation:
    ``z_t = (z_{t-1} - shift(z_{t-1})) * exp(-log_scale(z_{t-1}))`` with
    ``(shift, log_scale)`` from a :class:`MADE` network that sees only earlier
    dimensions of its input, so the Jacobian is triangular and
    ``log q(z_T) = log q_0(z_0) - sum_t log|det dz_t/dz_{t-1}|`` (TFP's
    ``TransformedDistribution``). The dimension order is reversed between flows.
    The log-density of a sample is read from TFP's bijector cache; the density of an
    arbitrary point (a VampPrior evaluating q at another example's z) inverts the
    flow, one network pass per latent dimension.

    q has no closed-form mean; ``point`` is the flow applied to the base mean.

    Args:
        latent_dim: size of z (filled in by the VAE when ``None``).
        num_flows: number of IAF steps.
        hidden_units: hidden widths of each MADE network.
        context_size: size of the context h(x) the head predicts beside the base
            Gaussian's parameters (0: unconditional flows).
        min_scale: lower bound added to the base Gaussian's scale.

    Example:
        >>> import numpy as np, keras_vae as kv
        >>> head = kv.posteriors.IAFPosterior(latent_dim=2, num_flows=2, hidden_units=[8])
        >>> params = head(np.zeros((3, 5), "float32"))
        >>> q = head.distribution(params)
        >>> tuple(q.sample(seed=[0, 1]).shape), tuple(head.point(params).shape)
        ((3, 2), (3, 2))
    """

    def __init__(
        self,
        latent_dim: int | None = None,
        num_flows: int = 2,
        hidden_units: Sequence[int] = (64,),
        context_size: int = 16,
        min_scale: float = 1e-4,
        **kwargs,
    ):
        super().__init__(latent_dim=latent_dim, **kwargs)
        self.num_flows = int(check_number(num_flows, "num_flows", minimum=1, integer=True))
        self.hidden_units = [int(check_number(u, "hidden_units", minimum=1, integer=True)) for u in hidden_units]
        self.context_size = int(check_number(context_size, "context_size", minimum=0, integer=True))
        self.min_scale = check_number(min_scale, "min_scale", minimum=0.0, exclusive_minimum=True)

    @property
    def param_size(self) -> int:
        return 2 * self.require_latent_dim() + self.context_size

    def build(self, input_shape):
        super().build(input_shape)
        self.flows = [
            MADE(
                event_size=self.latent_dim,
                hidden_units=self.hidden_units,
                context_size=self.context_size,
                dtype=self.dtype_policy,
                name=f"made_{index}",
            )
            for index in range(self.num_flows)
        ]
        for made in self.flows:
            made.build()

    def _split(self, params):
        params = tf.cast(params, tf.float32)
        latent = self.latent_dim
        loc, raw_scale = params[..., :latent], params[..., latent : 2 * latent]
        context = params[..., 2 * latent :] if self.context_size else None
        return loc, tf.math.softplus(raw_scale) + self.min_scale, context

    def _bijector(self, context, stop_gradient: bool = False):
        steps = []
        for index, made in enumerate(self.flows):
            if index:
                steps.append(tfb.Permute(list(reversed(range(self.latent_dim)))))

            def shift_and_log_scale(z, made=made):
                return made(z, context=context, stop_gradient=stop_gradient)

            steps.append(tfb.Invert(tfb.MaskedAutoregressiveFlow(shift_and_log_scale_fn=shift_and_log_scale)))
        return tfb.Chain(list(reversed(steps)))  # Chain applies the last one first

    def _distribution(self, params, stop_gradient: bool):
        loc, scale, context = self._split(params)
        base = tfd.Independent(tfd.Normal(loc=loc, scale=scale), reinterpreted_batch_ndims=1)
        return _FlowDistribution(base, self._bijector(context, stop_gradient))

    def distribution(self, params):
        return self._distribution(params, stop_gradient=False)

    def stopped_distribution(self, params):
        return self._distribution(tf.stop_gradient(params), stop_gradient=True)

    def point(self, params):
        loc, _, context = self._split(params)
        return self._bijector(context).forward(loc)

    def natural_parameters(self, params):
        loc, scale, context = self._split(params)
        return {"point": self._bijector(context).forward(loc), "base_mean": loc, "base_stddev": scale}

    def get_config(self):
        config = super().get_config()
        config.update(
            num_flows=self.num_flows,
            hidden_units=list(self.hidden_units),
            context_size=self.context_size,
            min_scale=self.min_scale,
        )
        return config
