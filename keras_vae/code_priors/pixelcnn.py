"""A gated PixelCNN prior over 2-D grids of code indices (van den Oord et al. 2016)."""
from __future__ import annotations

import math
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from keras_vae._arguments import check_number
from keras_vae.code_priors._masked_conv import MaskedConv2D
from keras_vae.registry import register, register_base

tfd = tfp.distributions


@register("code_prior", "pixelcnn")
class PixelCNNPrior(keras.layers.Layer):
    """p(k) = prod_{i,j} p(k_ij | codes above, codes to the left): an autoregressive
    prior over a grid of code indices in raster order.

    A gated PixelCNN (van den Oord et al. 2016, "Conditional Image Generation with
    PixelCNN Decoders"): an embedding of the codes feeds a vertical stack (masked
    ``k x k`` convolutions over the rows above, shifted down one row) and a horizontal
    stack (masked ``1 x k`` convolutions over the codes to the left; the first layer
    excludes the current code, "mask A"); every layer is gated,
    ``tanh(a) * sigmoid(b)``, and the horizontal stack is residual. Two 1x1 layers map
    its output to K logits per position. So the logits at (i, j) depend only on codes
    strictly before (i, j) in raster order, with no blind spot.

    ``sample`` draws whole grids in one ``tf.function``: a ``tf.while_loop`` over
    the positions (no Python call per position).

    Args:
        filters: channels of the stacks.
        num_layers: gated layers (the first one included).
        kernel_size: odd size of the masked kernels.
        num_embeddings: K (set by the model).
        grid_shape: ``(height, width)`` of the code grid (set by the model).

    Example:
        >>> import numpy as np, keras_vae as kv
        >>> prior = kv.code_priors.PixelCNNPrior(filters=8, num_layers=2,
        ...                                      num_embeddings=4, grid_shape=(3, 3))
        >>> prior.log_prob(np.zeros((2, 3, 3), "int32")).shape
        TensorShape([2])
        >>> prior.sample(5, seed=0).shape
        TensorShape([5, 3, 3])
    """

    def __init__(
        self,
        filters: int = 64,
        num_layers: int = 6,
        kernel_size: int = 5,
        num_embeddings: int | None = None,
        grid_shape: Sequence[int] | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = int(check_number(filters, "filters", minimum=1, integer=True))
        self.num_layers = int(check_number(num_layers, "num_layers", minimum=1, integer=True))
        self.kernel_size = int(check_number(kernel_size, "kernel_size", minimum=1, integer=True))
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}.")
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
                raise ValueError(f"PixelCNNPrior was made for {self.num_embeddings} codes, not {k}.")
            self.num_embeddings = k
        if grid_shape is not None:
            grid = [int(d) for d in grid_shape]
            if len(grid) != 2 or min(grid) < 1:
                raise ValueError(
                    f"PixelCNNPrior models 2-D grids of codes (height, width); got grid shape {tuple(grid)}."
                )
            if self.grid_shape is not None and list(self.grid_shape) != grid:
                raise ValueError(f"PixelCNNPrior was made for grids {tuple(self.grid_shape)}, not {tuple(grid)}.")
            self.grid_shape = grid

    def build(self, input_shape=None):
        if self.num_embeddings is None or self.grid_shape is None:
            raise ValueError("PixelCNNPrior needs num_embeddings and grid_shape (or use it inside kv.VQVAE).")
        f, k = self.filters, self.kernel_size
        self.embedding = keras.layers.Embedding(self.num_embeddings, f, name="embedding")
        self.vertical = [MaskedConv2D(2 * f, k, "vertical", name=f"vertical_{i}") for i in range(self.num_layers)]
        self.vertical_to_horizontal = [keras.layers.Dense(2 * f, name=f"v_to_h_{i}") for i in range(self.num_layers)]
        self.horizontal = [
            MaskedConv2D(2 * f, (1, k), "horizontal_a" if i == 0 else "horizontal_b", name=f"horizontal_{i}")
            for i in range(self.num_layers)
        ]
        self.horizontal_out = [keras.layers.Dense(f, name=f"h_out_{i}") for i in range(self.num_layers)]
        self.head = keras.layers.Dense(f, activation="relu", name="head")
        self.logits_layer = keras.layers.Dense(self.num_embeddings, name="logits")
        h, w = self.grid_shape
        self.embedding.build((None, h, w))
        for layer in self.vertical + self.horizontal:
            layer.build((None, h, w, f))
        for layer in self.vertical_to_horizontal:
            layer.build((None, h, w, 2 * f))
        for layer in self.horizontal_out:
            layer.build((None, h, w, f))
        self.head.build((None, h, w, f))
        self.logits_layer.build((None, h, w, f))

    @staticmethod
    def _gate(x):
        a, b = tf.split(x, 2, axis=-1)
        return tf.tanh(a) * tf.sigmoid(b)

    def call(self, codes):
        """Logits ``[batch, height, width, K]`` of each code given the codes before it."""
        x = self.embedding(tf.cast(codes, tf.int32))
        v, h = x, x
        for i in range(self.num_layers):
            v_pre = self.vertical[i](v)
            # Shift down one row: row i of the horizontal stack sees rows < i only.
            shifted = tf.pad(v_pre, [[0, 0], [1, 0], [0, 0], [0, 0]])[:, :-1]
            h_pre = self.horizontal[i](h) + self.vertical_to_horizontal[i](shifted)
            v = self._gate(v_pre)
            h_new = self.horizontal_out[i](self._gate(h_pre))
            h = h_new if i == 0 else h + h_new
        return self.logits_layer(self.head(tf.nn.relu(h)))

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

    def _sample_graph(self, n, seed):
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
        if not self.built:
            self.build()
        if seed is None:
            seed = tf.random.uniform([2], 0, 2**31 - 1, dtype=tf.int32)
        elif isinstance(seed, (int, np.integer)):
            seed = tf.constant([int(seed), 0], tf.int32)
        if self._sampler is None:
            self._sampler = tf.function(self._sample_graph, autograph=False)
        return self._sampler(tf.constant(int(n), tf.int32), tf.cast(seed, tf.int32))

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            num_layers=self.num_layers,
            kernel_size=self.kernel_size,
            num_embeddings=self.num_embeddings,
            grid_shape=self.grid_shape,
        )
        return config


register_base("code_prior", PixelCNNPrior)
