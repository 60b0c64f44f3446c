"""Full-covariance Gaussian posterior through a Cholesky factor."""
from __future__ import annotations

import tensorflow as tf
import tensorflow_probability as tfp

from keras_vae._arguments import check_number
from keras_vae.posteriors.posterior import Posterior
from keras_vae.registry import register

tfd = tfp.distributions
tfb = tfp.bijectors


@register("posterior", "full_gaussian")
class FullGaussianPosterior(Posterior):
    """q(z|x) = N(mu(x), L(x) L(x)^T) with a lower-triangular Cholesky factor L.

    The head predicts ``latent_dim`` means and ``latent_dim (latent_dim + 1) / 2``
    entries of L; ``tfp.math.fill_triangular`` fills the triangle and the diagonal
    is kept positive (softplus plus ``min_scale``), as ``tfb.FillScaleTriL`` does. Unlike the diagonal posterior it
    can represent correlated posteriors, so it removes the approximation gap of a
    model whose true posterior is Gaussian (the linear-Gaussian model). The KL to a
    Gaussian prior stays analytic.

    Args:
        latent_dim: size of z (filled in by the VAE when ``None``).
        min_scale: lower bound added to the diagonal of L.

    Example:
        >>> import numpy as np, keras_vae as kv
        >>> head = kv.posteriors.FullGaussianPosterior(latent_dim=3)
        >>> q = head.distribution(head(np.zeros((2, 5), "float32")))
        >>> q.event_shape, q.batch_shape, head.param_size
        (TensorShape([3]), TensorShape([2]), 9)
    """

    def __init__(self, latent_dim: int | None = None, min_scale: float = 1e-4, **kwargs):
        super().__init__(latent_dim=latent_dim, **kwargs)
        self.min_scale = check_number(min_scale, "min_scale", minimum=0.0, exclusive_minimum=True)

    @property
    def param_size(self) -> int:
        latent = self.require_latent_dim()
        return latent + latent * (latent + 1) // 2

    def _loc_tril(self, params):
        params = tf.cast(params, tf.float32)
        loc, raw = params[..., : self.latent_dim], params[..., self.latent_dim :]
        # FillScaleTriL's diagonal transform has a gradient XLA cannot compile (a
        # zeros op of dynamic shape), so the positive diagonal is made with a mask.
        tril = tfp.math.fill_triangular(raw)
        eye = tf.eye(self.latent_dim, dtype=tril.dtype)
        diagonal = tf.math.softplus(tf.linalg.diag_part(tril)) + self.min_scale
        return loc, tril * (1.0 - eye) + eye * diagonal[..., None, :]

    def distribution(self, params):
        loc, tril = self._loc_tril(params)
        return tfd.MultivariateNormalTriL(loc=loc, scale_tril=tril)

    def natural_parameters(self, params):
        loc, tril = self._loc_tril(params)
        return {"mean": loc, "scale_tril": tril}

    def get_config(self):
        config = super().get_config()
        config.update(min_scale=self.min_scale)
        return config
