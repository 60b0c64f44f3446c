"""FactorVAE (Kim & Mnih, 2018): the ELBO plus gamma times a discriminator's
estimate of the total correlation of q(z)."""
from __future__ import annotations

from typing import Any, Sequence

import keras
import tensorflow as tf

from keras_vae._arguments import check_number
from keras_vae._random import fresh_seed
from keras_vae.objectives.discriminator import Discriminator
from keras_vae.objectives.objective import Objective
from keras_vae.registry import register

#: Kim & Mnih's discriminator optimizer.
DEFAULT_DISCRIMINATOR_OPTIMIZER = {
    "class_name": "Adam",
    "config": {"learning_rate": 1e-4, "beta_1": 0.5, "beta_2": 0.9},
}


def permute_dims(z: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Each latent dimension shuffled across the batch on its own (``z [K, B, L]``):
    samples from the product of q(z)'s marginals. One ``argsort`` of uniform noise,
    no Python loop."""
    k, b, latent = tf.shape(z)[0], tf.shape(z)[1], tf.shape(z)[2]
    order = tf.argsort(tf.random.stateless_uniform([k, latent, b], seed=seed), axis=-1)
    columns = tf.transpose(z, [0, 2, 1])  # [K, L, B]
    return tf.transpose(tf.gather(columns, order, batch_dims=2), [0, 2, 1])


@register("objective", "factor_vae")
class FactorVAE(Objective):
    """Per-example loss ``-ELBO + gamma * TC_hat``, with ``TC_hat = D(z)``, the
    discriminator's logit.

    The discriminator ``D`` learns to tell codes ``z ~ q(z)`` (the batch's samples,
    label 1) from codes of the product of the marginals (each dimension permuted
    across the batch, label 0); at its optimum ``D(z) = log q(z) / prod_j q(z_j)``,
    so its logit estimates the total correlation. ``D`` is an
    :class:`~keras_vae.objectives.discriminator.Discriminator` owned by this
    objective and declared through ``auxiliary_networks``: the model tracks it, so
    its weights and its optimizer's state are in the ``.keras`` file, and every
    training step updates the VAE (its own optimizer, this loss) and then ``D``
    (its own optimizer, the logistic loss on the same batch's stopped codes,
    permuted with noise that moves with the step, so a resumed run is identical).

    Reports ``elbo``, ``reconstruction_loss``, ``kl``, ``total_correlation`` (the
    logit) and ``discriminator_loss``.

    Args:
        gamma: weight of the TC estimate, ``>= 0`` (Kim & Mnih: 10-100; 35 on dSprites).
        discriminator_units: hidden widths of D (paper: six of 1000).
        discriminator_optimizer: D's optimizer: a name, config dict or
            ``keras.optimizers.Optimizer`` (paper: Adam, lr 1e-4, betas 0.5 / 0.9).
        num_samples: latent samples per example (1 to 100).

    Example:
        >>> import keras_vae as kv
        >>> objective = kv.objectives.FactorVAE(gamma=35.0, discriminator_units=(64, 64))
        >>> sorted(objective.auxiliary_networks())
        ['discriminator']
    """

    metric_names = ("elbo", "reconstruction_loss", "kl", "total_correlation", "discriminator_loss")

    def __init__(
        self,
        gamma: float = 35.0,
        discriminator_units: Sequence[int] = (1000,) * 6,
        discriminator_optimizer: Any = None,
        num_samples: int = 1,
    ):
        self.gamma = check_number(gamma, "gamma", minimum=0.0)
        self.num_samples = int(check_number(num_samples, "FactorVAE num_samples", minimum=1, maximum=100, integer=True))
        if isinstance(discriminator_units, (str, bytes)) or not hasattr(discriminator_units, "__iter__"):
            raise ValueError(f"discriminator_units must be a list of widths, got {discriminator_units!r}.")
        self.discriminator = Discriminator(units=discriminator_units, name="factor_vae_discriminator")
        if discriminator_optimizer is None:
            discriminator_optimizer = DEFAULT_DISCRIMINATOR_OPTIMIZER
        if isinstance(discriminator_optimizer, keras.optimizers.Optimizer):
            discriminator_optimizer = keras.optimizers.serialize(discriminator_optimizer)
        self.discriminator_optimizer = keras.optimizers.get(discriminator_optimizer)
        self._optimizer_config = keras.optimizers.serialize(self.discriminator_optimizer)

    # ------------------------------------------------------- auxiliary networks
    def auxiliary_networks(self) -> dict:
        return {"discriminator": self.discriminator}

    def auxiliary_optimizers(self) -> dict:
        return {"discriminator": self.discriminator_optimizer}

    def build_auxiliary(self, latent_dim, data_shape) -> None:
        if latent_dim is None:
            raise ValueError("factor_vae needs a model with a latent_dim (a flat latent vector).")
        if not self.discriminator.built:
            self.discriminator.build((None, int(latent_dim)))

    def _outputs(self, terms) -> dict:
        def compute():
            seed = terms.objective_seed if terms.objective_seed is not None else fresh_seed()
            z = terms.z
            stopped = tf.stop_gradient(z)
            joint = self.discriminator(z)  # [K, B]: gradient to the encoder (the VAE's TC term)
            d_joint = self.discriminator(stopped)
            d_product = self.discriminator(permute_dims(stopped, seed))
            # Logistic loss: codes of q(z) are 1, permuted codes 0.
            d_loss = tf.nn.softplus(-d_joint) + tf.nn.softplus(d_product)
            return {"tc": tf.reduce_mean(joint, axis=0), "d_loss": tf.reduce_mean(d_loss, axis=0)}

        return terms.cached("factor_vae", compute)

    def auxiliary_losses(self, terms) -> dict:
        return {"discriminator": tf.reduce_mean(self._outputs(terms)["d_loss"])}

    def __call__(self, terms):
        outputs = self._outputs(terms)
        reconstruction, kl = terms.reconstruction(), terms.kl()
        elbo = reconstruction - kl
        return -elbo + self.gamma * outputs["tc"], {
            "elbo": elbo,
            "reconstruction_loss": -reconstruction,
            "kl": kl,
            "total_correlation": outputs["tc"],
            "discriminator_loss": outputs["d_loss"],
        }

    def get_config(self) -> dict:
        return {
            "gamma": self.gamma,
            "discriminator_units": list(self.discriminator.units),
            "discriminator_optimizer": self._optimizer_config,
            "num_samples": self.num_samples,
        }
