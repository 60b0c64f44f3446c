"""Posterior heads: encoder features -> q(z|x)."""
from keras_vae.posteriors.diagonal_gaussian import DiagonalGaussianPosterior
from keras_vae.posteriors.full_gaussian import FullGaussianPosterior
from keras_vae.posteriors.iaf import IAFPosterior
from keras_vae.posteriors.made import MADE
from keras_vae.posteriors.posterior import Posterior

__all__ = ["DiagonalGaussianPosterior", "FullGaussianPosterior", "IAFPosterior", "MADE", "Posterior"]
