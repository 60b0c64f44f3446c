"""Base class of likelihood heads p(x|z)."""
from __future__ import annotations

import math
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
from tensorflow_probability.python.internal.implementation_selection import is_xla

from keras_vae import registry

tfd = tfp.distributions


def row_sum(values: tf.Tensor) -> tf.Tensor:
    """Each row's sum of ``values`` ``[rows, n]`` in the form XLA fuses with what
    produces ``values``: a product with a vector of ones (XLA's CPU reduce along a
    row is slower)."""
    return tf.linalg.matvec(values, tf.ones([values.shape[-1]], values.dtype))


# How far past its bounds ``soft_bound`` follows its input: an excess beyond this
# counts as this much (at most log(1 + 1e15) = 34.5 past the bound).
_SOFT_BOUND_REACH = 1e15


def soft_bound(values: tf.Tensor, low: float, high: float) -> tf.Tensor:
    """``values`` where they lie in ``[low, high]``; beyond, the bound plus (or
    minus) the log of one plus the excess::

        f(v) = v                          low <= v <= high
        f(v) = high + log(1 + v - high)   v > high
        f(v) = low - log(1 + low - v)     v < low

    Inside the bounds the result is ``values`` bit for bit, so a head that applies
    it to an output computes what it did without it wherever the output is in the
    range. Outside, ``f`` keeps rising with slope ``1 / (1 + excess)``: it is
    continuous with its first derivative, never flat (a gradient still points the
    way back, unlike a clip or a ``tanh``), and an exponential of it grows only
    linearly in ``v`` (``exp(f(v)) = exp(high) (1 + v - high)``). An excess above
    ``_SOFT_BOUND_REACH`` (1e15) counts as 1e15, so ``f`` lies within 34.5 of the
    bounds for any finite ``v``: ``low - 34.6 < f(v) < high + 34.6``.

    Example:
        >>> import numpy as np
        >>> np.round(soft_bound(tf.constant([-1e30, -1.0, 0.5, 3.0]), 0.0, 2.0).numpy(), 4)
        array([-34.5388,  -0.6931,   0.5   ,   2.6931], dtype=float32)
    """
    values = tf.convert_to_tensor(values)
    above = tf.math.log1p(tf.minimum(tf.nn.relu(values - high), _SOFT_BOUND_REACH))
    below = tf.math.log1p(tf.minimum(tf.nn.relu(low - values), _SOFT_BOUND_REACH))
    return tf.clip_by_value(values, low, high) + above - below


