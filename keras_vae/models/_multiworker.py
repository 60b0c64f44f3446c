"""Keras 3.15 multi-worker workarounds (keras#20585), kept in one place to delete
when Keras reduces scalar logs and builds from tuples under multi-worker strategies."""
from __future__ import annotations

import keras
import tensorflow as tf


def multi_worker(strategy) -> bool:
    """Whether ``strategy`` is a MultiWorkerMirroredStrategy with several workers."""
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and bool(
        strategy.extended._in_multi_worker_mode()
    )


class MultiWorkerMixin:
    """The step logs and the symbolic build of a model trained by Keras 3.15 under
    ``MultiWorkerMirroredStrategy``."""

    def _step_logs(self) -> dict:
        """The logs a train / test step returns: the trackers' results."""
        logs = {m.name: m.result() for m in self.metrics}
        if multi_worker(self.distribute_strategy):
            # Keras 3.15 fault (keras#20585; Keras has no multi-worker tests): under
            # MultiWorkerMirroredStrategy, one_step_on_data reduces the step's logs
            # with strategy.reduce("MEAN", v, axis=0), which fails on scalars with
            # "Invalid reduction dimension 0 for input with 0 dimensions". Rank-1
            # logs of one element reduce to the same scalar. Remove when Keras
            # reduces scalar logs.
            logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
        return logs

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        if iterator is not None and multi_worker(self.distribute_strategy):
            # Keras 3.15 fault (keras#20585): under MultiWorkerMirroredStrategy,
            # Trainer._maybe_symbolic_build calls strategy.reduce("MEAN", batch) on
            # the first batch, which fails for an (x, y) or (x, y, sample_weight)
            # tuple of PerReplica values. The symbolic build needs only shapes, and
            # the model needs only x: hand it this worker's first x. Remove when Keras
            # builds from tuples under multi-worker strategies.
            for _, _, batches in iterator:
                x = keras.utils.unpack_x_y_sample_weight(next(batches))[0]
                data_batch = self.distribute_strategy.experimental_local_results(x)[0]
                break
            with self.distribute_strategy.scope():
                self._symbolic_build(data_batch=data_batch)
            return
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)
