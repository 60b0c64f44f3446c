"""The base class of priors over grids of code indices (kind ``"code_prior"``)."""
from __future__ import annotations

import math
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from keras_vae._arguments import check_number
from keras_vae.registry import register_base

tfd = tfp.distributions


class CodePrior(keras.layers.Layer):
    """An autoregressive prior over 2-D grids of code indices, in raster order.

    A subclass builds its layers in ``build()`` and maps a grid of codes ``[B, H, W]``
    (int32) to logits ``[B, H, W, K]`` in ``call``, where the logits at (i, j) may depend
    only on the codes strictly before (i, j) in raster order. The rest comes from here:
    ``configure`` (K and the grid, set by ``kv.VQVAE``), ``distribution`` /
    ``log_prob`` / ``bits_per_code`` (teacher forcing), and ``sample`` / ``sample_graph``
    (one ``tf.while_loop`` over the positions, traceable for a SavedModel). So a
    transformer prior is a plugin: subclass, register it as a ``"code_prior"``.

    Args:
        num_embeddings: K (set by the model).
        grid_shape: ``(height, width)`` of the code grid (set by the model).

    Example:
        >>> import keras, keras_vae as kv
        >>> class Unigram(kv.code_priors.CodePrior):      # ignores the context
        ...     def build(self, input_shape=None):
        ...         self.logits = self.add_weight(shape=(self.num_embeddings,), initializer="zeros")
        ...     def call(self, codes):
        ...         return keras.ops.zeros(keras.ops.shape(codes) + (self.num_embeddings,)) + self.logits
        >>> prior = Unigram(num_embeddings=4, grid_shape=(2, 3))
        >>> prior.sample(5, seed=0).shape
        TensorShape([5, 2, 3])
    """

    def __init__(self, num_embeddings: int | None = None, grid_shape: Sequence[int] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.num_embeddings = None
        self.grid_shape = None
        if num_embeddings is not None or grid_shape is not None:
            self.configure(num_embeddings=num_embeddings, grid_shape=grid_shape)
        self._sampler = None

    def configure(self, *, num_embeddings: int | None = None, grid_shape: Sequence[int] | None = None, **_) -> None:
        """Set K and the grid's shape (called by the model)."""
        if num_embeddings is not None:
            k = int(check_number(num_embeddings, "num_embeddings", minimum=2, integer=True))
            if self.num_embeddings is not None and self.num_embeddings != k:
                raise ValueError(f"{type(self).__name__} was made for {self.num_embeddings} codes, not {k}.")
            self.num_embeddings = k
        if grid_shape is not None:
            grid = [int(d) for d in grid_shape]
            if len(grid) != 2 or min(grid) < 1:
                raise ValueError(
                    f"{type(self).__name__} models 2-D grids of codes (height, width); got grid shape {tuple(grid)}."
                )
            if self.grid_shape is not None and list(self.grid_shape) != grid:
                raise ValueError(f"{type(self).__name__} was made for grids {tuple(self.grid_shape)}, not {tuple(grid)}.")
            self.grid_shape = grid

    def _ensure_built(self) -> None:
        if not self.built:
            if self.num_embeddings is None or self.grid_shape is None:
                raise ValueError(
                    f"{type(self).__name__} needs num_embeddings and grid_shape (or use it inside kv.VQVAE)."
                )
            self.build()

    def distribution(self, codes):
        """The per-position categoricals given ``codes`` (teacher forcing), as one
        ``tfd.Independent`` over the grid."""
        return tfd.Independent(tfd.Categorical(logits=tf.cast(self(codes), tf.float32)), reinterpreted_batch_ndims=2)

    def log_prob(self, codes) -> tf.Tensor:
        """``log p(codes)`` in nats per grid, float32 ``[batch]``."""
        codes = tf.cast(codes, tf.int32)
        return self.distribution(codes).log_prob(codes)

    def bits_per_code(self, codes) -> tf.Tensor:
        """``-log2 p(codes) / (height * width)`` per grid, float32 ``[batch]``."""
        return -self.log_prob(codes) / (math.prod(self.grid_shape) * math.log(2.0))

    def sample_graph(self, n, seed) -> tf.Tensor:
        """``n`` grids drawn in raster order with the stateless ``seed`` ``[2]``: a
        ``tf.while_loop`` over the positions, each step one call of the model and one
        ``tfd.Categorical`` draw (traceable with ``autograph=False``)."""
        h, w = self.grid_shape
        positions = h * w

        def body(p, codes):
            logits = tf.cast(self(codes), tf.float32)
            i, j = p // w, p % w
            draw = tfd.Categorical(logits=logits[:, i, j, :]).sample(
                seed=tf.random.experimental.stateless_fold_in(seed, p)
            )
            here = tf.reshape(tf.one_hot(p, positions, on_value=True, off_value=False), [1, h, w])
            return p + 1, tf.where(here, tf.cast(draw, tf.int32)[:, None, None], codes)

        _, codes = tf.while_loop(
            lambda p, codes: p < positions, body, (tf.constant(0), tf.zeros([n, h, w], tf.int32))
        )
        return codes

    def sample(self, n: int, seed=None) -> tf.Tensor:
        """``n`` grids of codes drawn in raster order, int32 ``[n, height, width]``.

        ``seed``: an int or a stateless seed ``[2]`` (fresh draws when ``None``).
        One compiled ``tf.function`` runs the whole loop over positions.
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be an integer >= 1, got {n!r}.")
        self._ensure_built()
        if seed is None:
            seed = tf.random.uniform([2], 0, 2**31 - 1, dtype=tf.int32)
        elif isinstance(seed, (int, np.integer)):
            seed = tf.constant([int(seed), 0], tf.int32)
        if self._sampler is None:
            self._sampler = tf.function(self.sample_graph, autograph=False)
        return self._sampler(tf.constant(int(n), tf.int32), tf.cast(seed, tf.int32))

    def get_config(self):
        config = super().get_config()
        config.update(num_embeddings=self.num_embeddings, grid_shape=self.grid_shape)
        return config


register_base("code_prior", CodePrior)
