"""A gated PixelCNN prior over 2-D grids of code indices (van den Oord et al. 2016)."""
from __future__ import annotations

from typing import Sequence

import keras
import tensorflow as tf

from keras_vae._arguments import check_number
from keras_vae.code_priors._masked_conv import MaskedConv2D
from keras_vae.code_priors.code_prior import CodePrior
from keras_vae.registry import register


@register("code_prior", "pixelcnn")
class PixelCNNPrior(CodePrior):
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
        super().__init__(num_embeddings=num_embeddings, grid_shape=grid_shape, **kwargs)
        self.filters = int(check_number(filters, "filters", minimum=1, integer=True))
        self.num_layers = int(check_number(num_layers, "num_layers", minimum=1, integer=True))
        self.kernel_size = int(check_number(kernel_size, "kernel_size", minimum=1, integer=True))
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}.")

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

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, num_layers=self.num_layers, kernel_size=self.kernel_size)
        return config

