"""What the vector quantizer's training updates read from a batch: weighted code
counts and sums, a pool of encoder outputs to seed codes from, and the same figures
over every replica when several train in sync (``tf.distribute``)."""
from __future__ import annotations

import tensorflow as tf

SUM = tf.distribute.ReduceOp.SUM


def replica_context():
    """The replica context when several replicas train in sync, else ``None``.

    Under a ``tf.distribute`` strategy each replica sees a share of the batch; the
    quantizer's codebook statistics must then be those of the whole batch so that
    every replica holds the same codebook (the codebook is a mirrored variable).
    """
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return None
    return context


def position_weights(sample_weight, batch: tf.Tensor, positions: tf.Tensor) -> tf.Tensor:
    """Per-example weights ``[batch]`` repeated over each example's grid positions
    (``[batch * positions]``, float32), checked to be finite and >= 0."""
    weights = tf.reshape(tf.cast(sample_weight, tf.float32), [-1])
    checks = [
        tf.debugging.assert_equal(tf.size(weights), batch, "keras_vae: sample_weight needs one weight per example."),
        tf.debugging.assert_non_negative(weights, "keras_vae: sample weights must be >= 0."),
        tf.debugging.assert_all_finite(weights, "keras_vae: sample weights must be finite."),
    ]
    with tf.control_dependencies(checks):
        return tf.repeat(weights, positions)


def code_counts(indices: tf.Tensor, weights: tf.Tensor | None, num_embeddings: int, context=None) -> tf.Tensor:
    """``n_k = sum_i w_i [k*(i) = k]`` ``[K]`` (``w_i = 1`` without weights), summed
    over the replicas when a replica ``context`` is given."""
    ones = tf.ones_like(indices, tf.float32) if weights is None else weights
    counts = tf.math.unsorted_segment_sum(ones, indices, num_embeddings)
    return counts if context is None else context.all_reduce(SUM, counts)


def code_sums(flat: tf.Tensor, indices: tf.Tensor, weights: tf.Tensor | None, num_embeddings: int,
              context=None) -> tf.Tensor:
    """``m_k = sum_i w_i z_e(i) [k*(i) = k]`` ``[K, D]``, summed over the replicas
    when a replica ``context`` is given."""
    values = flat if weights is None else flat * weights[:, None]
    sums = tf.math.unsorted_segment_sum(values, indices, num_embeddings)
    return sums if context is None else context.all_reduce(SUM, sums)


def whole_batch(flat: tf.Tensor, weights: tf.Tensor | None, context=None):
    """``(flat, weights)`` of the whole batch: every replica's share gathered in
    replica order (which is the batch's order), or the inputs without a context."""
    if context is None:
        return flat, weights
    gathered = context.all_gather(flat, axis=0)
    return gathered, None if weights is None else context.all_gather(weights, axis=0)


def draw_positions(count: int, size: tf.Tensor, weights: tf.Tensor | None, seed: tf.Tensor) -> tf.Tensor:
    """``count`` random rows of a pool of ``size`` rows (int32): uniform without
    weights, with probability proportional to the weight otherwise (a row of weight
    zero is never drawn)."""
    if weights is None:
        return tf.random.stateless_uniform([count], seed, 0, size, dtype=tf.int32)
    logits = tf.where(weights > 0, tf.math.log(tf.maximum(weights, 1e-30)), -float("inf"))
    return tf.random.stateless_categorical(logits[None], count, seed, dtype=tf.int32)[0]


def squared_distances(flat: tf.Tensor, codebook: tf.Tensor) -> tf.Tensor:
    """``||flat_i - codebook_k||^2`` ``[n, K]``."""
    return (
        tf.reduce_sum(flat**2, axis=1, keepdims=True)
        - 2.0 * tf.matmul(flat, codebook, transpose_b=True)
        + tf.reduce_sum(codebook**2, axis=1)[None, :]
    )


def kmeans(flat: tf.Tensor, weights: tf.Tensor | None, num_embeddings: int, iterations: int,
           seed: tf.Tensor) -> tf.Tensor:
    """``num_embeddings`` centres of the rows of ``flat`` ``[n, D]``: k-means++ seeding
    (each pick with probability proportional to weight x squared distance to the
    nearest centre so far), then ``iterations`` weighted Lloyd steps (an empty cluster
    keeps its centre). A row of weight zero is never picked and moves no centre."""
    k = num_embeddings
    dim = flat.shape[-1]
    n = tf.shape(flat)[0]
    if weights is None:
        first = tf.random.stateless_uniform([], seed, 0, n, dtype=tf.int32)
    else:
        first = draw_positions(1, n, weights, seed + tf.constant([0, 7], tf.int32))[0]
    centers = tf.tensor_scatter_nd_update(tf.zeros([k, dim], tf.float32), [[0]], flat[first][None])
    d2 = tf.reduce_sum((flat - flat[first]) ** 2, axis=1)

    def body(i, centers, d2):
        logits = tf.math.log(tf.maximum(d2, 0.0) + 1e-12)
        if weights is not None:
            logits = tf.where(weights > 0, logits + tf.math.log(tf.maximum(weights, 1e-30)), -float("inf"))
        pick = tf.random.stateless_categorical(logits[None], 1, seed + tf.stack([0, i]), dtype=tf.int32)[0, 0]
        chosen = flat[pick]
        centers = tf.tensor_scatter_nd_update(centers, [[i]], chosen[None])
        d2 = tf.minimum(d2, tf.reduce_sum((flat - chosen) ** 2, axis=1))
        return i + 1, centers, d2

    _, centers, _ = tf.while_loop(lambda i, c, d: i < k, body, (tf.constant(1), centers, d2))
    for _ in range(iterations):
        assign = tf.argmin(squared_distances(flat, centers), axis=1, output_type=tf.int32)
        sums = code_sums(flat, assign, weights, k)
        counts = code_counts(assign, weights, k)
        centers = tf.where(counts[:, None] > 0, sums / tf.maximum(counts, 1e-30)[:, None], centers)
    return centers
