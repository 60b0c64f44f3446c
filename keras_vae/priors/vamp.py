"""The VampPrior: a mixture of the model's own posterior at learned pseudo-inputs."""
from __future__ import annotations

from typing import Sequence

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from keras_vae._arguments import check_number
from keras_vae.priors.prior import Prior
from keras_vae.registry import register

tfd = tfp.distributions


@register("prior", "vamp")
class VampPrior(Prior):
    """p(z) = (1/K) sum_k q(z | u_k), the "variational mixture of posteriors" prior of
    Tomczak & Welling (2018), with K learned pseudo-inputs u_k shaped like the data.

    The pseudo-inputs are this layer's weights; the encoder and posterior head that
    map them to q(z|u_k) are the model's own, handed in by the VAE as
    ``posterior_fn`` (``vae.prior()`` does this), so the encoder is stored once and
    its weights are trained by both terms. Works with any posterior (for a flow
    posterior, evaluating q(z|u_k) at a z drawn for another example inverts the
    flow). The KL has no closed form: the VAE estimates it by Monte Carlo.

    Args:
        latent_dim: size of z (filled in by the VAE when ``None``).
        num_pseudo_inputs: K.
        data_shape: shape of one example (filled in by the VAE).
        input_range: ``(low, high)`` to clip the pseudo-inputs into (the paper's
            hard-tanh, ``(0, 1)`` for binary images), or ``None`` for no clipping.
        init_mean, init_stddev: the pseudo-inputs start as N(init_mean,
            init_stddev^2) (the paper's 0.05 and 0.01 for MNIST).

    Example:
        >>> import keras_vae as kv
        >>> vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(4,),
        ...              prior={"name": "vamp", "num_pseudo_inputs": 3})
        >>> vae.prior().event_shape, tuple(vae.prior_layer.pseudo_inputs.shape)
        (TensorShape([2]), (3, 4))
    """

    def __init__(
        self,
        latent_dim: int | None = None,
        num_pseudo_inputs: int = 500,
        data_shape: Sequence[int] | None = None,
        input_range: Sequence[float] | None = None,
        init_mean: float = 0.05,
        init_stddev: float = 0.01,
        **kwargs,
    ):
        super().__init__(latent_dim=latent_dim, **kwargs)
        self.num_pseudo_inputs = int(
            check_number(num_pseudo_inputs, "num_pseudo_inputs", minimum=1, integer=True)
        )
        self.data_shape = None if data_shape is None else tuple(int(d) for d in data_shape)
        if input_range is not None:
            low, high = (check_number(v, "input_range") for v in input_range)
            if not low < high:
                raise ValueError(f"input_range must be (low, high) with low < high, got {input_range!r}.")
            input_range = (low, high)
        self.input_range = input_range
        self.init_mean = check_number(init_mean, "init_mean")
        self.init_stddev = check_number(init_stddev, "init_stddev", minimum=0.0)
        if input_range is not None and not input_range[0] <= self.init_mean <= input_range[1]:
            # Clipped from the start, the pseudo-inputs would get no gradient: frozen.
            raise ValueError(
                f"init_mean={self.init_mean} lies outside input_range={input_range}: the "
                "pseudo-inputs would start clipped and never move. Give an init_mean "
                "inside the range (e.g. the data's mean)."
            )

    def check_array(self, x) -> None:
        """Refuse data outside ``input_range``: the pseudo-inputs, clipped into it, could
        not follow them (and those clipped get no gradient). Called by the model's
        data checks before training."""
        if self.input_range is None or x.size == 0:
            return
        low, high = float(x.min()), float(x.max())
        if low < self.input_range[0] - 1e-6 or high > self.input_range[1] + 1e-6:
            raise ValueError(
                f"The data range [{low:.4g}, {high:.4g}] is not inside the VampPrior's "
                f"input_range {tuple(self.input_range)}: its pseudo-inputs are clipped into "
                "that range and could not take the data's values. Set input_range to the "
                "data's range (or None)."
            )

    def build(self, input_shape=None):
        self.require_latent_dim()
        if self.data_shape is None:
            raise ValueError(
                "VampPrior needs the data shape to size its pseudo-inputs: use it inside a "
                "keras_vae.VAE (which sets it) or pass data_shape=."
            )
        self.pseudo_inputs = self.add_weight(
            shape=(self.num_pseudo_inputs, *self.data_shape),
            initializer=keras.initializers.RandomNormal(self.init_mean, self.init_stddev),
            name="pseudo_inputs",
        )

    def inputs(self) -> tf.Tensor:
        """The pseudo-inputs u_k (clipped into ``input_range`` when set)."""
        u = tf.cast(self.pseudo_inputs, tf.float32)
        if self.input_range is not None:
            u = tf.clip_by_value(u, *self.input_range)
        return u

    def distribution(self, posterior_fn=None):
        if posterior_fn is None:
            raise ValueError(
                "VampPrior is built from the model's posterior: get it with vae.prior(), "
                "which passes the model's encoder and posterior head as posterior_fn."
            )
        components = posterior_fn(self.inputs())
        weights = tf.zeros([self.num_pseudo_inputs], tf.float32)
        return tfd.MixtureSameFamily(tfd.Categorical(logits=weights), components)

    def get_config(self):
        config = super().get_config()
        config.update(
            num_pseudo_inputs=self.num_pseudo_inputs,
            data_shape=None if self.data_shape is None else list(self.data_shape),
            input_range=None if self.input_range is None else list(self.input_range),
            init_mean=self.init_mean,
            init_stddev=self.init_stddev,
        )
        return config
