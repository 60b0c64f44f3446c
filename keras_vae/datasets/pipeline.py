"""A training pipeline whose order and binarization depend only on (seed, epoch).

``keras.Model.fit`` shuffles numpy data from a random state that moves on with every
epoch, and ``tf.data``'s ``reshuffle_each_iteration`` counts iterations of one
dataset object: after a restart (``keras.callbacks.BackupAndRestore``) both begin
again, so a resumed run would see other batches than the run that never stopped.
Here each epoch's permutation and binarization noise are stateless functions of the
seed and the epoch number, which :class:`EpochCounter` (a callback) sets before the
epoch starts; a resumed run therefore repeats exactly what the interrupted epoch would
have done.
"""
from __future__ import annotations

from typing import Any

import numpy as np


def epoch_pipeline(
    x: Any,
    batch_size: int,
    seed: int,
    shuffle: bool = True,
    binarize: bool = False,
):
    """``(dataset, callback)``: x-only batches for ``fit``, and the callback that
    tells the dataset which epoch it is (pass it to ``fit`` too).

    Args:
        x: the training examples (numpy), float32.
        batch_size: examples per batch (the last batch may be smaller).
        seed: the seed of every epoch's permutation and binarization.
        shuffle: a new order each epoch (a function of ``(seed, epoch)``).
        binarize: each value p in [0, 1] becomes 1 with probability p, drawn anew
            each epoch (dynamic binarization) from ``(seed, epoch, batch)``.

    Example:
        >>> import numpy as np
        >>> from keras_vae.datasets import epoch_pipeline
        >>> ds, counter = epoch_pipeline(np.arange(6, dtype="float32")[:, None], 3, seed=0)
        >>> sorted(float(v) for b in ds for v in b.numpy().ravel())
        [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    """
    import keras
    import tensorflow as tf

    data = tf.constant(np.asarray(x, np.float32))
    count = int(data.shape[0])
    epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="pipeline_epoch")
    seed = int(seed) % (2**31 - 1)

    def order(_):
        key = tf.stack([tf.constant(seed, tf.int64), epoch.read_value()])
        if shuffle:
            noise = tf.random.stateless_uniform([count], seed=key, dtype=tf.float32)
            return tf.argsort(noise, stable=True)
        return tf.range(count)

    ds = tf.data.Dataset.from_tensors(0).map(order).unbatch()
    ds = ds.batch(int(batch_size)).enumerate()

    def gather(batch_index, indices):
        batch = tf.gather(data, indices)
        if binarize:
            key = tf.stack([tf.constant(seed, tf.int64) + 1, epoch.read_value() * 1_000_003 + batch_index])
            noise = tf.random.stateless_uniform(tf.shape(batch), seed=key, dtype=tf.float32)
            batch = tf.cast(noise < batch, tf.float32)
        return batch

    ds = ds.map(gather).prefetch(2)

    class EpochCounter(keras.callbacks.Callback):
        """Sets the pipeline's epoch at the start of each epoch (resumed runs included)."""

        def on_epoch_begin(self, index, logs=None):
            epoch.assign(int(index))

    counter = EpochCounter()
    counter.epoch_variable = epoch
    return ds, counter
