"""Bernoulli likelihood for binary or [0, 1] data."""
from __future__ import annotations

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
from tensorflow_probability.python.internal.implementation_selection import is_xla

from keras_vae.likelihoods.likelihood import Likelihood, row_sum
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
      ``softplus`` costs a ``log1p`` more. ``exp(-|l|)`` lies in (0, 1], so
      the form is stable; where it is below float32 resolution beside 1 the term
      dropped is under 6e-8 nats. ``where`` rather than ``relu`` / ``abs`` keeps
      the gradient ``x - 1/2`` at ``l = 0``.

    Under XLA, ``Likelihood.log_prob`` sums the densities over the data through
    ``summed_log_prob``, which takes one ``log`` per product of up to
    ``_FACTORS_PER_LOG`` factors ``1 + exp(-|l|)`` rather than one per element.

    Everything else (sampling, mean, KL registrations) is TFP's.
    """

    def _log_prob(self, event):
        logits = tf.convert_to_tensor(self.logits)
        event = tf.cast(event, logits.dtype)
        if not is_xla():
            return event * logits - tf.math.softplus(logits)
        return _linear(logits, event) - tf.math.log(_factors(logits))

    def summed_log_prob(self, event: tf.Tensor, size: int) -> tf.Tensor | None:
        """``log_prob(event)`` summed over each example's ``size`` data elements
        (the trailing axes of the broadcast result, flattened), float32 ``[rows]``;
        ``None`` outside XLA, where the element-wise form is the faster one.

        ``x l - softplus(l) = (x l - max(l, 0)) - log(1 + exp(-|l|))``. The first
        part is summed as it is; the second is the log of a product. The factors
        ``1 + exp(-|l|)`` lie in (1, 2], so a product of up to 64 of them stays
        below 2**64, far from float32's overflow, and its rounding (under 64 ulp)
        moves its log by under 4e-6 nats. XLA then takes one log per 49 elements
        of an MNIST image instead of one per element, which made the estimator
        faster (measured by ``benchmarks/log_likelihood.py --per-element``; see the
        benchmarks page). Slices
        ``_LANES`` wide are multiplied element by element, which XLA fuses into one
        pass with the rest; its reduce over an axis of the products was much slower.
        """
        if not is_xla():
            return None
        logits = tf.convert_to_tensor(self.logits)
        event = tf.cast(event, logits.dtype)
        shape = tf.broadcast_dynamic_shape(tf.shape(logits), tf.shape(event))
        rows = [-1, size]
        return _grouped_row_sums(tf.reshape(tf.broadcast_to(logits, shape), rows),
                                 tf.reshape(tf.broadcast_to(event, shape), rows))


@tf.custom_gradient
def _grouped_row_sums(logits: tf.Tensor, event: tf.Tensor):
    """``sum(x l - softplus(l), axis=-1)`` for ``[rows, size]`` logits and events,
    one log per product of factors; the gradient is the closed form ``x - sigmoid(l)``
    (and ``l`` for the events), where autodiff through the products was slower
    (``benchmarks/throughput.py``)."""
    total = row_sum(_linear(logits, event)) - _row_sum_of_log_factors(logits)

    def gradient(upstream):
        upstream = upstream[:, None]
        return upstream * (event - tf.sigmoid(logits)), upstream * logits

    return total, gradient


# The width of the slices multiplied together (one 512-bit vector of float32), and
# the most factors in one product: each is at most 2, so a product is below 2**64.
_LANES = 16
_FACTORS_PER_LOG = 64
# Wider data keeps one log per element, so the graph stays small.
_MOST_SLICES = 512


def _linear(logits: tf.Tensor, event: tf.Tensor) -> tf.Tensor:
    """``x l - max(l, 0)``, the part of ``x l - softplus(l)`` without a log."""
    return event * logits - tf.where(logits >= 0, logits, tf.zeros_like(logits))


def _factors(logits: tf.Tensor) -> tf.Tensor:
    """``1 + exp(-|l|)``, in (1, 2]: ``softplus(l) = max(l, 0) + log`` of it."""
    return 1.0 + tf.exp(tf.where(logits >= 0, -logits, logits))


def _row_sum_of_log_factors(logits: tf.Tensor) -> tf.Tensor:
    """``sum(log(1 + exp(-|l|)), axis=-1)`` for ``[rows, size]`` logits: one log per
    product of up to ``_FACTORS_PER_LOG`` factors, one from each slice. Each slice
    computes its own factors, so XLA fuses the exps into the products: factors
    computed on whole rows were written to memory and read back, a second pass
    over the decoder's output that slowed the estimator."""
    size = logits.shape[-1]
    slices = size // _LANES
    if slices < 2 or slices > _MOST_SLICES:
        return row_sum(tf.math.log(_factors(logits)))

    def factors(index):
        return _factors(logits[:, index * _LANES : (index + 1) * _LANES])

    logs = []
    for first in range(0, slices, _FACTORS_PER_LOG):
        product = factors(first)
        for index in range(first + 1, min(slices, first + _FACTORS_PER_LOG)):
            product = product * factors(index)
        logs.append(tf.math.log(product))
    if size % _LANES:
        logs.append(tf.math.log(_factors(logits[:, slices * _LANES :])))
    return tf.add_n([row_sum(log) for log in logs])


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

    # How far from 0 and 1 a mean is taken before its logit (Burda et al.'s released
    # code clips the same way): a pixel that is 0 in every training image starts
    # at logit -6.9, not -inf.
    mean_clip = 1e-3

    def parameters_for_mean(self, mean):
        """The logits ``log(m / (1 - m))`` of the mean ``m`` clipped to
        ``[mean_clip, 1 - mean_clip]``, ``[*data_shape, 1]``.

        Example:
            >>> import numpy as np, keras_vae as kv
            >>> head = kv.likelihoods.Bernoulli(data_shape=(3,))
            >>> np.round(head.parameters_for_mean(np.array([0.0, 0.5, 0.9]))[:, 0], 3)
            array([-6.907,  0.   ,  2.197], dtype=float32)
        """
        m = np.clip(np.asarray(mean, np.float64), self.mean_clip, 1.0 - self.mean_clip)
        return np.log(m / (1.0 - m)).astype(np.float32)[..., None]

    def elementwise(self, params):
        return _FusedBernoulli(logits=params[..., 0], dtype=params.dtype)
