"""Helpers for the built-in bodies: a sequence of Keras layers built and applied in
order (kept as a plain list attribute so weight paths stay ``<body>/<name>``)."""
from __future__ import annotations

from typing import Sequence

import keras

from keras_vae._arguments import check_number


def check_units(units: Sequence[int], what: str = "hidden_units", allow_empty: bool = True) -> list[int]:
    """``units`` as a list of positive ints, or a ``ValueError`` naming ``what``.

    Example:
        >>> check_units([400, 200])
        [400, 200]
        >>> check_units(400)
        Traceback (most recent call last):
        ...
        ValueError: hidden_units must be a list of positive integers (one per layer), e.g. [400]; got 400.
    """
    qualifier = "positive" if allow_empty else "positive and non-empty"
    if isinstance(units, (str, bytes)) or not hasattr(units, "__iter__"):
        raise ValueError(
            f"{what} must be a list of {qualifier} integers (one per layer), e.g. [400]; "
            f"got {units!r}."
        )
    values = [check_number(u, f"{what}[{i}]", minimum=1, integer=True) for i, u in enumerate(units)]
    if not values and not allow_empty:
        raise ValueError(f"{what} must be {qualifier}, got {list(units)}.")
    return values


def dense_layers(
    units: Sequence[int], activation: str, dtype_policy, kernel_initializer: str = "glorot_uniform"
) -> list[keras.layers.Dense]:
    """One ``Dense`` layer per entry of ``units``, named ``dense_<i>``."""
    return [
        keras.layers.Dense(
            u,
            activation=activation,
            kernel_initializer=kernel_initializer,
            dtype=dtype_policy,
            name=f"dense_{i}",
        )
        for i, u in enumerate(units)
    ]


def build_layers(layers: Sequence[keras.layers.Layer], input_shape) -> tuple:
    """Build each layer on the previous one's output shape; return the last shape."""
    shape = tuple(input_shape)
    for layer in layers:
        layer.build(shape)
        shape = tuple(layer.compute_output_shape(shape))
    return shape


def apply_layers(layers: Sequence[keras.layers.Layer], x):
    for layer in layers:
        x = layer(x)
    return x
