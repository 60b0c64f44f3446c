"""The top-down conv decoder of the conv hierarchy: a learned input, the group
combiners, the top-down priors p(z_l | z_{>l}) and the output features for p(x | z)."""
from __future__ import annotations

from typing import Sequence

import keras
import tensorflow as tf

from keras_vae.models._hierarchy.conv_cells import ResidualConvCell
from keras_vae.models._hierarchy.conv_heads import flat_pair


@keras.saving.register_keras_serializable(package="keras_vae")
class ConvTopDown(keras.layers.Layer):
    """NVAE's top-down path, small. The state starts from a learned tensor ``h0``
    (``[h_L, w_L, channels]``, the top scale's size, shared by every example); the
    top group z_L is merged in, then for each lower group z_l (top-down):

    - ``state_in(l)``: the state after z_{l+1}, upsampled (stride-2 transposed
      convolution) when z_l lies one scale lower;
    - ``p(z_l | z_{>l}) = N(mu, softplus(s) + min_scale)`` from a 3 x 3 convolution
      of ``state_in(l)``;
    - ``state_after(l) = cell(state_in(l) + conv1x1([state_in(l), z_l]))``.

    ``output(state_after(1))`` upsamples to the image size: the features of p(x | z).

    Args:
        group_shapes: each group's ``(h, w, c)`` map, z_1 first.
        groups_per_scale: groups per scale.
        channels: channels of the state.
        min_scale: lower bound on every prior scale.

    Example:
        >>> import numpy as np
        >>> td = ConvTopDown([(14, 14, 2), (7, 7, 2)], 1, 8)
        >>> tuple(td([np.zeros((3, 392), "float32"), np.zeros((3, 98), "float32")]).shape)
        (3, 28, 28, 8)
    """

    def __init__(self, group_shapes: Sequence[Sequence[int]], groups_per_scale: int, channels: int,
                 min_scale: float = 1e-4, **kwargs):
        super().__init__(**kwargs)
        self.group_shapes = [tuple(int(d) for d in s) for s in group_shapes]
        self.groups_per_scale = int(groups_per_scale)
        self.channels = int(channels)
        self.min_scale = float(min_scale)
        num = len(self.group_shapes)
        scales = num // self.groups_per_scale
        top_h, top_w, _ = self.group_shapes[-1]
        self.h0 = self.add_weight(shape=(top_h, top_w, self.channels), initializer="random_normal",
                                  name="h0", trainable=True)
        self.combiners = [keras.layers.Conv2D(self.channels, 1, name=f"combine_{g + 1}") for g in range(num)]
        self.cells = [ResidualConvCell(self.channels, name=f"cell_{g + 1}") for g in range(num)]
        self.prior_heads = [
            keras.layers.Conv2D(2 * self.group_shapes[g][2], 3, padding="same", name=f"prior_{g + 1}")
            for g in range(num - 1)
        ]
        # ups[s]: scale s + 1 -> scale s
        self.ups = [
            keras.layers.Conv2DTranspose(self.channels, 3, strides=2, padding="same", activation="silu",
                                         name=f"up_{s + 1}")
            for s in range(scales - 1)
        ]
        self.output_up = keras.layers.Conv2DTranspose(self.channels, 3, strides=2, padding="same",
                                                      activation="silu", name="output_up")
        self.output_conv = keras.layers.Conv2D(self.channels, 3, padding="same", activation="silu",
                                               name="output_conv")

    def scale_of(self, group: int) -> int:
        return group // self.groups_per_scale

    def initial(self, n) -> tf.Tensor:
        """The learned top-down input for ``n`` examples, ``[n, h_L, w_L, channels]``."""
        h0 = tf.convert_to_tensor(self.h0)
        return tf.broadcast_to(h0[None], tf.concat([[n], tf.shape(h0)], 0))

    def combine(self, group: int, state, z_flat, training=None):
        """``state_after(group)`` from ``state_in(group)`` and z_group ``[N, size]``."""
        h, w, c = self.group_shapes[group]
        z = tf.reshape(tf.cast(z_flat, state.dtype), [-1, h, w, c])
        state = state + self.combiners[group](tf.concat([state, z], axis=-1))
        return self.cells[group](state, training=training)

    def descend(self, group: int, state):
        """``state_in(group)`` from ``state_after(group + 1)``."""
        if self.scale_of(group) < self.scale_of(group + 1):
            return self.ups[self.scale_of(group)](state)
        return state

    def prior_params(self, group: int, state):
        """The flat ``[N, 2 size]`` (loc, raw scale) of p(z_group | z_{>group})."""
        return flat_pair(self.prior_heads[group](state))

    def loc_scale(self, params):
        loc, raw = tf.split(tf.cast(params, tf.float32), 2, axis=-1)
        return loc, tf.nn.softplus(raw) + self.min_scale

    def output(self, state, training=None):
        """The features of p(x | z) at the image size from ``state_after(z_1)``."""
        return self.output_conv(self.output_up(state))

    def call(self, groups, training=None):
        """The full pass over flat groups (z_1 first, each ``[N, size]``): the output
        features (builds every weight)."""
        num = len(self.group_shapes)
        state = self.combine(num - 1, self.initial(tf.shape(groups[-1])[0]), groups[-1], training)
        for g in range(num - 2, -1, -1):
            state = self.descend(g, state)
            self.prior_params(g, state)
            state = self.combine(g, state, groups[g], training)
        return self.output(state, training)

    def get_config(self):
        config = super().get_config()
        config.update(group_shapes=[list(s) for s in self.group_shapes], groups_per_scale=self.groups_per_scale,
                      channels=self.channels, min_scale=self.min_scale)
        return config
