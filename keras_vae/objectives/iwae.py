"""The importance-weighted bound of Burda et al. (2015) as a training objective."""
from __future__ import annotations

import tensorflow as tf

from keras_vae._arguments import check_choice, check_number
from keras_vae.objectives._log_weights import importance_bound, log_weights
from keras_vae.objectives.budget import DEFAULT_MEMORY_BUDGET, MAX_SAMPLES
from keras_vae.objectives.objective import Objective
from keras_vae.registry import register

GRADIENTS = ("standard", "dreg")


@register("objective", "iwae")
class IWAE(Objective):
    """Per-example loss ``-log (1/K) sum_k w_k``, ``w_k = p(x, z_k) / q(z_k|x)``.

    The importance-weighted autoencoder bound (Burda et al., 2015) is a lower bound
    on ``log p(x)`` that tightens as K grows; K = 1 is the ELBO with a Monte Carlo
    KL. The K samples are drawn and decoded in one batched pass.

    ``gradient="dreg"`` uses the doubly reparameterized gradient of Tucker et al.
    (2018) for the posterior: with normalized weights ``w~_k``, the encoder gets
    ``sum_k w~_k^2 d log w_k / dz_k dz_k/dphi`` (the score-function term, whose
    variance grows with K, is dropped because its expectation is zero), the decoder
    and prior the usual ``sum_k w~_k d log w_k / dtheta``. The loss value is the
    same; only the gradient estimator changes.

    Reports ``iwae_bound`` (the bound itself), and the K-sample average ``elbo``,
    ``reconstruction_loss`` and Monte Carlo ``kl``.

    Memory: every training step decodes ``K * batch`` samples at once (twice with
    DReG). ``num_samples`` above 100,000 is refused here; below it,
    :meth:`check_sample_budget` (called by the model when training starts, when the
    batch size is known) refuses a K whose step would hold more than
    ``memory_budget`` bytes of sample tensors, with the estimate in the message
    (:func:`keras_vae.objectives.budget.sample_memory`).

    Args:
        num_samples: K, importance samples per example (1 to 100,000).
        gradient: ``"standard"`` or ``"dreg"``.
        memory_budget: bytes one step's sample tensors may take (default 2 GiB,
            ``2**31``); ``None`` turns the check off.

    Example:
        >>> import keras_vae as kv
        >>> kv.objectives.IWAE(num_samples=5, gradient="dreg").get_config()
        {'num_samples': 5, 'gradient': 'dreg', 'memory_budget': 2147483648}
    """

    metric_names = ("iwae_bound", "elbo", "reconstruction_loss", "kl")

    def __init__(
        self,
        num_samples: int = 5,
        gradient: str = "standard",
        memory_budget: int | None = DEFAULT_MEMORY_BUDGET,
    ):
        self.num_samples = int(
            check_number(num_samples, "IWAE num_samples", minimum=1, maximum=MAX_SAMPLES, integer=True)
        )
        self.gradient = check_choice(gradient, "gradient", GRADIENTS)
        if memory_budget is not None:
            memory_budget = int(check_number(memory_budget, "memory_budget", minimum=0, exclusive_minimum=True))
        self.memory_budget = memory_budget
        self.decoder_passes = 2 if self.gradient == "dreg" else 1

    def __call__(self, terms):
        log_w = terms.log_weights()
        bound = importance_bound(log_w)
        if self.gradient == "dreg":
            loss = tf.stop_gradient(-bound) + self._dreg_surrogate(terms, log_w)
        else:
            loss = -bound
        kl = tf.reduce_mean(terms.log_qz - terms.log_pz, axis=0)
        reconstruction = terms.reconstruction()
        return loss, {
            "iwae_bound": bound,
            "elbo": reconstruction - kl,
            "reconstruction_loss": -reconstruction,
            "kl": kl,
        }

    @staticmethod
    def _dreg_surrogate(terms, log_w):
        """Zero-valued surrogate whose gradient is the DReG estimator.

        ``stopped_log_qz`` holds q's parameters fixed, so the posterior's weights
        are reached only through z; the terms at a stopped z reach only the decoder
        and prior. The first sum gives the posterior ``w~^2`` weights; the decoder /
        prior get ``w~`` weights from the second, and the third cancels the ``w~^2``
        decoder / prior gradient of the first. This costs one more decoder pass.
        """
        log_w_q_fixed = log_weights(terms.log_px, terms.log_pz, terms.stopped_log_qz())
        log_w_z_fixed = terms.log_weights_at_stopped_z()
        normalized = tf.stop_gradient(tf.nn.softmax(log_w, axis=0))
        surrogate = tf.reduce_sum(
            normalized**2 * log_w_q_fixed + (normalized - normalized**2) * log_w_z_fixed, axis=0
        )
        return -(surrogate - tf.stop_gradient(surrogate))

    def get_config(self) -> dict:
        return {"num_samples": self.num_samples, "gradient": self.gradient, "memory_budget": self.memory_budget}
