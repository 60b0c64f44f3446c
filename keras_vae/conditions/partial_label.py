"""Class labels that may be missing, for semi-supervised models."""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_vae.conditions.one_hot import OneHot
from keras_vae.registry import register

#: The label of an example whose class is not known.
UNLABELED = -1


@register("condition", "partial_label")
class PartialLabel(OneHot):
    """Integer labels ``0 .. num_classes - 1``, or ``-1`` where the label is unknown
    (one-hot features; an unknown label gives all zeros). The condition of
    :class:`keras_vae.SemiSupervisedVAE`, which sums over the classes where the label
    is ``-1``.

    Args:
        num_classes: how many classes (>= 2).

    Example:
        >>> import numpy as np, keras_vae as kv
        >>> kv.get("condition", {"name": "partial_label", "num_classes": 3})(np.array([2, -1])).numpy()
        array([[0., 0., 1.],
               [0., 0., 0.]], dtype=float32)
    """

    def check_array(self, c: np.ndarray, what: str = "condition") -> None:
        known = np.asarray(c)
        if known.dtype.kind in "fiu":
            known = known[known != UNLABELED]
        super().check_array(known.reshape(-1, *self.example_shape), what)

    def assert_valid(self, c):
        labels = tf.cast(c, tf.int64)
        return [
            tf.debugging.assert_greater_equal(
                labels, tf.constant(UNLABELED, tf.int64),
                "keras_vae: a label is below -1 (-1 marks an unknown label).",
            ),
            tf.debugging.assert_less(
                labels, tf.constant(self.num_classes, tf.int64),
                f"keras_vae: a label is >= num_classes ({self.num_classes}).",
            ),
        ]
