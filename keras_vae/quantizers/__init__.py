"""Quantizers: continuous vectors -> nearest codes of a learned codebook (VQ-VAE)."""
from keras_vae.quantizers.vector_quantizer import VectorQuantizer

__all__ = ["VectorQuantizer"]
