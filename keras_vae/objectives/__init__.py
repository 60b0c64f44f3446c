"""Training objectives: the base class, the terms they are built from, and the bounds."""
from keras_vae.objectives.budget import (
    DEFAULT_MEMORY_BUDGET,
    MAX_SAMPLES,
    check_sample_budget,
    sample_memory,
)
from keras_vae.objectives.beta_tcvae import BetaTCVAE
from keras_vae.objectives.capacity import CapacityELBO
from keras_vae.objectives.dip_vae import DIPVAE
from keras_vae.objectives.discriminator import Discriminator
from keras_vae.objectives.elbo import ELBO
from keras_vae.objectives.factor_vae import FactorVAE
from keras_vae.objectives.group_terms import GroupTerms
from keras_vae.objectives.iwae import IWAE
from keras_vae.objectives.kl import KL_METHODS, kl_divergence
from keras_vae.objectives.objective import Objective
from keras_vae.objectives.terms import Terms
from keras_vae.objectives.vector_quantization import VQObjective

__all__ = [
    "BetaTCVAE",
    "CapacityELBO",
    "DEFAULT_MEMORY_BUDGET",
    "DIPVAE",
    "Discriminator",
    "ELBO",
    "FactorVAE",
    "GroupTerms",
    "IWAE",
    "KL_METHODS",
    "MAX_SAMPLES",
    "Objective",
    "Terms",
    "VQObjective",
    "check_sample_budget",
    "kl_divergence",
    "sample_memory",
]
