"""Likelihood heads: decoder features -> p(x|z).

Which one fits your data (see the README, "Your data -> which likelihood"):

* binary {0, 1}: ``Bernoulli``;
* grey values in [0, 1]: ``ContinuousBernoulli``; strictly inside (0, 1): ``Beta``;
* 8-bit integers 0..255: ``LogisticMixture`` (or ``Categorical``), in bits/dim;
* counts: ``Poisson``, ``NegativeBinomial``, ``ZeroInflatedNegativeBinomial``;
* real values: ``Gaussian`` (learned scale by default).
"""
from keras_vae.likelihoods.bernoulli import Bernoulli
from keras_vae.likelihoods.beta import Beta
from keras_vae.likelihoods.categorical import Categorical
from keras_vae.likelihoods.continuous_bernoulli import ContinuousBernoulli
from keras_vae.likelihoods.gaussian import Gaussian
from keras_vae.likelihoods.likelihood import Likelihood
from keras_vae.likelihoods.logistic_mixture import LogisticMixture
from keras_vae.likelihoods.negative_binomial import NegativeBinomial
from keras_vae.likelihoods.poisson import Poisson
from keras_vae.likelihoods.zero_inflated_negative_binomial import ZeroInflatedNegativeBinomial

__all__ = [
    "Bernoulli",
    "Beta",
    "Categorical",
    "ContinuousBernoulli",
    "Gaussian",
    "Likelihood",
    "LogisticMixture",
    "NegativeBinomial",
    "Poisson",
    "ZeroInflatedNegativeBinomial",
]
