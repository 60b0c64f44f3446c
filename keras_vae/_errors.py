"""TensorFlow errors raised by keras_vae's in-graph checks, readable at a glance.

An in-graph check (``tf.debugging.assert_*``) that fails inside ``fit`` surfaces as
TensorFlow's ``InvalidArgumentError`` whose first line is only "Graph execution
error:", with keras_vae's own message buried below the stack of the node. The
context manager below re-raises such an error with that message on the first line
(same exception type, the original text kept below it).
"""
from __future__ import annotations

import contextlib
import re
from typing import Iterator

import tensorflow as tf

_OWN = re.compile(r"keras_vae: [^\n]*")


def first_line(message: str) -> str | None:
    """The keras_vae message inside a TensorFlow error text, if there is one.

    Example:
        >>> first_line("Graph execution error:\\n\\nDetected at node x\\n"
        ...            "keras_vae: the batch contains NaN : Tensor had NaN values")
        'keras_vae: the batch contains NaN : Tensor had NaN values'
    """
    found = _OWN.search(message)
    return None if found is None else found.group(0).strip()


@contextlib.contextmanager
def own_message_first() -> Iterator[None]:
    """Put keras_vae's message on the first line of TF errors raised inside.

    Example:
        >>> import tensorflow as tf
        >>> @tf.function
        ... def check(x):
        ...     return tf.debugging.assert_all_finite(x, "keras_vae: x has NaN")
        >>> try:
        ...     with own_message_first():
        ...         check(tf.constant([float("nan")]))
        ... except tf.errors.InvalidArgumentError as err:
        ...     print(str(err).splitlines()[0])
        keras_vae: x has NaN : Tensor had NaN values
    """
    try:
        yield
    except tf.errors.OpError as err:
        own = first_line(err.message)
        if own is None or err.message.startswith(own):
            raise
        try:
            clearer = type(err)(err.node_def, err.op, f"{own}\n\n{err.message}")
        except Exception:  # noqa: BLE001 - an OpError subclass with another signature
            raise err from None
        raise clearer from None
