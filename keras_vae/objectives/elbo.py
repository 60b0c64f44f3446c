"""The (β-weighted) evidence lower bound as a training objective, with free bits."""
from __future__ import annotations

import tensorflow as tf

from keras_vae._arguments import check_choice, check_number
from keras_vae.objectives.budget import MAX_SAMPLES
from keras_vae.objectives.objective import Objective
from keras_vae.registry import register

FREE_BITS_MODES = ("total", "per_dimension", "per_group")


@register("objective", "elbo")
class ELBO(Objective):
    """Per-example loss ``-(E_q log p(x|z) - beta * R)``, ``R`` the KL term below.

    ``beta = 1`` and ``free_bits = 0`` give the negative ELBO, a bound on
    ``-log p(x)``, with ``R = KL(q(z|x) || p(z))``. ``beta > 1`` is the β-VAE of
    Higgins et al. (2017); ``beta < 1`` weakens the KL (as in KL warm-up).

    ``free_bits = lambda > 0`` stops the optimizer from pushing the KL below
    ``lambda`` nats, a guard against posterior collapse (Kingma et al., 2016):

    * ``free_bits_mode="total"`` (whole latent, per example)::

          R = max(KL, lambda)

      so an example whose KL is below ``lambda`` gets no KL gradient at all.
    * ``free_bits_mode="per_dimension"`` (the paper's version, one group per latent
      dimension i; ``lambda`` in nats per dimension)::

          batch loss = -mean_b E_q log p(x_b|z) + beta * sum_i max(mean_b KL_bi, lambda)

      with ``KL_bi = KL(q(z_i|x_b) || p(z_i))`` and ``mean_b`` the (unweighted)
      average over the batch: a dimension whose batch-average KL is below
      ``lambda`` gets no KL gradient. As a per-example loss (the model averages
      it), ``R_b = sum_i (KL_bi if mean_b KL_bi > lambda else lambda)``, whose batch
      mean is the term above. It needs a posterior and a prior that factorize
      over the dimensions (the diagonal Gaussian, the standard normal or learned
      Gaussian prior; :meth:`Terms.kl_per_dimension`); anything else is a
      ``ValueError`` when the objective first runs.

    * ``free_bits_mode="per_group"`` (a hierarchical model: one floor per latent
      group l, as the Ladder VAE and NVAE use it; ``lambda`` in nats per group)::

          R_b = sum_l (KL_bl if mean_b KL_bl > lambda else lambda)

      with ``KL_bl`` group l's KL against its top-down prior
      (:meth:`Terms.kl_per_group`). A one-group model has one group: the floor of
      ``"total"`` applied to the batch average.

    The reported ``kl`` is always the KL itself; only the loss is floored.

    The KL is analytic where TFP registers ``KL(q || p)`` and the Monte Carlo
    estimate ``log q(z|x) - log p(z)`` otherwise (the VAE's ``kl`` setting). With
    ``num_samples > 1`` the expectations are averaged over that many samples (a
    lower-variance estimate of the same bound, unlike :class:`IWAE`).

    Reports ``elbo`` (with beta = 1), ``reconstruction_loss`` (``-E_q log p(x|z)``)
    and ``kl``.

    Args:
        beta: KL weight, ``>= 0``.
        free_bits: KL floor ``lambda`` in nats (per example, or per dimension),
            ``>= 0``.
        num_samples: latent samples per example, 1 to 100,000 (see
            :meth:`Objective.check_sample_budget` for the memory they take).
        free_bits_mode: ``"total"``, ``"per_dimension"`` or ``"per_group"``.

    Example:
        >>> import keras_vae as kv
        >>> kv.objectives.ELBO(beta=4.0).get_config()
        {'beta': 4.0, 'free_bits': 0.0, 'num_samples': 1, 'free_bits_mode': 'total'}
        >>> kv.objectives.ELBO(free_bits=0.25, free_bits_mode="per_dimension").free_bits_mode
        'per_dimension'
    """

    metric_names = ("elbo", "reconstruction_loss", "kl")

    def __init__(
        self,
        beta: float = 1.0,
        free_bits: float = 0.0,
        num_samples: int = 1,
        free_bits_mode: str = "total",
    ):
        self.beta = check_number(beta, "beta", minimum=0.0)
        self.free_bits = check_number(free_bits, "free_bits", minimum=0.0)
        self.num_samples = int(
            check_number(num_samples, "ELBO num_samples", minimum=1, maximum=MAX_SAMPLES, integer=True)
        )
        self.free_bits_mode = check_choice(free_bits_mode, "free_bits_mode", FREE_BITS_MODES)

    def kl_term(self, terms) -> tf.Tensor:
        """``R``, the per-example KL term the loss weights by ``beta`` (``[B]``):
        the KL itself, or its free-bits floor (see the class docstring)."""
        if self.free_bits <= 0:
            return terms.kl()
        if self.free_bits_mode == "total":
            return tf.maximum(terms.kl(), self.free_bits)
        if self.free_bits_mode == "per_group":
            per_group = terms.kl_per_group()  # [B, groups]
            active = tf.reduce_mean(per_group, axis=0) > self.free_bits
            return tf.reduce_sum(tf.where(active, per_group, self.free_bits), axis=-1)
        per_dimension = terms.kl_per_dimension()  # [B, L]
        active = tf.reduce_mean(per_dimension, axis=0) > self.free_bits  # [L], the batch average
        return tf.reduce_sum(tf.where(active, per_dimension, self.free_bits), axis=-1)

    def __call__(self, terms):
        reconstruction = terms.reconstruction()
        kl = terms.kl()
        loss = -(reconstruction - self.beta * self.kl_term(terms))
        return loss, {"elbo": reconstruction - kl, "reconstruction_loss": -reconstruction, "kl": kl}

    def get_config(self) -> dict:
        return {
            "beta": self.beta,
            "free_bits": self.free_bits,
            "num_samples": self.num_samples,
            "free_bits_mode": self.free_bits_mode,
        }
