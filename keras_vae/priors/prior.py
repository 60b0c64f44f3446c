"""Base class of priors p(z)."""
from __future__ import annotations

from keras_vae import registry
from keras_vae._latent_layer import LatentSizedLayer


class Prior(LatentSizedLayer):
    """A prior over z. It is a layer so that learned priors can own weights.

    Subclasses implement ``distribution(posterior_fn=None)``, returning a
    ``tfd.Distribution`` in float32 with event shape ``[latent_dim]`` and empty
    batch shape. The model passes ``posterior_fn``, a function mapping a batch of
    inputs to q(z|x) through the model's own encoder and posterior head, so a prior
    built from the posterior (the VampPrior) does not store a second copy of the
    encoder. The model also calls ``configure(latent_dim=..., data_shape=...)``
    before ``build``; a prior that needs the data shape keeps it from there.

    Args:
        latent_dim: size of z; filled in by the VAE when left ``None``.
    """

    def build(self, input_shape=None):
        self.require_latent_dim()

    def configure(self, *, latent_dim: int, data_shape=None, **_) -> None:
        """Set the latent size (and, for priors that use it, the data shape)."""
        super().configure(latent_dim=latent_dim)
        if data_shape is not None:
            self.data_shape = tuple(int(d) for d in data_shape)

    def call(self, z):
        """``log p(z)`` for a batch of latents (priors that need the posterior are
        evaluated through ``VAE.prior()`` instead)."""
        return self.distribution().log_prob(z)

    def distribution(self, posterior_fn=None):
        raise NotImplementedError(f"{type(self).__name__} must implement distribution(posterior_fn=None).")


registry.register_base("prior", Prior)
