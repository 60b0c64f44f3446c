"""Bernoulli likelihood for binary or [0, 1] data."""
from __future__ import annotations

import tensorflow as tf
import tensorflow_probability as tfp
from tensorflow_probability.python.internal.implementation_selection import is_xla

from keras_vae.likelihoods.likelihood import Likelihood
from keras_vae.registry import register

tfd = tfp.distributions


class _FusedBernoulli(tfd.Bernoulli):
    """``tfd.Bernoulli`` whose ``log_prob`` is ``x l - softplus(l)``.

    The value is ``x log p + (1 - x) log(1 - p)`` with ``p = sigmoid(l)``, and the
    gradient is ``x - sigmoid(l)`` everywhere. TFP computes it as two softplus and
    two ``multiply_no_nan`` passes, which made it the most expensive op of a
    784-400-20 MLP training step. The form depends on the compiler, each the
    fastest measured there (``benchmarks/log_likelihood.py``):

    * the plain graph: TF's one-pass ``softplus`` kernel;
    * XLA (the test TFP makes to pick its own XLA implementations):
      ``x l - max(l, 0) - log(1 + exp(-|l|))``, fused into one pass, where XLA's
      ``softplus`` costs a ``log1p``, ~35 % more. ``exp(-|l|)`` lies in (0, 1], so
      the form is stable; where it is below float32 resolution beside 1 the term
      dropped is under 6e-8 nats. ``where`` rather than ``relu`` / ``abs`` keeps
      the gradient ``x - 1/2`` at ``l = 0``.

    Everything else (sampling, mean, KL registrations) is TFP's.
    """

    def _log_prob(self, event):
        logits = tf.convert_to_tensor(self.logits)
        event = tf.cast(event, logits.dtype)
        if not is_xla():
            return event * logits - tf.math.softplus(logits)
        positive = logits >= 0
        relu = tf.where(positive, logits, tf.zeros_like(logits))
        minus_abs = tf.where(positive, -logits, logits)
        return event * logits - relu - tf.math.log(1.0 + tf.exp(minus_abs))


@register("likelihood", "bernoulli")
class Bernoulli(Likelihood):
    """p(x|z) = prod_i Bernoulli(x_i; sigmoid(logit_i)).

    Parameterized by logits, so ``log p`` is the numerically stable sigmoid
    cross-entropy. Grey values in [0, 1] are accepted (the usual, unnormalized
    "soft label" use); values outside [0, 1] are rejected.

    Example:
        >>> import numpy as np, keras_vae as kv
        >>> lik = kv.likelihoods.Bernoulli(data_shape=(4,))
        >>> p = lik.distribution(lik(np.zeros((2, 8), "float32")))
        >>> p.event_shape
        TensorShape([4])
    """

    num_params = 1
    support = (0.0, 1.0)
    discrete = True  # a probability mass on binary data (grey values are the soft-label use)

    def elementwise(self, params):
        return _FusedBernoulli(logits=params[..., 0], dtype=params.dtype)
