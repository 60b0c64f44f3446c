"""The KL decomposition of β-TCVAE (Chen et al., 2018), vectorised over the batch.

Shared by the ``"beta_tcvae"`` objective and the tests: the estimates of
``log q(z)`` and ``sum_j log q(z_j)`` from a minibatch, by minibatch weighted
sampling (MWS) or minibatch stratified sampling (MSS).
"""
from __future__ import annotations

import tensorflow as tf

from keras_vae.objectives.terms import _factors

ESTIMATORS = ("mss", "mws")


def log_importance_weights(batch_size: tf.Tensor, dataset_size: float, estimator: str) -> tf.Tensor:
    """``log w[i, j]``, ``[B, B]``: the weight of ``q(z_i | x_j)`` in the estimate
    ``q(z_i) ~ sum_j w[i, j] q(z_i | x_j)``.

    * ``"mws"``: ``w = 1 / (N B)`` everywhere (Chen et al., eq. S5).
    * ``"mss"`` (Chen et al., Appendix C.2): with ``M = B - 1``, ``w[i, i] = 1 / N``
      (the example that drew ``z_i``), ``w[i, (i+1) mod B] = (N - M) / (N M)``
      (the stratum that stands for the rest of the data set) and ``1 / M`` for
      the ``M - 1`` other examples, so ``sum_j w[i, j] = 1`` in every row.
    """
    b = tf.cast(batch_size, tf.float32)
    # N below the batch size (a tiny data set) is read as B: the weights stay positive.
    n = tf.maximum(tf.cast(dataset_size, tf.float32), b)
    if estimator == "mws":
        return tf.fill([batch_size, batch_size], -tf.math.log(n * b))
    m = tf.maximum(b - 1.0, 1.0)
    strat = (n - m) / (n * m)
    rows = tf.range(batch_size)[:, None]
    cols = tf.range(batch_size)[None, :]
    after = tf.equal(cols, (rows + 1) % batch_size)
    w = tf.where(tf.equal(rows, cols), 1.0 / n, tf.where(after, strat, 1.0 / m))
    return tf.math.log(w)


def log_q_matrix(q, z: tf.Tensor) -> tf.Tensor:
    """``log q(z_{k,i,l} | x_j)`` for every sample i and every example j of the
    batch, per dimension: ``[K, B, B, L]`` (index order k, i, j, l), from a posterior
    that factorizes over the latent dimensions."""
    factors = _factors(q, "posterior")  # batch shape [B, L]
    return tf.cast(factors.log_prob(z[:, :, None, :]), tf.float32)


def decompose(q, z: tf.Tensor, log_pz: tf.Tensor, dataset_size: float, estimator: str = "mss") -> dict:
    """The three terms of ``log q(z|x) - log p(z)`` at each sample, ``[K, B]`` each.

    ``mutual_information = log q(z|x) - log q(z)``,
    ``total_correlation = log q(z) - sum_j log q(z_j)``,
    ``dimension_kl = sum_j log q(z_j) - log p(z)``, with ``log q(z)`` and
    ``log q(z_j)`` estimated from the batch (``estimator``). Their sum is
    ``log q(z|x) - log p(z)`` exactly, whatever the estimates.

    Args:
        q: the batch's posterior, factorized (batch shape ``[B]``, event ``[L]``).
        z: samples ``[K, B, L]``.
        log_pz: ``log p(z)``, ``[K, B]``.
        dataset_size: N, the number of training examples.
        estimator: ``"mss"`` or ``"mws"``.
    """
    log_q = log_q_matrix(q, z)  # [K, B(i), B(j), L]
    batch = tf.shape(z)[1]
    log_w = log_importance_weights(batch, dataset_size, estimator)[None, :, :]  # [1, B, B]
    log_qz_given_x = tf.reduce_sum(tf.linalg.diag_part(tf.transpose(log_q, [0, 3, 1, 2])), axis=1)
    log_qz = tf.reduce_logsumexp(log_w + tf.reduce_sum(log_q, axis=-1), axis=2)
    log_qz_marginals = tf.reduce_sum(tf.reduce_logsumexp(log_w[..., None] + log_q, axis=2), axis=-1)
    log_pz = tf.cast(log_pz, tf.float32)
    return {
        "log_qz_given_x": log_qz_given_x,
        "mutual_information": log_qz_given_x - log_qz,
        "total_correlation": log_qz - log_qz_marginals,
        "dimension_kl": log_qz_marginals - log_pz,
    }
