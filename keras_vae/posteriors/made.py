"""MADE: the masked autoregressive network of an autoregressive flow, in Keras 3."""
from __future__ import annotations

from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from keras_vae._arguments import check_number


def _degrees(units: int, event_size: int) -> np.ndarray:
    """Hidden-unit degrees in 1..event_size-1, spread evenly (Germain et al., 2015)."""
    return np.arange(units) % max(1, event_size - 1) + 1


@keras.saving.register_keras_serializable(package="keras_vae")
class MADE(keras.layers.Layer):
    """Outputs ``(shift, log_scale)`` for every dimension of z, each depending only on
    the dimensions before it (and on an optional context vector, e.g. the encoder's
    features, as in Kingma et al. 2016).

    TFP's ``AutoregressiveNetwork`` does the same but is a Keras 2 layer, which a
    Keras 3 model cannot hold; this is its Keras 3 counterpart for
    ``tfp.bijectors.MaskedAutoregressiveFlow``. The last layer starts at zero, so an
    untrained flow is the identity.

    Args:
        event_size: dimensions of z.
        hidden_units: widths of the masked hidden layers (at least one).
        context_size: size of the context vector (0: none).
        activation: activation of the hidden layers.
        max_log_scale: ``log_scale`` is squashed into ``(-max, max)`` with tanh so the
            flow cannot overflow early in training.

    Example:
        >>> import numpy as np
        >>> made = MADE(event_size=3, hidden_units=[8])
        >>> shift, log_scale = made(np.zeros((2, 3), "float32"))
        >>> tuple(shift.shape), tuple(log_scale.shape)
        ((2, 3), (2, 3))
    """

    def __init__(
        self,
        event_size: int,
        hidden_units: Sequence[int] = (64,),
        context_size: int = 0,
        activation: str = "elu",
        max_log_scale: float = 3.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.event_size = int(check_number(event_size, "event_size", minimum=1, integer=True))
        self.hidden_units = [
            int(check_number(u, "hidden_units", minimum=1, integer=True)) for u in hidden_units
        ]
        if not self.hidden_units:
            raise ValueError("hidden_units must name at least one hidden layer, got [].")
        self.context_size = int(check_number(context_size, "context_size", minimum=0, integer=True))
        self.activation = keras.activations.get(activation)
        self._activation_name = activation
        self.max_log_scale = check_number(max_log_scale, "max_log_scale", minimum=0.0, exclusive_minimum=True)

    def build(self, input_shape=None):
        degrees_in = np.arange(1, self.event_size + 1)
        previous = degrees_in
        self._masks = []
        self.kernels = []
        self.biases = []
        for index, units in enumerate(self.hidden_units):
            degrees = _degrees(units, self.event_size)
            self._masks.append((degrees[None, :] >= previous[:, None]).astype("float32"))
            self.kernels.append(self.add_weight(
                shape=(len(previous), units), initializer="glorot_uniform", name=f"kernel_{index}"))
            self.biases.append(self.add_weight(shape=(units,), initializer="zeros", name=f"bias_{index}"))
            previous = degrees
        # Output d (shift and log-scale of z_d) sees hidden units of degree < d.
        out_mask = (degrees_in[None, :] > previous[:, None]).astype("float32")
        self._masks.append(np.concatenate([out_mask, out_mask], axis=1))
        self.kernels.append(self.add_weight(
            shape=(len(previous), 2 * self.event_size), initializer="zeros", name="kernel_out"))
        self.biases.append(self.add_weight(shape=(2 * self.event_size,), initializer="zeros", name="bias_out"))
        if self.context_size:
            self.context_kernel = self.add_weight(
                shape=(self.context_size, self.hidden_units[0]), initializer="glorot_uniform",
                name="context_kernel")

    def call(self, z, context=None, stop_gradient: bool = False):
        """``(shift, log_scale)``, each shaped like ``z``; ``context`` broadcasts
        against ``z``'s leading dimensions. ``stop_gradient`` holds the weights
        constant (for the doubly reparameterized gradient)."""
        hold = tf.stop_gradient if stop_gradient else (lambda t: t)
        h = tf.cast(z, tf.float32)
        last = len(self.kernels) - 1
        for index, (kernel, bias, mask) in enumerate(zip(self.kernels, self.biases, self._masks)):
            h = h @ hold(kernel * mask) + hold(bias)
            if index == 0 and self.context_size:
                if context is None:
                    raise ValueError(f"{self.name} was built with context_size={self.context_size}; pass context=.")
                h = h + tf.cast(context, tf.float32) @ hold(self.context_kernel)
            if index < last:
                h = self.activation(h)
        shift, raw = tf.split(h, 2, axis=-1)
        return shift, self.max_log_scale * tf.math.tanh(raw / self.max_log_scale)

    def get_config(self):
        config = super().get_config()
        config.update(
            event_size=self.event_size,
            hidden_units=list(self.hidden_units),
            context_size=self.context_size,
            activation=self._activation_name,
            max_log_scale=self.max_log_scale,
        )
        return config
