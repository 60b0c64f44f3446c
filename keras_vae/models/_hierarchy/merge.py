"""The Ladder VAE's precision-weighted merge of two diagonal Gaussians."""
from __future__ import annotations

import tensorflow as tf


def precision_weighted(loc_a, scale_a, loc_b, scale_b):
    """``(loc, scale)`` of the normalized product N(loc_a, scale_a^2) N(loc_b, scale_b^2)
    (Sønderby et al. 2016, eq. 18-19)::

        sigma^2 = 1 / (sigma_a^-2 + sigma_b^-2)
        mu      = (mu_a sigma_a^-2 + mu_b sigma_b^-2) sigma^2

    Example:
        >>> loc, scale = precision_weighted(0.0, 1.0, 2.0, 1.0)
        >>> float(loc), round(float(scale) ** 2, 3)
        (1.0, 0.5)
    """
    precision_a = tf.math.reciprocal(tf.square(scale_a))
    precision_b = tf.math.reciprocal(tf.square(scale_b))
    variance = tf.math.reciprocal(precision_a + precision_b)
    loc = (loc_a * precision_a + loc_b * precision_b) * variance
    return loc, tf.sqrt(variance)
