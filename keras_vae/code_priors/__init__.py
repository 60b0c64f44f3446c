"""Priors over grids of code indices (the discrete latents of ``kv.VQVAE``), registered
under the kind ``"code_prior"`` so a transformer prior can be a plugin."""
from keras_vae.code_priors.code_prior import CodePrior
from keras_vae.code_priors.pixelcnn import PixelCNNPrior

__all__ = ["CodePrior", "PixelCNNPrior"]
