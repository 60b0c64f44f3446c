"""DIP-VAE (Kumar et al., 2018): the ELBO plus a penalty that pushes the covariance
of the aggregate posterior towards the identity."""
from __future__ import annotations

import tensorflow as tf

from keras_vae._arguments import check_choice, check_number
from keras_vae.objectives.objective import Objective
from keras_vae.objectives.terms import _factors
from keras_vae.registry import register

VARIANTS = ("i", "ii")


def _batch_covariance(mean: tf.Tensor) -> tf.Tensor:
    """``Cov[mu(x)]`` over the batch, ``[L, L]`` (normalized by B, as the paper)."""
    centred = mean - tf.reduce_mean(mean, axis=0, keepdims=True)
    return tf.matmul(centred, centred, transpose_a=True) / tf.cast(tf.shape(mean)[0], tf.float32)


@register("objective", "dip_vae")
class DIPVAE(Objective):
    """Per-example loss ``-ELBO + lambda_od sum_{i!=j} C_ij^2 + lambda_d sum_i (C_ii - 1)^2``.

    ``C`` is a batch estimate of the covariance of the aggregate posterior:

    * ``variant="i"`` (DIP-VAE-I): ``C = Cov_batch[mu(x)]``, the covariance of the
      posterior means;
    * ``variant="ii"`` (DIP-VAE-II): ``C = E_batch[Sigma(x)] + Cov_batch[mu(x)]``,
      the whole covariance of ``q(z)``.

    The penalty is one number per batch, added to every example's negative ELBO
    (so the batch mean is the paper's loss). The paper's settings: DIP-VAE-I
    ``lambda_d = 10 lambda_od``, DIP-VAE-II ``lambda_d = lambda_od``. The posterior
    must factorize over the latent dimensions (its mean and variance per dimension).

    Reports ``elbo``, ``reconstruction_loss``, ``kl``, ``off_diagonal`` (``sum_{i!=j}
    C_ij^2``) and ``diagonal`` (``sum_i (C_ii - 1)^2``).

    Args:
        variant: ``"i"`` or ``"ii"``.
        lambda_od: weight of the off-diagonal penalty, ``>= 0``.
        lambda_d: weight of the diagonal penalty, ``>= 0``.
        num_samples: latent samples per example for the ELBO (1 to 100).

    Example:
        >>> import keras_vae as kv
        >>> kv.get("objective", {"name": "dip_vae", "variant": "ii"}).get_config()
        {'variant': 'ii', 'lambda_od': 10.0, 'lambda_d': 100.0, 'num_samples': 1}
    """

    metric_names = ("elbo", "reconstruction_loss", "kl", "off_diagonal", "diagonal")

    def __init__(self, variant: str = "i", lambda_od: float = 10.0, lambda_d: float = 100.0, num_samples: int = 1):
        self.variant = check_choice(variant, "variant", VARIANTS)
        self.lambda_od = check_number(lambda_od, "lambda_od", minimum=0.0)
        self.lambda_d = check_number(lambda_d, "lambda_d", minimum=0.0)
        self.num_samples = int(check_number(num_samples, "DIPVAE num_samples", minimum=1, maximum=100, integer=True))

    def covariance(self, q) -> tf.Tensor:
        """The batch estimate ``C`` of ``Cov[q(z)]`` for this variant, ``[L, L]``."""
        factors = _factors(q, "posterior")
        mean = tf.cast(factors.mean(), tf.float32)
        covariance = _batch_covariance(mean)
        if self.variant == "ii":
            covariance += tf.linalg.diag(tf.reduce_mean(tf.cast(factors.variance(), tf.float32), axis=0))
        return covariance

    def __call__(self, terms):
        covariance = self.covariance(terms.q)
        diagonal = tf.linalg.diag_part(covariance)
        off = tf.reduce_sum(tf.square(covariance)) - tf.reduce_sum(tf.square(diagonal))
        on = tf.reduce_sum(tf.square(diagonal - 1.0))
        reconstruction, kl = terms.reconstruction(), terms.kl()
        elbo = reconstruction - kl
        ones = tf.ones_like(elbo)
        return -elbo + self.lambda_od * off + self.lambda_d * on, {
            "elbo": elbo,
            "reconstruction_loss": -reconstruction,
            "kl": kl,
            "off_diagonal": off * ones,
            "diagonal": on * ones,
        }

    def get_config(self) -> dict:
        return {"variant": self.variant, "lambda_od": self.lambda_od, "lambda_d": self.lambda_d, "num_samples": self.num_samples}
