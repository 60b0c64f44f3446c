"""Helpers shared by the evaluation tools: argument checks and batching."""
from __future__ import annotations

import weakref
from typing import Any, Callable, Hashable

import numpy as np
import tensorflow as tf

_INT32_MAX = 2**31 - 1


def _check_positive(value, name: str, allow_none: bool = True) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def _as_array(vae, x, what: str = "x") -> np.ndarray:
    """Validate eagerly (shape, NaN, support) and return a numpy array."""
    array = x.numpy() if isinstance(x, tf.Tensor) else np.asarray(x)
    vae.check_data(array, what)
    return array


def checked_condition(vae, x, condition, tool: str) -> tuple[np.ndarray, np.ndarray | None]:
    """``(x, condition)`` as numpy arrays, checked before anything runs: a
    conditioned model needs one condition per example (arrays, not a dataset), an
    unconditioned one takes none. Without a condition: ``(_as_array(x), None)``."""
    layer = getattr(vae, "condition_layer", None)
    if layer is None and condition is None:
        return _as_array(vae, x), None
    if layer is None:
        raise ValueError(
            f"{vae.name} has no condition, but {tool} was given condition=: it models p(x), "
            "not p(x | c). Drop condition=, or use a model built with condition=..."
        )
    if condition is None:
        raise ValueError(
            f"{vae.name} is conditioned ({type(layer).__name__}): give {tool}(..., condition=c), "
            "one condition per example of x."
        )
    if isinstance(x, tf.data.Dataset) or isinstance(condition, tf.data.Dataset):
        raise ValueError(f"A conditioned model's {tool} takes arrays: x and condition=, one per example.")
    x = x.numpy() if isinstance(x, tf.Tensor) else np.asarray(x)
    condition = condition.numpy() if isinstance(condition, tf.Tensor) else np.asarray(condition)
    vae.check_condition(condition, len(x))
    vae.check_data({"x": x, "condition": condition}, "x")
    return x, condition


def _batches(vae, x, batch_size: int, condition=None):
    """Yield batches of x: slices of an array, or the elements of a batched dataset;
    with ``condition`` (an array), ``{"x": ..., "condition": ...}`` slices of both."""
    if condition is not None:
        for start in range(0, len(x), batch_size):
            yield {"x": x[start : start + batch_size], "condition": condition[start : start + batch_size]}
        return
    if isinstance(x, tf.data.Dataset):
        vae.check_data(x)
        for element in x:
            if isinstance(element, (tuple, list)):
                element = element[0]
            yield element
        return
    for start in range(0, len(x), batch_size):
        yield x[start : start + batch_size]


def check_jit_compile(value):
    """``value`` if it is ``True``, ``False`` or ``"auto"``; else a ``ValueError``."""
    if not (isinstance(value, bool) or value == "auto"):
        raise ValueError(f"jit_compile must be True, False or 'auto', got {value!r}.")
    return value


def _num_examples(x) -> int | None:
    if isinstance(x, tf.data.Dataset):
        n = int(x.cardinality())
        return None if n < 0 else n
    return len(x)




# Traced functions, cached per model and key. The keys are weak and a function
# reaches its model only through the weak reference it is built with, so a model
# and its traces can be freed together.
_TRACED: "weakref.WeakKeyDictionary[Any, dict]" = weakref.WeakKeyDictionary()


def traced(vae, key: Hashable, build: Callable[["weakref.ref"], Any]):
    """The function ``build(weakref.ref(vae))`` made once per model and ``key``.

    ``key`` names the caller and every setting the function depends on (e.g.
    ``("log_likelihood.chunk", jit_compile)``). Refuses a VAE that is not built,
    before anything is traced.
    """
    if vae.data_shape is None:
        raise ValueError("The VAE is not built; give it input_shape= or data first.")
    cache = _TRACED.setdefault(vae, {})
    if key not in cache:
        cache[key] = build(weakref.ref(vae))
    return cache[key]
