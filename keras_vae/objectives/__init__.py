"""Training objectives: the base class, the terms they are built from, and the bounds."""
from keras_vae.objectives.elbo import ELBO
from keras_vae.objectives.iwae import IWAE
from keras_vae.objectives.kl import KL_METHODS, kl_divergence
from keras_vae.objectives.objective import Objective
from keras_vae.objectives.terms import Terms

__all__ = ["ELBO", "IWAE", "KL_METHODS", "Objective", "Terms", "kl_divergence"]
