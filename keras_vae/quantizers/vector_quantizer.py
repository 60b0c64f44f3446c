"""The vector quantizer of a VQ-VAE: nearest code, straight-through gradient, codebook
and commitment losses, EMA codebook updates, k-means initialisation, dead-code restarts."""
from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from keras_vae._arguments import check_number
from keras_vae.quantizers import _batch_statistics as stats
from keras_vae.registry import register, register_base

CODEBOOK_INITS = ("kmeans", "uniform")
# Every replica computes the same new state from the all-reduced statistics; under a
# tf.distribute strategy the first replica's write is the mirrored variable's value.
_SAME_ON_EVERY_REPLICA = "only_first_replica"


@register("quantizer", "vector")
class VectorQuantizer(keras.layers.Layer):
    """Maps each vector ``z_e`` (the last axis of the input) to its nearest code
    ``e_k`` of a learned codebook (van den Oord et al. 2017).

    For inputs ``z_e`` of shape ``[batch, *grid, embedding_dim]``::

        k*(i)  = argmin_k ||z_e(i) - e_k||^2                 (squared distance)
        z_q(i) = e_k*(i)
        output = z_e + stop_gradient(z_q - z_e)              (straight-through)
        codebook_loss   = sum_i ||stop_gradient(z_e(i)) - z_q(i)||^2      per example
        commitment_loss = commitment_cost * sum_i ||z_e(i) - stop_gradient(z_q(i))||^2

    so the forward value is ``z_q`` and the encoder receives exactly the gradient of
    the quantized output (``dL/dz_e = dL/dz_q``). The losses are summed over the grid
    of each example (like a log-likelihood summed over the data).

    The codebook is trained either by gradient (``ema_decay=None``: the codebook loss
    enters the objective) or by exponential moving averages of the assigned vectors
    (``ema_decay`` in (0, 1), the default 0.99): with counts ``N_k`` and sums ``m_k``
    updated on every training call,
    ``N_k <- d N_k + (1 - d) n_k``, ``m_k <- d m_k + (1 - d) s_k``, with the
    batch's weighted counts and sums ``n_k = sum_{i: k*(i)=k} w_i`` and
    ``s_k = sum_{i: k*(i)=k} w_i z_e(i)`` (``w_i`` is the ``sample_weight`` of the
    example that position i belongs to; 1 without weights, so an example of weight 0
    moves nothing), and ``e_k = m_k / N~_k`` with Laplace-smoothed counts
    ``N~_k = (N_k + eps) / (N + K eps) * N``.

    Under a ``tf.distribute`` strategy with several replicas in sync, ``n_k`` and
    ``s_k`` are summed over the replicas (an all-reduce) and k-means and restarts
    draw from the whole batch (an all-gather of the encoder outputs, only when they
    are enabled), so every replica holds the same codebook and a step equals the
    single-replica step on the whole batch.

    ``codebook_init="kmeans"`` seeds the codebook on the first training batch with
    k-means++ followed by ``kmeans_iters`` Lloyd iterations (as SoundStream does);
    ``"uniform"`` draws it from U(-1/K, 1/K). ``dead_code_steps`` restarts codes:
    a code unused for that many consecutive training batches is re-seeded from a
    random encoder output of the current batch (``None`` disables restarts). With
    sample weights, k-means weighs each vector by its weight and restarts draw
    vectors with probability proportional to it (weight 0: never).

    Every piece of state (codebook, EMA counts and sums, whether k-means ran, the
    steps each code has gone unused, the step counter that seeds restarts) is a
    Keras weight, so it is saved in ``.keras`` files and training resumes exactly.

    Calling the layer returns a dict: ``quantized`` (straight-through output, the
    input's shape), ``indices`` (int32 ``[batch, *grid]``), ``codebook_loss`` and
    ``commitment_loss`` (float32 ``[batch]``), ``perplexity`` (exp of the entropy of
    the batch's code histogram) and ``codes_in_use`` (the share of the codebook the
    batch uses), the last two scalars, from the (weighted) code counts. With
    ``training=True`` the EMA, k-means and restart updates run; ``sample_weight``
    (``[batch]``, >= 0) weighs the examples in them.

    Args:
        num_embeddings: K, the number of codes (>= 2).
        embedding_dim: D, the size of each code (the input's last axis).
        commitment_cost: beta of the commitment loss (default 0.25).
        ema_decay: decay of the EMA updates, or ``None`` to train the codebook by gradient.
        epsilon: Laplace smoothing of the EMA counts.
        codebook_init: ``"kmeans"`` (on the first training batch) or ``"uniform"``.
        kmeans_iters: Lloyd iterations after k-means++ seeding.
        dead_code_steps: training batches a code may go unused before it is
            re-seeded; ``None`` for no restarts.
        seed: seed of the k-means++ draws and the restarts.

    Example:
        >>> import numpy as np, keras_vae as kv
        >>> vq = kv.quantizers.VectorQuantizer(num_embeddings=4, embedding_dim=2)
        >>> out = vq(np.zeros((3, 5, 5, 2), "float32"))
        >>> out["quantized"].shape, out["indices"].shape, out["commitment_loss"].shape
        (TensorShape([3, 5, 5, 2]), TensorShape([3, 5, 5]), TensorShape([3]))
    """

    def __init__(
        self,
        num_embeddings: int = 128,
        embedding_dim: int = 16,
        commitment_cost: float = 0.25,
        ema_decay: float | None = 0.99,
        epsilon: float = 1e-5,
        codebook_init: str = "kmeans",
        kmeans_iters: int = 10,
        dead_code_steps: int | None = 100,
        seed: int = 0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_embeddings = check_number(num_embeddings, "num_embeddings", minimum=2, integer=True)
        self.num_embeddings = int(self.num_embeddings)
        self.embedding_dim = int(check_number(embedding_dim, "embedding_dim", minimum=1, integer=True))
        self.commitment_cost = float(check_number(commitment_cost, "commitment_cost", minimum=0.0))
        if ema_decay is not None:
            ema_decay = float(check_number(ema_decay, "ema_decay", minimum=0.0, maximum=1.0, exclusive_minimum=True))
            if ema_decay >= 1.0:
                raise ValueError(f"ema_decay must be < 1 (or None for a gradient-trained codebook), got {ema_decay}.")
        self.ema_decay = ema_decay
        self.epsilon = float(check_number(epsilon, "epsilon", minimum=0.0, exclusive_minimum=True))
        if codebook_init not in CODEBOOK_INITS:
            raise ValueError(f"codebook_init must be one of {CODEBOOK_INITS}, got {codebook_init!r}.")
        self.codebook_init = codebook_init
        self.kmeans_iters = int(check_number(kmeans_iters, "kmeans_iters", minimum=0, integer=True))
        if dead_code_steps is not None:
            dead_code_steps = int(check_number(dead_code_steps, "dead_code_steps", minimum=1, integer=True))
        self.dead_code_steps = dead_code_steps
        self.seed = int(check_number(seed, "seed", minimum=0, integer=True))

    # ------------------------------------------------------------------ build
    def build(self, input_shape):
        channels = input_shape[-1]
        if channels != self.embedding_dim:
            raise ValueError(
                f"The quantizer's embedding_dim is {self.embedding_dim} but its input has "
                f"{channels} channels (input shape {tuple(input_shape)}): the encoder's last "
                "axis must equal embedding_dim."
            )
        k, d = self.num_embeddings, self.embedding_dim
        limit = 1.0 / k
        self.codebook = self.add_weight(
            name="codebook", shape=(k, d), dtype="float32",
            initializer=keras.initializers.RandomUniform(-limit, limit, seed=self.seed),
            trainable=self.ema_decay is None, aggregation=_SAME_ON_EVERY_REPLICA,
        )
        if self.ema_decay is not None:
            self.ema_count = self.add_weight(
                name="ema_count", shape=(k,), dtype="float32", initializer="ones", trainable=False,
                aggregation=_SAME_ON_EVERY_REPLICA,
            )
            self.ema_sum = self.add_weight(
                name="ema_sum", shape=(k, d), dtype="float32", initializer="zeros", trainable=False,
                aggregation=_SAME_ON_EVERY_REPLICA,
            )
            self.ema_sum.assign(self.codebook)
        self.initialized = self.add_weight(
            name="initialized", shape=(), dtype="int32", trainable=False,
            initializer=keras.initializers.Constant(0 if self.codebook_init == "kmeans" else 1),
            aggregation=_SAME_ON_EVERY_REPLICA,
        )
        self.unused_steps = self.add_weight(
            name="unused_steps", shape=(k,), dtype="int32", initializer="zeros", trainable=False,
            aggregation=_SAME_ON_EVERY_REPLICA,
        )
        self.step = self.add_weight(
            name="step", shape=(), dtype="int32", initializer="zeros", trainable=False,
            aggregation=_SAME_ON_EVERY_REPLICA,
        )

    # --------------------------------------------------------------- helpers
    def _seed(self, stream: int) -> tf.Tensor:
        return tf.stack([tf.constant(self.seed, tf.int32) + 7919 * stream, tf.convert_to_tensor(self.step)])

    def nearest(self, flat: tf.Tensor) -> tf.Tensor:
        """Index of the nearest code of each row of ``flat`` ``[n, D]`` (int32)."""
        distances = stats.squared_distances(flat, tf.convert_to_tensor(self.codebook))
        return tf.argmin(distances, axis=1, output_type=tf.int32)

    def lookup(self, indices: tf.Tensor) -> tf.Tensor:
        """The codes at ``indices`` (int, any shape): ``[*indices.shape, D]``."""
        return tf.gather(tf.convert_to_tensor(self.codebook), tf.cast(indices, tf.int32))

    def kmeans(self, flat: tf.Tensor, seed: tf.Tensor, weights: tf.Tensor | None = None) -> tf.Tensor:
        """K centres of ``flat`` ``[n, D]`` (rows weighted by ``weights`` ``[n]``):
        k-means++ seeding, then ``kmeans_iters`` Lloyd iterations (an empty cluster
        keeps its centre)."""
        return stats.kmeans(flat, weights, self.num_embeddings, self.kmeans_iters, seed)

    def _initial_state(self, pool: tf.Tensor, weights: tf.Tensor | None):
        """``(due, codebook, ema_count, ema_sum)``: k-means centres (and the EMA state
        restarted from them) on the first training batch that carries weight, else
        the current state. Nothing is assigned here: under ``tf.distribute`` a
        variable's write is a synchronization point, which a ``tf.cond`` cannot hold."""
        codebook = tf.convert_to_tensor(self.codebook)
        ema = None
        if self.ema_decay is not None:
            ema = (tf.convert_to_tensor(self.ema_count), tf.convert_to_tensor(self.ema_sum))
        if self.codebook_init != "kmeans":
            return (None, codebook, *(ema or (None, None)))
        due = tf.equal(tf.convert_to_tensor(self.initialized), 0)
        if weights is not None:
            due = tf.logical_and(due, tf.reduce_sum(weights) > 0)
        codebook = tf.cond(due, lambda: self.kmeans(pool, self._seed(1), weights), lambda: codebook)
        if ema is None:
            return due, codebook, None, None
        ema_count = tf.where(due, tf.ones([self.num_embeddings]), ema[0])
        ema_sum = tf.where(due, codebook, ema[1])
        return due, codebook, ema_count, ema_sum

    def _training_updates(self, state, flat, indices, counts, weights, pool, pool_weights, context) -> list:
        """EMA codebook update, then dead-code restarts, then the step counter, from
        ``state`` (``_initial_state``'s).

        ``counts`` are the (weighted, all-replica) code counts; ``pool`` and
        ``pool_weights`` the whole batch's encoder outputs that restarts draw from."""
        k = self.num_embeddings
        initialized, codebook, ema_count, ema_sum = state
        ops = []
        if self.ema_decay is not None:
            d = self.ema_decay
            sums = stats.code_sums(flat, indices, weights, k, context)
            ema_count = d * ema_count + (1.0 - d) * counts
            ema_sum = d * ema_sum + (1.0 - d) * sums
            total = tf.reduce_sum(ema_count)
            smoothed = (ema_count + self.epsilon) / (total + k * self.epsilon) * total
            codebook = ema_sum / smoothed[:, None]
        unused = tf.where(counts > 0, 0, tf.convert_to_tensor(self.unused_steps) + 1)
        if self.dead_code_steps is not None:
            dead = unused >= self.dead_code_steps
            if pool_weights is not None:  # nothing to re-seed from in a batch without weight
                dead = tf.logical_and(dead, tf.reduce_sum(pool_weights) > 0)
            picks = stats.draw_positions(k, tf.shape(pool)[0], pool_weights, self._seed(2))
            codebook = tf.where(dead[:, None], tf.gather(pool, picks), codebook)
            if self.ema_decay is not None:
                ema_sum = tf.where(dead[:, None], codebook, ema_sum)
                ema_count = tf.where(dead, 1.0, ema_count)
            unused = tf.where(dead, 0, unused)
        ops.append(self.codebook.assign(codebook))
        if self.ema_decay is not None:
            ops += [self.ema_count.assign(ema_count), self.ema_sum.assign(ema_sum)]
        if initialized is not None:
            ops.append(self.initialized.assign(tf.maximum(tf.convert_to_tensor(self.initialized),
                                                          tf.cast(initialized, tf.int32))))
        ops.append(self.unused_steps.assign(unused))
        ops.append(self.step.assign_add(1))
        return ops

    # ------------------------------------------------------------------ call
    def call(self, inputs, training=None, sample_weight=None) -> dict[str, Any]:
        z_e = tf.cast(inputs, tf.float32)
        flat = tf.reshape(z_e, [-1, self.embedding_dim])
        batch = tf.shape(z_e)[0]
        weights = None
        if sample_weight is not None:
            weights = stats.position_weights(sample_weight, batch, tf.shape(flat)[0] // tf.maximum(batch, 1))
        # Several replicas in sync: the statistics are the whole batch's.
        context = stats.replica_context() if training else None
        pool, pool_weights = flat, weights
        if training and (self.codebook_init == "kmeans" or self.dead_code_steps is not None):
            pool, pool_weights = stats.whole_batch(tf.stop_gradient(flat), weights, context)
        state = self._initial_state(pool, pool_weights) if training else None
        codebook = tf.convert_to_tensor(self.codebook) if state is None else state[1]
        flat_indices = tf.argmin(stats.squared_distances(flat, codebook), axis=1, output_type=tf.int32)
        indices = tf.reshape(flat_indices, tf.shape(z_e)[:-1])
        z_q = tf.gather(codebook, indices)
        sq = lambda t: tf.reduce_sum(tf.reshape(t**2, [batch, -1]), axis=1)  # noqa: E731
        codebook_loss = sq(tf.stop_gradient(z_e) - z_q)
        commitment_loss = self.commitment_cost * sq(z_e - tf.stop_gradient(z_q))
        quantized = z_e + tf.stop_gradient(z_q - z_e)
        counts = stats.code_counts(flat_indices, weights, self.num_embeddings, context)
        probs = counts / tf.maximum(tf.reduce_sum(counts), 1e-30)
        perplexity = tf.exp(-tf.reduce_sum(tf.math.xlogy(probs, probs)))
        in_use = tf.reduce_mean(tf.cast(counts > 0, tf.float32))
        if training:
            updates = self._training_updates(
                state, tf.stop_gradient(flat), flat_indices, counts, weights, pool, pool_weights, context
            )
            with tf.control_dependencies(updates):
                quantized = tf.identity(quantized)
        return {
            "quantized": tf.cast(quantized, inputs.dtype) if hasattr(inputs, "dtype") else quantized,
            "indices": indices,
            "codebook_loss": codebook_loss,
            "commitment_loss": commitment_loss,
            "perplexity": perplexity,
            "codes_in_use": in_use,
        }

    def compute_output_spec(self, inputs, training=None, sample_weight=None):
        shape = tuple(inputs.shape)
        return {
            "quantized": keras.KerasTensor(shape, "float32"),
            "indices": keras.KerasTensor(shape[:-1], "int32"),
            "codebook_loss": keras.KerasTensor(shape[:1], "float32"),
            "commitment_loss": keras.KerasTensor(shape[:1], "float32"),
            "perplexity": keras.KerasTensor((), "float32"),
            "codes_in_use": keras.KerasTensor((), "float32"),
        }

    def get_config(self):
        config = super().get_config()
        config.update(
            num_embeddings=self.num_embeddings,
            embedding_dim=self.embedding_dim,
            commitment_cost=self.commitment_cost,
            ema_decay=self.ema_decay,
            epsilon=self.epsilon,
            codebook_init=self.codebook_init,
            kmeans_iters=self.kmeans_iters,
            dead_code_steps=self.dead_code_steps,
            seed=self.seed,
        )
        return config


register_base("quantizer", VectorQuantizer)
