"""The pieces every SavedModel signature is built from: component-tagged tracing
errors, in-graph input checks, float32 outputs, the ``encode`` outputs of a posterior.
Shared by the VAE's, the conditioned and the family exports."""
from __future__ import annotations

import contextlib
from typing import Any

import tensorflow as tf

from keras_vae._random import fresh_seed


class _ComponentTraceError(Exception):
    """A component raised while a signature was being traced."""

    def __init__(self, component: str, obj: Any, error: BaseException):
        super().__init__(str(error))
        self.component = component
        self.obj = obj
        self.error = error


@contextlib.contextmanager
def _component(name: str, obj: Any):
    """Tag an exception raised inside with the component that raised it."""
    try:
        yield
    except _ComponentTraceError:
        raise
    except Exception as err:  # noqa: BLE001 - re-raised with context below
        raise _ComponentTraceError(name, obj, err) from err



def _f32(t) -> tf.Tensor:
    return tf.cast(t, tf.float32)


def _checked_input(t, example_shape, name: str, finite: bool = False) -> tf.Tensor:
    """``t`` behind in-graph checks that travel with the SavedModel.

    A signature's declared input shape is not enforced by every client (TF Serving
    feeds whatever a request holds, and a flattening encoder would accept a
    ``(2, 56, 14, 1)`` batch for a 28x28 model), so the example shape is checked in
    the graph; with ``finite`` NaN/inf are refused too. A failed check is an
    ``INVALID_ARGUMENT`` error whose message starts with ``keras_vae:``.
    """
    example_shape = [int(d) for d in example_shape]
    shape = tf.shape(t)
    rank = len(example_shape) + 1
    # Padded so the slice is valid for any rank; the rank test makes it exact.
    padded = tf.concat([shape, tf.zeros([rank], shape.dtype)], axis=0)
    ok = tf.logical_and(
        tf.equal(tf.size(shape), rank),
        tf.reduce_all(tf.equal(padded[1:rank], tf.constant(example_shape, shape.dtype))),
    )
    expected = ", ".join(map(str, ["batch", *example_shape]))
    checks = [
        tf.debugging.Assert(
            ok, [f"keras_vae: {name} must have shape ({expected}); got shape", shape]
        )
    ]
    if finite:
        checks.append(
            tf.debugging.assert_all_finite(
                t, f"keras_vae: {name} contains NaN or infinite values"
            )
        )
    with tf.control_dependencies(checks):
        return tf.identity(t)


def encode_outputs(posterior, params) -> dict:
    """The ``encode`` signature's outputs: q's named parameters (or its point) and a sample ``z``."""
    with _component("posterior", posterior):
        q = posterior.distribution(params)
        try:
            natural = posterior.natural_parameters(params)
        except NotImplementedError:
            # A posterior that does not name its parameters still has a point.
            natural = {"point": posterior.point(params)}
        if not isinstance(natural, dict) or "z" in natural:
            raise TypeError(
                "natural_parameters() must return a dict of tensors without the key "
                f"'z' (reserved for the sample); got {natural!r}."
            )
        outputs = {str(k): _f32(v) for k, v in natural.items()}
        outputs["z"] = _f32(q.sample(seed=fresh_seed()))
    return outputs
