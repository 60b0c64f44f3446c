"""Binarization of data in [0, 1]: static (once, numpy) and dynamic (every epoch, tf.data)."""
from __future__ import annotations

from typing import Any

import numpy as np

def binarize(x: Any, seed: int | np.random.Generator | None = None) -> np.ndarray:
    """Static binarization: each value ``p`` in [0, 1] becomes 1 with probability ``p``.

    Draw once and keep the result for a fixed binarized data set (e.g. a test set);
    for training use :func:`dynamic_binarization`, which draws afresh each epoch.

    Args:
        x: array of probabilities in [0, 1] (uint8 images are divided by 255 first).
        seed: int or ``numpy.random.Generator`` for reproducible draws.

    Returns:
        float32 array of 0s and 1s, the shape of ``x``.

    Example:
        >>> import numpy as np
        >>> from keras_vae.datasets import binarize
        >>> b = binarize(np.array([0.0, 1.0, 0.5, 0.5]), seed=0)
        >>> b.dtype, b[:2].tolist(), set(b.tolist()) <= {0.0, 1.0}
        (dtype('float32'), [0.0, 1.0], True)
    """
    probs = _as_probabilities(x)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return (rng.random(probs.shape, dtype=np.float32) < probs).astype(np.float32)


def _as_probabilities(x: Any) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype == np.uint8:
        return x.astype(np.float32) / np.float32(255.0)
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise ValueError(f"Can only binarize numbers, got dtype {x.dtype}.")
    x = x.astype(np.float32)
    if x.size and (not np.all(np.isfinite(x)) or x.min() < 0 or x.max() > 1):
        raise ValueError(
            "binarization needs values in [0, 1] (probabilities); got range "
            f"[{np.nanmin(x):g}, {np.nanmax(x):g}]. Scale the data first (e.g. x / 255)."
        )
    return x


def dynamic_binarization(
    dataset_or_array: Any,
    batch_size: int | None = 100,
    shuffle: bool = True,
    seed: int | None = None,
    drop_remainder: bool = False,
    condition: Any = None,
):
    """A ``tf.data`` pipeline that re-binarizes the data every epoch.

    Each pixel value ``p`` becomes 1 with probability ``p``, drawn inside the
    pipeline with stateless ``tf.random`` ops whose seeds come from
    ``tf.data.Dataset.random(..., rerandomize_each_iteration=True)``: every epoch
    (every iteration over the dataset) gets new binarizations, and with ``seed`` the
    whole sequence of epochs is reproducible. This is the "dynamic binarization" of
    MNIST used for log-likelihood results since Burda et al. (2015).

    Args:
        dataset_or_array: images in [0, 1] (uint8 is divided by 255): a numpy
            array, an ``(x, y)`` tuple (labels are dropped), or a
            ``tf.data.Dataset`` of single examples (or of ``(x, ...)`` tuples).
            A dataset that is already batched must be passed with
            ``batch_size=None``.
        batch_size: examples per batch; ``None`` leaves the batching as it is.
        shuffle: reshuffle the examples every epoch (arrays and unbatched datasets).
        seed: makes shuffling and binarization reproducible.
        drop_remainder: drop the last, smaller batch.
        condition: one condition per example of an in-memory array (e.g. the
            labels, for a model built with ``condition=``): the pipeline then
            yields ``{"x": binarized batch, "condition": its conditions}``. The x
            batches are the ones the same call without ``condition`` yields
            (same order, same draws), so a conditioned and an unconditioned model
            can be trained on identical data.

    Returns:
        A ``tf.data.Dataset`` yielding float32 batches of 0s and 1s (x only; with
        ``condition``, dicts), ready for ``vae.fit``.

    Raises:
        ValueError: values outside [0, 1], a ``batch_size`` < 1, or a
            ``condition`` given with a ``tf.data.Dataset`` or not one per example.

    Example:
        >>> import numpy as np
        >>> from keras_vae.datasets import dynamic_binarization
        >>> x = np.full((10, 4), 0.5, "float32")
        >>> ds = dynamic_binarization(x, batch_size=5, seed=0)
        >>> [b.shape for b in ds]
        [TensorShape([5, 4]), TensorShape([5, 4])]
        >>> labeled = dynamic_binarization(x, batch_size=5, seed=0, condition=np.arange(10))
        >>> [sorted(b) for b in labeled][0], next(iter(labeled))["condition"].shape
        (['condition', 'x'], TensorShape([5]))
    """
    import tensorflow as tf

    if batch_size is not None and int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1 or None, got {batch_size}.")
    if isinstance(dataset_or_array, tuple):
        dataset_or_array = dataset_or_array[0]
    if condition is not None and isinstance(dataset_or_array, tf.data.Dataset):
        raise ValueError(
            "dynamic_binarization takes condition= with an in-memory array of x only; "
            "for a tf.data.Dataset, map its x through the pipeline yourself."
        )
    if isinstance(dataset_or_array, tf.data.Dataset):
        ds = dataset_or_array
        if isinstance(ds.element_spec, (tuple, list)):
            ds = ds.map(lambda *e: e[0])
        elif isinstance(ds.element_spec, dict):
            raise ValueError("dynamic_binarization needs a dataset of x or (x, ...) tuples, not dicts.")
        ds = ds.map(_to_probabilities_tf)
        count = None
    else:
        probs = _as_probabilities(dataset_or_array)
        condition = _checked_condition(condition, len(probs))
        if batch_size is not None:
            ds = _in_memory_batches(probs, int(batch_size), shuffle, seed, drop_remainder, condition)
            return _binarized(ds, seed)
        count = len(probs)
        ds = tf.data.Dataset.from_tensor_slices(
            probs if condition is None else {"x": probs, "condition": condition}
        )
    if batch_size is not None:
        if shuffle:
            buffer = count if count is not None else 10_000
            ds = ds.shuffle(max(1, buffer), seed=seed, reshuffle_each_iteration=True)
        ds = ds.batch(int(batch_size), drop_remainder=drop_remainder)
    return _binarized(ds, seed)


