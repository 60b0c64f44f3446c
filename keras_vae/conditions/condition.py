"""Base class of conditions: raw side information c -> a feature vector."""
from __future__ import annotations

from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from keras_vae import registry


class Condition(keras.layers.Layer):
    """Turns a batch of raw conditions (labels, covariates, ...) into float32 features
    ``[batch, feature_size]`` that a conditioned model joins to the encoder's features
    (q(z|x, c)), to z before the decoder body (p(x|z, c)) and hands to a conditional
    prior (p(z|c)).

    Subclasses define ``feature_size``, ``example_shape`` (the shape of one raw
    condition, without the batch), ``call`` and the checks: ``check_array`` (numpy,
    before ``fit`` touches any state; raises ``ValueError``) and ``assert_valid``
    (in-graph asserts for batches that arrive through ``tf.data``).
    """

    #: dtype the raw condition is converted to before ``call``.
    input_dtype = "float32"

    @property
    def feature_size(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define feature_size.")

    @property
    def example_shape(self) -> tuple[int, ...]:
        raise NotImplementedError(f"{type(self).__name__} must define example_shape.")

    def check_array(self, c: np.ndarray, what: str = "condition") -> None:
        """Refuse a numpy batch of conditions with a ``ValueError`` naming the fix."""
        expected = self.example_shape
        if tuple(c.shape[1:]) != expected:
            raise ValueError(
                f"{what} has shape {c.shape}, but one condition of this model has shape "
                f"{expected} (a batch is (n, *{expected})); reshape it."
            )
        if not np.issubdtype(c.dtype, np.number) or np.issubdtype(c.dtype, np.complexfloating):
            raise ValueError(f"{what} must hold real numbers, got dtype {c.dtype}.")
        if not np.all(np.isfinite(c)):
            raise ValueError(f"{what} contains NaN or infinite values; remove or impute them.")

    def assert_valid(self, c: tf.Tensor) -> list:
        """In-graph checks of a batch of conditions (a list of assert ops)."""
        return [tf.debugging.assert_all_finite(tf.cast(c, tf.float32), "keras_vae: the condition contains NaN or inf.")]

    def build(self, input_shape=None):
        self.built = True

    def compute_output_shape(self, input_shape: Sequence[int | None]):
        return (input_shape[0], self.feature_size)


registry.register_base("condition", Condition)
