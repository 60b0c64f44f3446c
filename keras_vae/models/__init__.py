"""keras_vae's model classes on one shared core.

- :class:`LatentVariableModel` (``base.py``): what every model needs — input checks,
  seeds, train / test steps over ``terms()`` and the objective, ``fit`` / ``evaluate``
  / ``predict``, atomic save, export, config.
- :class:`VAE` (``vae.py``): encoder, posterior, decoder, likelihood and prior.
- :class:`HierarchicalVAE` (``hierarchical.py``): latent groups z_1 .. z_L, bottom-up, ladder or
  residual inference (its pieces in ``_hierarchy/``).
- :class:`VQVAE` (``vq_vae.py``): discrete latents (a grid of code indices), a
  quantizer and a PixelCNN prior over codes.
- :class:`SemiSupervisedVAE` (``semi_supervised.py``): Kingma et al.'s M2, labeled and
  unlabeled examples together (labels -1 where unknown), a classifier q(y | x).
- :class:`TrainingDivergedError`: ``fit`` stops with it when the loss or a weight
  turns NaN / inf (``_finite.py``); ``save`` and ``export`` refuse such weights.
"""
from keras_vae.models._finite import TrainingDivergedError
from keras_vae.models.base import LatentVariableModel
from keras_vae.models.hierarchical import HierarchicalVAE
from keras_vae.models.vae import VAE
from keras_vae.models.semi_supervised import SemiSupervisedVAE
from keras_vae.models.vq_vae import VQVAE

__all__ = ["HierarchicalVAE", "LatentVariableModel", "SemiSupervisedVAE", "TrainingDivergedError", "VAE", "VQVAE"]
