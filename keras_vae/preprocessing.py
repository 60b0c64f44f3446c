"""Preprocessing that travels inside a model: per-feature standardization.

:class:`Standardization` is a ``keras.layers.Normalization`` (Keras' own
preprocessing layer, with its ``adapt``) that a model owns when it is made with
``standardize=True``. Its statistics are weights, so they are saved in the
``.keras`` file, tracked by the SavedModel / LiteRT / ONNX exports and applied in
every method: the model takes and returns data in the user's own units.

What the model does with it (``keras_vae.VAE``):

* inputs (``encode``, ``elbo``, ``log_likelihood``, ``fit``, the served ``encode``,
  ``reconstruct`` and ``score``) are standardized, ``(x - mean) / std``, before the
  encoder and the likelihood see them;
* outputs (``decode``, ``reconstruct``, ``sample``, ``predict``, ``vae.likelihood(z)``
  and the served ``decode`` / ``reconstruct`` / ``sample``) are mapped back,
  ``y * std + mean``;
* densities are in the data's units by the change of variables:
  ``log p(x) = log p_std((x - mean) / std) - sum_d log std_d``, so the ELBO, the
  log-likelihood, bits/dim and the served ``score`` are comparable with any other
  density model of the raw data.

Features whose standard deviation is (nearly) zero keep a scale of 1 (they are only
centred), as in :class:`keras_vae.datasets.Standardizer`.
"""
from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

__all__ = ["Standardization"]


@keras.saving.register_keras_serializable(package="keras_vae")
class Standardization(keras.layers.Normalization):
    """Per-feature ``(x - mean) / std`` over every element of one example.

    A ``keras.layers.Normalization`` whose statistics are taken per element of the
    example (every axis but the batch), whose near-constant features keep a scale
    of 1, and which also maps back (:meth:`inverse`) and knows the log-Jacobian of
    the map (:meth:`log_scale`). Adapt it with :meth:`adapt` (numpy arrays,
    tensors or a batched ``tf.data.Dataset``, as Keras' layer) or set it from known
    statistics with :meth:`set_statistics`. Before either it is the identity.

    Args:
        **kwargs: Keras layer arguments (``name``, ...). The layer always computes
            in float32.

    Example:
        >>> import numpy as np
        >>> from keras_vae.preprocessing import Standardization
        >>> x = np.array([[1.0, 100.0], [3.0, 300.0]], "float32")
        >>> layer = Standardization()
        >>> layer.adapt(x)
        >>> np.asarray(layer(x)).tolist()
        [[-1.0, -1.0], [1.0, 1.0]]
        >>> np.asarray(layer.inverse(layer(x))).tolist()
        [[1.0, 100.0], [3.0, 300.0]]
        >>> round(float(layer.log_scale()), 4)       # log(1) + log(100)
        4.6052
        >>> layer.adapted
        True
    """

    def __init__(self, **kwargs: Any):
        for key in ("axis", "mean", "variance", "invert"):  # Normalization's config keys
            kwargs.pop(key, None)
        kwargs["dtype"] = "float32"
        super().__init__(axis=None, **kwargs)

    # ------------------------------------------------------------------ build
    def build(self, input_shape):
        if input_shape is None:
            return
        # Per element of one example: keep every axis but the batch.
        self.axis = tuple(range(1, len(input_shape)))
        super().build(input_shape)

    @property
    def adapted(self) -> bool:
        """Whether statistics were set (by :meth:`adapt` or :meth:`set_statistics`)."""
        return bool(self.built and int(np.asarray(keras.ops.convert_to_numpy(self.count))) > 0)

    def adapt(self, data: Any) -> None:
        """Take the mean and standard deviation of ``data`` (examples along the first
        axis; numpy, tensor, or a batched ``tf.data.Dataset`` of ``x`` or ``(x, ...)``
        tuples, or of ``{"x": ...}`` dicts).

        Raises:
            ValueError: fewer than 2 examples, or NaN / infinite values.
        """
        if isinstance(data, tf.data.Dataset) and isinstance(data.element_spec, dict):
            data = data.map(lambda d: d["x"])
        count = None
        if isinstance(data, (np.ndarray, tf.Tensor)) or hasattr(data, "__array__"):
            array = np.asarray(data, np.float64)
            if array.ndim < 2 or len(array) < 2:
                raise ValueError(
                    f"Standardization needs at least 2 examples of shape (examples, ...), got "
                    f"data of shape {array.shape}."
                )
            if not np.all(np.isfinite(array)):
                raise ValueError("Standardization cannot adapt to data with NaN or infinite values.")
            count = len(array)
            data = array
        super().adapt(data)
        self._fix_constant_features()
        if count is None:
            count = 2  # a dataset: Keras does not report how many examples it saw
        self.count.assign(int(count))

    def set_statistics(self, mean: Any, std: Any) -> None:
        """Use known per-feature ``mean`` and ``std`` (each the shape of one example),
        e.g. a :class:`keras_vae.datasets.Standardizer`'s."""
        mean = np.asarray(mean, np.float32)
        std = np.asarray(std, np.float32)
        if not self.built:
            self.build((None, *mean.shape))
        if mean.shape != tuple(self._mean_and_var_shape) or std.shape != mean.shape:
            raise ValueError(
                f"mean {mean.shape} and std {std.shape} must both have the example shape "
                f"{tuple(self._mean_and_var_shape)}."
            )
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std)) and np.all(std > 0)):
            raise ValueError("mean must be finite and std finite and > 0.")
        self.adapt_mean.assign(mean)
        self.adapt_variance.assign(np.square(std))
        self.count.assign(2)
        self.finalize_state()

    def _fix_constant_features(self) -> None:
        mean = np.asarray(keras.ops.convert_to_numpy(self.adapt_mean), np.float64)
        std = np.sqrt(np.maximum(np.asarray(keras.ops.convert_to_numpy(self.adapt_variance), np.float64), 0.0))
        std = np.where(std > 1e-8 * np.maximum(1.0, np.abs(mean)), std, 1.0)
        self.adapt_variance.assign(np.square(std).astype(np.float32))
        self.finalize_state()

    # ------------------------------------------------------------------ maps
    def _std(self) -> tf.Tensor:
        return tf.sqrt(tf.convert_to_tensor(self.adapt_variance))

    def call(self, inputs):
        """``(x - mean) / std``, reading the weights (so a traced graph follows them)."""
        x = tf.cast(inputs, tf.float32)
        return (x - tf.convert_to_tensor(self.adapt_mean)) / self._std()

    def inverse(self, y) -> tf.Tensor:
        """``y * std + mean``: standardized values back to the data's units."""
        return tf.cast(y, tf.float32) * self._std() + tf.convert_to_tensor(self.adapt_mean)

    def transform_distribution(self, distribution):
        """A TFP distribution over standardized data as one over the data's units
        (``TransformedDistribution`` by ``y * std + mean``: its ``mean``, ``sample``
        and ``log_prob`` are in the data's units, the Jacobian included)."""
        import tensorflow_probability as tfp

        tfb = tfp.bijectors
        bijector = tfb.Chain([tfb.Shift(tf.convert_to_tensor(self.adapt_mean)), tfb.Scale(self._std())])
        return tfp.distributions.TransformedDistribution(distribution, bijector)

    def log_scale(self) -> tf.Tensor:
        """``sum_d log std_d`` (float32 scalar): subtract it from a density of the
        standardized data to get the density of the raw data."""
        return tf.reduce_sum(tf.math.log(self._std()))

    def get_config(self) -> dict:
        return keras.layers.Layer.get_config(self)