class Likelihood(keras.layers.Layer):
    """Maps decoder features to the parameters of p(x|z) and builds the distribution.

    The head projects features to ``num_params`` numbers per data element:

    * when the decoder already produces a feature map with the data's spatial shape
      (``features.shape[1:-1] == data_shape[:-1]``, e.g. a ConvDecoder), a
      per-position dense layer (a 1x1 convolution) maps channels to parameters;
    * otherwise the features are flattened and a dense layer produces
      ``prod(data_shape) * num_params`` numbers.

    Subclasses set ``num_params`` and ``support`` (``(low, high)`` of valid data, or
    ``None``) and implement ``elementwise(params)``, returning a distribution with
    batch shape ``(batch, *data_shape)`` in float32; ``distribution`` wraps it in
    ``tfd.Independent`` so the event shape is the data shape. ``log_prob(params, x)``
    scores parameters with extra leading axes (K samples of a batch) against one copy
    of the data; a subclass that overrides ``distribution`` with another kind of
    distribution is scored through it. The element-wise distribution may also
    define ``summed_log_prob(x, size)``, its densities summed over each example's
    ``size`` elements as float32 ``[rows]`` (or ``None`` to decline), where it
    knows a cheaper sum than one density per element (Bernoulli does, under XLA).

    The support rule, checked eagerly on numpy data (``check_array``) and in-graph
    on every batch (``assert_in_support``), is ``support`` plus two flags:
    ``open_support`` (the bounds themselves are excluded, e.g. the Beta's (0, 1))
    and ``integer_valued`` (data must be whole numbers, e.g. counts or 8-bit
    levels). ``support_fix`` is the sentence the error ends with: what to do.
    ``discrete`` says ``log_prob`` is a probability mass, so ``-log p(x) / (D ln 2)``
    is a code length in bits per dimension.

    ``encoder_input(x)`` is what the encoder is given of a batch whose likelihood
    is scored on ``x`` itself: ``x`` unchanged by default; the count heads give
    ``log(1 + x)`` (see :class:`~keras_vae.likelihoods.Poisson`).

    Args:
        data_shape: the shape of one example; filled in by the VAE when ``None``.
    """

    num_params: int = 1
    support: tuple[float, float] | None = None
    open_support: bool = False
    integer_valued: bool = False
    discrete: bool = False
    support_fix: str = (
        "Rescale the data (e.g. x / 255.0 for 8-bit images) or choose a likelihood "
        "for this range, such as 'gaussian'."
    )

    def __init__(self, data_shape: Sequence[int] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.data_shape = None if data_shape is None else [int(d) for d in data_shape]

    def configure(self, *, data_shape: Sequence[int], **_) -> None:
        """Set the shape of one example (called by the VAE)."""
        data_shape = [int(d) for d in data_shape]
        if self.data_shape is not None and self.data_shape != data_shape:
            raise ValueError(
                f"{type(self).__name__} was made for data of shape {tuple(self.data_shape)} "
                f"but the VAE's data has shape {tuple(data_shape)}."
            )
        self.data_shape = data_shape

    def build(self, input_shape):
        if self.data_shape is None:
            raise ValueError(
                f"{type(self).__name__} needs data_shape: pass it or use the layer "
                "inside a keras_vae.VAE with input_shape set."
            )
        spatial = list(input_shape[1:-1])
        self._pointwise = len(self.data_shape) >= 2 and spatial == self.data_shape[:-1]
        if self._pointwise:
            units = self.data_shape[-1] * self.num_params
            self.projection = keras.layers.Dense(units, dtype=self.dtype_policy)
            self.projection.build(input_shape)
        else:
            self.flatten = keras.layers.Flatten(dtype=self.dtype_policy)
            units = math.prod(self.data_shape) * self.num_params
            self.projection = keras.layers.Dense(units, dtype=self.dtype_policy)
            self.projection.build(self.flatten.compute_output_shape(input_shape))
        self.build_scale_weights()

    def build_scale_weights(self) -> None:
        """Hook for subclasses that own weights of their own (e.g. a learned scale)."""

    def call(self, features):
        if not self._pointwise:
            features = self.flatten(features)
        params = self.projection(features)
        return tf.reshape(params, [-1, *self.data_shape, self.num_params])

    def encoder_input(self, x: tf.Tensor) -> tf.Tensor:
        """The batch as the encoder should see it; the likelihood still scores ``x``.

        The identity here. A head whose data are poorly scaled for a network
        overrides it (the count heads take ``log(1 + x)``, as scVI does), so the
        model applies it to every batch before the encoder, wherever the encoder
        reads data (training, ``encode``, the exported signatures), and never to
        the targets of ``log_prob``.

        Example:
            >>> import numpy as np, keras_vae as kv
            >>> x = np.array([[0.0, 1.0]], "float32")
            >>> kv.likelihoods.Bernoulli(data_shape=(2,)).encoder_input(x) is x
            True
        """
        return x

    def parameters_for_mean(self, mean: np.ndarray) -> np.ndarray | None:
        """The head's parameters (``[*mean.shape, num_params]``, before ``elementwise``)
        of the distribution whose mean is ``mean`` (the data's mean per element:
        ``data_shape``, or ``[channels]`` for a head that works per position of a
        feature map), or ``None`` where the head defines no such point.

        ``VAE.initialize_output_bias`` sets the projection's bias to them, so that
        at the start every decoded example is the data's mean rather than what a
        zero bias gives. ``None`` here: a subclass that knows the inverse of its mean
        overrides it (Bernoulli does).
        """
        return None

    def elementwise(self, params: tf.Tensor):
        raise NotImplementedError(f"{type(self).__name__} must implement elementwise().")

    def distribution(self, params: tf.Tensor):
        """p(x|z) with event shape = data shape, from ``call``'s output."""
        return tfd.Independent(
            self.elementwise(tf.cast(params, tf.float32)),
            reinterpreted_batch_ndims=len(self.data_shape),
        )

    def log_prob(self, params: tf.Tensor, x: tf.Tensor) -> tf.Tensor:
        """``log p(x|z)`` per example, summed over the data: float32 ``[*batch]``.

        Equals ``distribution(params).log_prob(x)``, without copying ``x`` for every
        row of ``params``: ``params`` is ``call``'s output with any leading batch axes,
        ``[*batch, *data_shape, num_params]`` (e.g. ``[K, B, ...]`` for K latent samples
        of each of B examples), and ``x`` (``[..., *data_shape]``) broadcasts against
        them, so the K samples of a batch are scored against one copy of the batch.

        Example:
            >>> import numpy as np, keras_vae as kv
            >>> head = kv.likelihoods.Bernoulli(data_shape=(3,))
            >>> params = np.zeros((4, 2, 3, 1), "float32")  # K = 4 samples of 2 examples
            >>> head.log_prob(params, np.ones((2, 3), "float32")).shape
            TensorShape([4, 2])
        """
        params = tf.cast(params, tf.float32)
        x = tf.cast(x, tf.float32)
        ndims = len(self.data_shape)
        batch_shape = tf.shape(params)[: -1 - ndims]
        size = math.prod(self.data_shape)
        dist = self.distribution(params)
        elementwise = (
            isinstance(dist, tfd.Independent)
            and tf.get_static_value(dist.reinterpreted_batch_ndims) == ndims
            and dist.distribution.event_shape.rank == 0
        )
        if elementwise:
            # The per-element densities, summed over the data as one flat axis. XLA's
            # CPU reductions over several small axes (28 x 28 x 1) and along a row are
            # slow; there a product with a vector of ones is the same sum, fused with
            # the densities into one pass (benchmarks/log_likelihood.py). The plain
            # graph keeps TF's reduction, whose gradient is cheaper than a product's.
            # A distribution may sum its own densities more cheaply (Bernoulli under
            # XLA: one log per product of many factors).
            summed = getattr(dist.distribution, "summed_log_prob", None)
            total = summed(x, size) if summed is not None else None
            if total is None:
                values = tf.reshape(tf.cast(dist.distribution.log_prob(x), tf.float32), [-1, size])
                if is_xla():
                    total = row_sum(values)
                else:
                    total = tf.reduce_sum(values, axis=-1)
            return tf.reshape(tf.cast(total, tf.float32), batch_shape)
        # Another kind of distribution (e.g. one that reads each example's total, as
        # the count likelihoods' library size does): scored as built, row by row.
        rows = tf.reshape(params, [-1, *self.data_shape, tf.shape(params)[-1]])
        x = tf.reshape(tf.broadcast_to(x, tf.shape(params)[:-1]), [-1, *self.data_shape])
        return tf.reshape(tf.cast(self.distribution(rows).log_prob(x), tf.float32), batch_shape)

    # -- data validation: one rule (``support``), checked eagerly and in-graph --
    def _support_text(self) -> str:
        low, high = self.support
        kind = "integers" if self.integer_valued else "data"
        if math.isinf(high):
            where = f"> {low:g}" if self.open_support else f">= {low:g}"
            return f"{kind} {where}"
        if self.open_support:
            return f"{kind} strictly inside ({low}, {high})"
        return f"{kind} in [{low}, {high}]"

    def _support_message(self) -> str:
        return f"{type(self).__name__} likelihood needs {self._support_text()}. {self.support_fix}"

    def check_array(self, x: np.ndarray) -> None:
        """Raise ``ValueError`` if a numpy batch is outside the support.

        Example:
            >>> import numpy as np, keras_vae as kv
            >>> kv.likelihoods.Bernoulli(data_shape=(2,)).check_array(np.array([[0.0, 2.0]]))
            Traceback (most recent call last):
            ...
            ValueError: Data range is [0, 2]. Bernoulli likelihood needs data in [0.0, 1.0]. ...
        """
        if self.support is None or x.size == 0:
            return
        low, high = self.support
        lo, hi = float(np.min(x)), float(np.max(x))
        outside = (lo <= low or hi >= high) if self.open_support else (lo < low or hi > high)
        if outside:
            raise ValueError(f"Data range is [{lo:g}, {hi:g}]. " + self._support_message())
        if self.integer_valued and not np.issubdtype(x.dtype, np.integer):
            fractional = x != np.round(x)
            if np.any(fractional):
                example = float(x[fractional].flat[0])
                raise ValueError(
                    f"Data hold non-integer values (e.g. {example:g}; "
                    f"{int(np.count_nonzero(fractional))} in all). " + self._support_message()
                )

    def valid_example(self) -> np.ndarray:
        """One example (float32, shape ``data_shape``) inside the support: zeros where
        0 is allowed, else the middle of the range (e.g. 0.5 for the Beta's (0, 1)).
        For tools that need a stand-in input, such as serving warm-up requests.

        Example:
            >>> import keras_vae as kv
            >>> kv.likelihoods.Beta(data_shape=(2,)).valid_example()
            array([0.5, 0.5], dtype=float32)
        """
        value = 0.0
        if self.support is not None:
            low, high = self.support
            inside = low < 0.0 < high if self.open_support else low <= 0.0 <= high
            if not inside:
                value = (low + high) / 2.0 if math.isfinite(high) else low + 1.0
                value = float(np.round(value)) if self.integer_valued else value
        return np.full(self.data_shape, value, np.float32)

    def assert_in_support(self, x: tf.Tensor) -> list:
        """In-graph assertions that ``x`` lies in the support (for tf.data input)."""
        if self.support is None:
            return []
        low, high = self.support
        message = "keras_vae: data outside the support of the likelihood. " + self._support_message()
        above = tf.debugging.assert_greater if self.open_support else tf.debugging.assert_greater_equal
        below = tf.debugging.assert_less if self.open_support else tf.debugging.assert_less_equal
        checks = [above(x, tf.cast(low, x.dtype), message=message)]
        if not math.isinf(high):
            checks.append(below(x, tf.cast(high, x.dtype), message=message))
        if self.integer_valued and x.dtype.is_floating:
            checks.append(tf.debugging.assert_equal(x, tf.round(x), message=message))
        return checks

    def get_config(self):
        config = super().get_config()
        config.update(data_shape=self.data_shape)
        return config


registry.register_base("likelihood", Likelihood)
