"""Class labels as a condition."""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_vae._arguments import check_number
from keras_vae.conditions.condition import Condition
from keras_vae.registry import register


@register("condition", "one_hot")
class OneHot(Condition):
    """Integer labels ``0 .. num_classes - 1`` (shape ``(n,)``) as one-hot features.

    Args:
        num_classes: how many classes (>= 2).

    Example:
        >>> import numpy as np, keras_vae as kv
        >>> kv.get("condition", {"name": "one_hot", "num_classes": 3})(np.array([2, 0])).numpy()
        array([[0., 0., 1.],
               [1., 0., 0.]], dtype=float32)
    """

    input_dtype = "int32"

    def __init__(self, num_classes: int, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = int(check_number(num_classes, "num_classes", minimum=2, integer=True))

    @property
    def feature_size(self) -> int:
        return self.num_classes

    @property
    def example_shape(self) -> tuple[int, ...]:
        return ()

    def call(self, c):
        return tf.one_hot(tf.cast(tf.reshape(c, [-1]), tf.int32), self.num_classes, dtype=tf.float32)

    def check_array(self, c: np.ndarray, what: str = "condition") -> None:
        super().check_array(c, what)
        if np.any(c != np.round(c)):
            raise ValueError(f"{what} must hold integer class labels, got non-integer values.")
        if c.size and (c.min() < 0 or c.max() >= self.num_classes):
            bad = c[(c < 0) | (c >= self.num_classes)].ravel()[0]
            raise ValueError(
                f"{what} holds the label {bad:g}, outside [0, {self.num_classes}) "
                f"(num_classes={self.num_classes})."
            )

    def assert_valid(self, c):
        labels = tf.cast(c, tf.int64)
        return [
            tf.debugging.assert_non_negative(labels, "keras_vae: a condition label is negative."),
            tf.debugging.assert_less(
                labels, tf.constant(self.num_classes, tf.int64),
                f"keras_vae: a condition label is >= num_classes ({self.num_classes}).",
            ),
        ]

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}
