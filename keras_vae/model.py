"""The import path of :class:`~keras_vae.VAE` since the first release.

The model classes live in :mod:`keras_vae.models` (the shared core in
``models/base.py``, the VAE in ``models/vae.py``); this module re-exports the VAE
so ``from keras_vae.model import VAE`` keeps working.
"""
from keras_vae.models.vae import VAE

__all__ = ["VAE"]
