"""Priors p(z)."""
from keras_vae.priors.conditional_gaussian import ConditionalGaussianPrior
from keras_vae.priors.learned_gaussian import LearnedGaussian
from keras_vae.priors.mixture import MixturePrior
from keras_vae.priors.prior import Prior
from keras_vae.priors.standard_normal import StandardNormal
from keras_vae.priors.vamp import VampPrior

__all__ = ["LearnedGaussian", "MixturePrior", "Prior", "StandardNormal", "VampPrior"]
