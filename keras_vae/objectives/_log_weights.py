"""The importance log-weights, in one place for the IWAE objective and the
log-likelihood estimator."""
from __future__ import annotations

import tensorflow as tf


def log_weights(log_px: tf.Tensor, log_pz: tf.Tensor, log_qz: tf.Tensor) -> tf.Tensor:
    """``log w_k = log p(x|z_k) + log p(z_k) - log q(z_k|x)``, elementwise (float32)."""
    return tf.cast(log_px, tf.float32) + tf.cast(log_pz, tf.float32) - tf.cast(log_qz, tf.float32)


def importance_bound(log_w: tf.Tensor, axis: int = 0) -> tf.Tensor:
    """``log (1/K) sum_k w_k`` over ``axis`` (K = its size): the IWAE bound of Burda
    et al. (2015). K = 1 gives the one-sample ELBO. Computed in ``log_w``'s dtype
    (float64 log-weights give a float64 bound)."""
    k = tf.cast(tf.shape(log_w)[axis], log_w.dtype)
    return tf.reduce_logsumexp(log_w, axis=axis) - tf.math.log(k)
