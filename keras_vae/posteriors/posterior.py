"""Base class of posterior heads q(z|x)."""
from __future__ import annotations

import keras
import tensorflow as tf

from keras_vae import registry
from keras_vae._latent_layer import LatentSizedLayer


class Posterior(LatentSizedLayer):
    """Maps encoder features to the parameters of q(z|x) and builds the distribution.

    A head owns the last projection because only it knows how many parameters its
    distribution needs. Subclasses define ``param_size`` (numbers per example),
    ``distribution(params)`` (a reparameterized ``tfd.Distribution`` in float32 with
    event shape ``[latent_dim]``) and ``natural_parameters(params)`` (a dict of
    float32 tensors, used by the serving export).

    Two methods have defaults that a posterior overrides when they do not apply:

    * ``point(params)``: the representative latent of q(z|x) that ``encode``,
      ``predict``, ``reconstruct``, the export and the diagnostics use: the mean
      where it exists (TFP has no mean for a non-affine flow, which names another
      point, e.g. the flow applied to its base distribution's mean);
    * ``stopped_distribution(params)``: q with every parameter held constant
      (gradients pass only through the sample), for the doubly reparameterized
      IWAE gradient; the default stops ``params``, enough for a head whose
      distribution owns no weights of its own.

    Args:
        latent_dim: size of z; filled in by the VAE when left ``None``.
    """

    @property
    def param_size(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement param_size().")

    def build(self, input_shape):
        self.require_latent_dim()
        self.flatten = keras.layers.Flatten(dtype=self.dtype_policy)
        self.projection = keras.layers.Dense(self.param_size, dtype=self.dtype_policy)
        self.projection.build(self.flatten.compute_output_shape(input_shape))

    def call(self, features):
        return self.projection(self.flatten(features))

    def distribution(self, params: tf.Tensor):
        raise NotImplementedError(f"{type(self).__name__} must implement distribution().")

    def natural_parameters(self, params: tf.Tensor) -> dict[str, tf.Tensor]:
        raise NotImplementedError(f"{type(self).__name__} must implement natural_parameters().")

    def point(self, params: tf.Tensor) -> tf.Tensor:
        """The representative latent of q(z|x), ``[batch, latent_dim]``: its mean."""
        return self.distribution(params).mean()

    def stopped_distribution(self, params: tf.Tensor):
        """q(z|x) with its parameters held constant (no gradient reaches them)."""
        return self.distribution(tf.stop_gradient(params))


registry.register_base("posterior", Posterior)
