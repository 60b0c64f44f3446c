"""Checks on what ``fit`` / ``evaluate`` / ``predict`` are given, before any update.

Finite input can still destroy a model: a NaN or infinite sample weight turns every
weight into NaN, a negative one trains uphill, and data of huge magnitude overflows
the float32 computations of the encoder and the likelihood. These checks refuse such
input with the fix, before Keras touches the model's weights or its optimizer.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

#: Largest data magnitude accepted. The model computes in float32: far beyond this, the
#: encoder's pre-activations and the likelihood's squared errors can overflow in the
#: first steps, and float64 data beyond float32's range (3.4e38) become inf on the
#: cast. tests/test_likelihood_edges.py checks that the Gaussian heads' log_prob and
#: gradients stay finite at this bound (+-1e8).
MAX_MAGNITUDE = 1e8
# The pipeline checks run in parallel (order is kept: map stays deterministic).
_PARALLEL = tf.data.AUTOTUNE

_RESCALE = (
    "Standardize the data first, e.g. x = (x - x.mean(axis=0)) / x.std(axis=0), or "
    "rescale it (images: x / 255)."
)


def check_x_given(x: Any, method: str) -> None:
    """``fit(None)`` and friends: a clear error instead of Keras' internals.

    Example:
        >>> check_x_given(None, "fit")
        Traceback (most recent call last):
        ...
        ValueError: fit() needs data: x is None. Pass x= a numpy array or tensor of examples (batch first), or a tf.data.Dataset of batches.
    """
    if x is None:
        raise ValueError(
            f"{method}() needs data: x is None. Pass x= a numpy array or tensor of "
            "examples (batch first), or a tf.data.Dataset of batches."
        )


def check_magnitude(array: np.ndarray, what: str = "x") -> None:
    """Refuse data whose magnitude overflows the model's float32 computations.

    Example:
        >>> check_magnitude(np.array([[1e300]]), "x")
        Traceback (most recent call last):
        ...
        ValueError: x holds values up to 1e+300 in magnitude, beyond float32's range (3.4e+38) in which the model computes; they would become inf. Standardize the data first, e.g. x = (x - x.mean(axis=0)) / x.std(axis=0), or rescale it (images: x / 255).
    """
    if array.size == 0:
        return
    largest = float(np.max(np.abs(array)))
    if largest <= MAX_MAGNITUDE:
        return
    f32_max = float(np.finfo(np.float32).max)
    if largest > f32_max:
        why = (
            f"beyond float32's range ({f32_max:.2g}) in which the model computes; they "
            "would become inf"
        )
    else:
        why = (
            f"above {MAX_MAGNITUDE:g}: the model computes in float32, where data this "
            "large overflows the encoder and the likelihood (NaN losses and weights)"
        )
    raise ValueError(f"{what} holds values up to {largest:.3g} in magnitude, {why}. {_RESCALE}")


def check_sample_weight(sample_weight: Any, x: Any, what: str = "sample_weight") -> None:
    """Sample weights must be finite, non-negative and one per example of ``x``.

    Example:
        >>> check_sample_weight(np.array([1.0, -2.0]), np.zeros((2, 3)))
        Traceback (most recent call last):
        ...
        ValueError: sample_weight holds 1 negative value(s) (smallest -2): a negative weight trains the model to fit those examples worse. Weights must be finite and >= 0 (0 leaves an example out).
    """
    if sample_weight is None:
        return
    if isinstance(x, tf.data.Dataset) or not hasattr(x, "__len__"):
        raise ValueError(
            f"{what}= cannot be given with x of type {type(x).__name__}: Keras takes "
            "sample weights from the data itself then. Make the dataset yield "
            "(x, y, sample_weight) tuples; y is unused by a VAE, e.g. "
            "dataset.map(lambda x, w: (x, tf.zeros(tf.shape(x)[:1]), w))."
        )
    weights = np.asarray(sample_weight)
    if not (np.issubdtype(weights.dtype, np.number) and not np.issubdtype(weights.dtype, np.complexfloating)):
        raise ValueError(f"{what} must hold real numbers, got dtype {weights.dtype}.")
    n = len(x)
    if weights.ndim == 2 and weights.shape[1] == 1:
        weights = weights[:, 0]
    if weights.shape != (n,):
        raise ValueError(
            f"{what} has shape {weights.shape}, but x has {n} examples: give one weight "
            f"per example, shape ({n},)."
        )
    finite = np.isfinite(weights)
    if not np.all(finite):
        bad = int(weights.size - np.count_nonzero(finite))
        raise ValueError(
            f"{what} holds {bad} NaN or infinite value(s) (first at index "
            f"{int(np.argmin(finite))}): one such weight turns every model weight into "
            "NaN. Weights must be finite and >= 0."
        )
    negative = weights < 0
    if np.any(negative):
        raise ValueError(
            f"{what} holds {int(np.count_nonzero(negative))} negative value(s) (smallest "
            f"{float(weights.min()):g}): a negative weight trains the model to fit those "
            "examples worse. Weights must be finite and >= 0 (0 leaves an example out)."
        )
    if n and not np.any(weights > 0):
        raise ValueError(
            f"{what} is 0 for all {n} examples: every example is left out, so there is "
            "nothing to train on or score (Keras would report a loss of 0.0). Give at "
            "least one example a positive weight."
        )


def _assert_weights(weights: tf.Tensor) -> tf.Tensor:
    weights = tf.convert_to_tensor(weights)
    as_float = tf.cast(weights, tf.float32)
    checks = [
        tf.debugging.assert_all_finite(
            as_float, "keras_vae: sample_weight holds NaN or infinite values; weights must be finite and >= 0"
        ),
        tf.debugging.assert_non_negative(
            as_float, message="keras_vae: sample_weight holds negative values; weights must be finite and >= 0"
        ),
    ]
    with tf.control_dependencies(checks):
        return tf.identity(weights)


def _largest_magnitude(x: tf.Tensor) -> tf.Tensor:
    """``max(|x|)`` of a float or integer batch, as a float64 scalar.

    Floats are reduced in their own dtype (float64 1e300 stays finite); NaN passes
    here and is refused by the model's NaN check with its own message. Integers are
    cast to float64 first: ``tf.abs`` has no kernel for unsigned types (a ``uint8``
    batch of 8-bit images raised a ``TypeError``), and the most negative signed value
    (-128 for ``int8``) has no absolute value in its own type.

    Example:
        >>> float(_largest_magnitude(tf.constant([[0, 255]], tf.uint8)))
        255.0
        >>> float(_largest_magnitude(tf.constant([-128, 5], tf.int8)))
        128.0
    """
    if x.dtype.is_integer:
        x = tf.cast(x, tf.float64)
    return tf.cast(tf.reduce_max(tf.abs(x)), tf.float64)


def _assert_magnitude(x: tf.Tensor) -> tf.Tensor:
    x = tf.convert_to_tensor(x)
    if not (x.dtype.is_floating or x.dtype.is_integer):
        return x
    largest = _largest_magnitude(x)
    check = tf.debugging.Assert(
        # Not logical_not(largest > MAX): Grappler rewrites that into <=, false for NaN.
        tf.logical_or(largest <= MAX_MAGNITUDE, tf.math.is_nan(largest)),
        [
            f"keras_vae: x holds values above {MAX_MAGNITUDE:g} in magnitude, which "
            "overflow the model's float32 computations. Standardize the data first, e.g. "
            "x = (x - mean) / std. Largest magnitude in the batch:",
            largest,
        ],
    )
    with tf.control_dependencies([check]):
        return tf.identity(x)


def with_pipeline_checks(data: Any, magnitude: bool = True) -> Any:
    """A ``tf.data.Dataset`` whose batches are checked in its input pipeline, so a bad
    batch fails before the step that would use it: sample weights (the third element
    of ``(x, y, sample_weight)``) finite and >= 0, and with ``magnitude`` the data
    within ``MAX_MAGNITUDE``. Anything else is returned as is.

    Example:
        >>> ds = tf.data.Dataset.from_tensor_slices(([[0.0]], [0.0], [-1.0])).batch(1)
        >>> try:
        ...     next(iter(with_pipeline_checks(ds)))
        ... except tf.errors.InvalidArgumentError as err:
        ...     print("keras_vae: sample_weight holds negative values" in str(err))
        True
    """
    if not isinstance(data, tf.data.Dataset):
        return data
    spec = data.element_spec
    check_x = _assert_magnitude if magnitude else (lambda x: x)
    if isinstance(spec, tf.TensorSpec):
        return data.map(check_x, num_parallel_calls=_PARALLEL) if magnitude else data
    if not isinstance(spec, tuple) or not spec or not isinstance(spec[0], tf.TensorSpec):
        return data
    if len(spec) == 3 and spec[2] is not None:
        return data.map(lambda x, y, w: (check_x(x), y, _assert_weights(w)), num_parallel_calls=_PARALLEL)
    if not magnitude:
        return data
    return data.map(lambda x, *rest: (check_x(x), *rest), num_parallel_calls=_PARALLEL)
