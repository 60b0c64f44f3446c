"""The VQ-VAE objective: reconstruction, codebook and commitment terms."""
from __future__ import annotations

import tensorflow as tf

from keras_vae.objectives.objective import Objective
from keras_vae.registry import register


@register("objective", "vq")
class VQObjective(Objective):
    """Per-example loss of a VQ-VAE (van den Oord et al. 2017)::

        loss = -log p(x | z_q) + ||sg(z_e) - z_q||^2 + beta ||z_e - sg(z_q)||^2

    summed over the code grid of each example. With an EMA-trained codebook the
    codebook term is reported but left out of the loss (the EMA moves the codes).
    The terms come from ``kv.VQVAE.terms`` (a dict: ``log_px``, ``codebook_loss``,
    ``commitment_loss`` (beta included), ``perplexity``, ``codes_in_use``,
    ``train_codebook``).

    Metrics: ``reconstruction_loss`` (nats per example), ``codebook_loss``,
    ``commitment_loss``, ``perplexity`` (exp of the entropy of each batch's code
    histogram) and ``codes_in_use`` (share of the codebook each batch uses).

    Example:
        >>> import keras_vae as kv
        >>> kv.get("objective", "vq").metric_names[:2]
        ('reconstruction_loss', 'codebook_loss')
    """

    metric_names = ("reconstruction_loss", "codebook_loss", "commitment_loss", "perplexity", "codes_in_use")

    def check_sample_budget(self, *args, **kwargs) -> int:
        """One deterministic pass per example: no latent samples to budget."""
        return 0

    def __call__(self, terms):
        if not isinstance(terms, dict) or "commitment_loss" not in terms:
            raise ValueError(
                "The 'vq' objective scores a VQ-VAE's terms (kv.VQVAE); a model with a continuous "
                f"latent gives {type(terms).__name__}: use 'elbo' or 'iwae' there."
            )
        reconstruction = -terms["log_px"]
        loss = reconstruction + terms["commitment_loss"]
        if terms.get("train_codebook", True):
            loss = loss + terms["codebook_loss"]
        values = {
            "reconstruction_loss": reconstruction,
            "codebook_loss": terms["codebook_loss"],
            "commitment_loss": terms["commitment_loss"],
            "perplexity": terms["perplexity"],
            "codes_in_use": terms["codes_in_use"],
        }
        return tf.cast(loss, tf.float32), values
