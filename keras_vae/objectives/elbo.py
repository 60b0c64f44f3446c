"""The (β-weighted) evidence lower bound as a training objective."""
from __future__ import annotations

import tensorflow as tf

from keras_vae._arguments import check_number
from keras_vae.objectives.objective import Objective
from keras_vae.registry import register


@register("objective", "elbo")
class ELBO(Objective):
    """Per-example loss ``-(E_q log p(x|z) - beta * max(KL, free_bits))``.

    ``beta = 1`` and ``free_bits = 0`` give the negative ELBO, a bound on
    ``-log p(x)``. ``beta > 1`` is the β-VAE of Higgins et al. (2017); ``beta < 1``
    weakens the KL (as in KL warm-up). ``free_bits`` (nats per example) stops the
    optimizer from pushing the KL below that many nats, a guard against posterior
    collapse (Kingma et al., 2016, applied to the whole latent).

    The KL is analytic where TFP registers ``KL(q || p)`` and the Monte Carlo
    estimate ``log q(z|x) - log p(z)`` otherwise (the VAE's ``kl`` setting). With
    ``num_samples > 1`` the expectations are averaged over that many samples (a
    lower-variance estimate of the same bound, unlike :class:`IWAE`).

    Reports ``elbo`` (with beta = 1), ``reconstruction_loss`` (``-E_q log p(x|z)``)
    and ``kl``.

    Args:
        beta: KL weight, ``>= 0``.
        free_bits: KL floor in nats, ``>= 0``.
        num_samples: latent samples per example, ``>= 1``.

    Example:
        >>> import keras_vae as kv
        >>> kv.objectives.ELBO(beta=4.0).get_config()
        {'beta': 4.0, 'free_bits': 0.0, 'num_samples': 1}
    """

    metric_names = ("elbo", "reconstruction_loss", "kl")

    def __init__(self, beta: float = 1.0, free_bits: float = 0.0, num_samples: int = 1):
        self.beta = check_number(beta, "beta", minimum=0.0)
        self.free_bits = check_number(free_bits, "free_bits", minimum=0.0)
        self.num_samples = int(check_number(num_samples, "num_samples", minimum=1, integer=True))

    def __call__(self, terms):
        reconstruction = terms.reconstruction()
        kl = terms.kl()
        penalized = tf.maximum(kl, self.free_bits) if self.free_bits > 0 else kl
        loss = -(reconstruction - self.beta * penalized)
        return loss, {"elbo": reconstruction - kl, "reconstruction_loss": -reconstruction, "kl": kl}

    def get_config(self) -> dict:
        return {"beta": self.beta, "free_bits": self.free_bits, "num_samples": self.num_samples}