def _checked_condition(condition: Any, count: int) -> np.ndarray | None:
    """``condition`` as an array of one entry per example (checked), or None."""
    if condition is None:
        return None
    condition = np.asarray(condition)
    if condition.ndim == 0 or len(condition) != count:
        got = "a scalar" if condition.ndim == 0 else f"{len(condition)} conditions"
        raise ValueError(f"condition= must hold one condition per example: {got} for {count} examples.")
    if not (np.issubdtype(condition.dtype, np.number) or condition.dtype == bool):
        raise ValueError(f"condition= must hold numbers, got dtype {condition.dtype}.")
    return condition


def _binarized(ds, seed):
    """Each batch of probabilities (or the ``"x"`` of a dict batch) drawn as 0s and
    1s, with a fresh seed per batch."""
    import tensorflow as tf

    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    ds = tf.data.Dataset.zip(ds, seeds)
    ds = ds.map(_draw, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def _draw(element, random_int):
    if isinstance(element, dict):
        return {**element, "x": _bernoulli(element["x"], random_int)}
    return _bernoulli(element, random_int)


def _in_memory_batches(probs: np.ndarray, batch_size: int, shuffle: bool, seed, drop_remainder: bool,
                       condition: np.ndarray | None = None):
    """Batches of an in-memory array, gathered by index.

    Shuffling the example indices and gathering each batch from one tensor gives
    the same batches as shuffling the examples themselves (``tf.data``'s shuffle
    order depends on its seed and buffer size only), at a fraction of the cost: the
    pipeline moves one int64 per example instead of a whole image, which on a
    two-core machine left the training step waiting for data."""
    import tensorflow as tf

    count = len(probs)
    data = tf.constant(probs)
    ds = tf.data.Dataset.range(count)
    if shuffle:
        ds = ds.shuffle(max(1, count), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    if condition is None:
        gather = lambda index: tf.gather(data, index)  # noqa: E731
    else:
        conditions = tf.constant(condition)
        gather = lambda index: {"x": tf.gather(data, index), "condition": tf.gather(conditions, index)}  # noqa: E731
    return ds.map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def _to_probabilities_tf(x):
    import tensorflow as tf

    if x.dtype == tf.uint8:
        return tf.cast(x, tf.float32) / 255.0
    return tf.cast(x, tf.float32)


def _bernoulli(probs, random_int):
    import tensorflow as tf

    seed = tf.stack(
        [tf.cast(random_int % 2147483647, tf.int32), tf.cast(random_int // 2147483647, tf.int32)]
    )
    noise = tf.random.stateless_uniform(tf.shape(probs), seed=seed, dtype=tf.float32)
    return tf.cast(noise < probs, tf.float32)
