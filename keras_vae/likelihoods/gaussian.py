"""Gaussian likelihood for real-valued data."""
from __future__ import annotations

import math
import numbers

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from keras_vae._arguments import check_number
from keras_vae.likelihoods.likelihood import Likelihood
from keras_vae.registry import register

tfd = tfp.distributions

_LEARNED = ("shared", "per_feature", "predicted")


@register("likelihood", "gaussian")
class Gaussian(Likelihood):
    """p(x|z) = prod_i N(x_i; mu_i(z), sigma_i^2).

    By default sigma is learned: one scale shared by all features, trained with the
    rest of the model (the "calibrated decoder" of Rybkin, Daniilidis & Levine,
    2021). A fixed sigma (the common ``sigma = 1``) makes the ELBO in nats wrong for
    data whose noise is not 1 and silently reweights reconstruction against KL;
    with a learned sigma both are right. The default used to be a fixed
    ``scale=1.0``; pass ``scale=1.0`` for the old behaviour (saved files store
    their scale, so files saved before the change load unchanged).

    Args:
        scale: how sigma is set:

            * ``"shared"`` (default): one learned sigma for all features;
            * a positive number: fixed sigma, e.g. ``scale=1.0``;
            * ``"per_feature"``: one learned sigma per data element;
            * ``"predicted"``: the decoder predicts sigma per example and element.
        min_scale: lower bound on learned or predicted sigma.
        data_shape: the shape of one example (filled in by the VAE).

    Example:
        >>> import numpy as np, keras_vae as kv
        >>> lik = kv.likelihoods.Gaussian(scale="per_feature", data_shape=(3,))
        >>> p = lik.distribution(lik(np.zeros((2, 8), "float32")))
        >>> p.event_shape
        TensorShape([3])
        >>> kv.likelihoods.Gaussian().scale          # learned, one shared sigma
        'shared'
    """

    def __init__(self, scale: float | str = "shared", min_scale: float = 1e-3, data_shape=None, **kwargs):
        super().__init__(data_shape=data_shape, **kwargs)
        if isinstance(scale, str):
            if scale not in _LEARNED:
                raise ValueError(
                    f"Gaussian scale must be a positive number or one of {_LEARNED}, "
                    f"got {scale!r}."
                )
        elif (
            isinstance(scale, bool)
            or not isinstance(scale, numbers.Real)
            or not (math.isfinite(scale) and scale > 0)
        ):
            raise ValueError(f"Gaussian scale must be positive and finite, got {scale!r}.")
        else:
            scale = float(scale)
        self.scale = scale
        self.min_scale = check_number(
            min_scale, "Gaussian min_scale", minimum=0.0, exclusive_minimum=True
        )
        self.num_params = 2 if scale == "predicted" else 1

    def build_scale_weights(self):
        if self.scale in ("shared", "per_feature"):
            shape = () if self.scale == "shared" else tuple(self.data_shape)
            # softplus(0.5413) == 1.0: start at unit scale.
            self.raw_scale = self.add_weight(
                name="raw_scale",
                shape=shape,
                initializer=keras.initializers.Constant(0.5413),
                dtype="float32",
            )

    def parameters_for_mean(self, mean):
        """``loc`` at ``mean``; a predicted scale's raw parameter at 0, where a zero
        bias starts it (the learned and fixed scales are not in the projection).

        Example:
            >>> import numpy as np, keras_vae as kv
            >>> kv.likelihoods.Gaussian(data_shape=(2,)).parameters_for_mean(np.array([5.0, -1.0]))[:, 0]
            array([ 5., -1.], dtype=float32)
        """
        loc = np.asarray(mean, np.float32)[..., None]
        if self.num_params == 1:
            return loc
        return np.concatenate([loc, np.zeros_like(loc)], axis=-1)

    def elementwise(self, params):
        loc = params[..., 0]
        if self.scale == "predicted":
            scale = tf.math.softplus(params[..., 1]) + self.min_scale
        elif isinstance(self.scale, str):
            raw = tf.cast(self.raw_scale, tf.float32)
            scale = tf.broadcast_to(tf.math.softplus(raw) + self.min_scale, tf.shape(loc))
        else:
            scale = tf.fill(tf.shape(loc), self.scale)
        return tfd.Normal(loc=loc, scale=scale)

    def get_config(self):
        config = super().get_config()
        config.update(scale=self.scale, min_scale=self.min_scale)
        return config

