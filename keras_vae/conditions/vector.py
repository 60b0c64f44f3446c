"""Real-valued side information as a condition."""
from __future__ import annotations

import math
from typing import Sequence

import tensorflow as tf

from keras_vae.conditions.condition import Condition
from keras_vae.registry import register


@register("condition", "vector")
class Vector(Condition):
    """Real-valued side information (covariates, a batch one-hot, a library size) of
    shape ``shape`` per example, flattened into features.

    Args:
        shape: the shape of one example's condition, e.g. ``(3,)``.

    Example:
        >>> import numpy as np, keras_vae as kv
        >>> kv.get("condition", {"name": "vector", "shape": (2,)})(np.ones((4, 2))).shape
        TensorShape([4, 2])
    """

    def __init__(self, shape: Sequence[int], **kwargs):
        super().__init__(**kwargs)
        dims = [shape] if isinstance(shape, int) else list(shape)
        if not dims or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in dims):
            raise ValueError(f"shape must be a tuple of positive integers, e.g. (3,), got {shape!r}.")
        self.shape = tuple(dims)

    @property
    def feature_size(self) -> int:
        return math.prod(self.shape)

    @property
    def example_shape(self) -> tuple[int, ...]:
        return self.shape

    def call(self, c):
        return tf.reshape(tf.cast(c, tf.float32), [-1, self.feature_size])

    def get_config(self):
        return {**super().get_config(), "shape": list(self.shape)}
