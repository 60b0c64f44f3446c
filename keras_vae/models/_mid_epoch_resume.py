"""Exact resume from a mid-epoch ``keras.callbacks.BackupAndRestore(save_freq=N)``.

Keras restores such a backup's weights, optimizer state and epoch, but starts that
epoch again at its first batch: the batches trained before the backup are trained on
a second time, and a resumed run differs from an uninterrupted one. Its backup also
records the last batch it had seen (``training_metadata.json``: ``{"epoch": E,
"batch": b}``), and a model of this library uses it: in the resumed epoch the first
``b + 1`` batches are drawn from the data and passed over without a step, so training
continues with batch ``b + 1`` — the weights, the optimizer and the noise (seeded by
the step counter) are then exactly those of the uninterrupted run, provided the data
come in the same order (``shuffle=False``, or a pipeline ordered from a seed, as the
command line's). Batch-level callbacks still see those batches (with empty logs), so
their own counters run as before; the resumed epoch's reported loss averages only
the batches trained after the restart.

Keras' callback also writes ``epoch: 0`` in every backup made during the epoch it
resumed (its epoch counter starts at 0 and moves at epoch ends only), so a second
interruption there would restart from epoch 0: the counter is set to the restored
epoch as well.
"""
from __future__ import annotations

import json
import os
from typing import Any

import keras

from keras_vae._attributes import temporarily


def mid_epoch_backup(callbacks: Any) -> keras.callbacks.BackupAndRestore | None:
    """The ``BackupAndRestore`` among ``callbacks`` that backs up every N batches."""
    for callback in callbacks or ():
        if (
            isinstance(callback, keras.callbacks.BackupAndRestore)
            and isinstance(callback.save_freq, int)
            and not isinstance(callback.save_freq, bool)
        ):
            return callback
    return None


def batches_to_skip(model: Any, backup: keras.callbacks.BackupAndRestore) -> int:
    """How many batches of the restored epoch its backup had already trained on (0
    when nothing was restored, or the backup was made at an epoch's end). Call it
    after the callback's ``on_train_begin`` (the restore)."""
    path = getattr(backup, "_training_metadata_path", None)
    if not path or not os.path.isfile(path):
        return 0
    with open(path, encoding="utf-8") as handle:
        metadata = json.load(handle)
    epoch, batch = metadata.get("epoch"), metadata.get("batch")
    if not isinstance(epoch, int) or not isinstance(batch, int) or batch < 0:
        return 0
    if getattr(model, "_initial_epoch", None) != epoch:
        return 0  # Keras did not resume from this backup
    backup._current_epoch = epoch  # Keras' counter would write epoch 0 in this epoch
    return batch + 1


class SkippingTrainFunction:
    """Keras' train function, passing over the batches a mid-epoch backup had
    already trained on (see the module's docstring) before it steps again."""

    def __init__(self, function: Any, model: Any):
        self.function = function
        self.model = model
        self._single_step = None

    def __call__(self, iterator):
        model = self.model
        backup = getattr(model, "_mid_epoch_backup", None)
        if backup is not None:  # the first step of a fit(): the restore has run
            model._mid_epoch_backup = None
            model._batches_to_skip = batches_to_skip(model, backup)
        if getattr(model, "_batches_to_skip", 0) > 0:
            # Keras counts steps_per_execution batches per call: this call passes over
            # the rest of the skip and trains the remainder of its batches one step at
            # a time, so it consumes exactly the batches a normal call would.
            per_call = int(getattr(model, "steps_per_execution", 1) or 1)
            skipped = min(per_call, model._batches_to_skip)
            for _ in range(skipped):
                next(iterator)
                model._batches_to_skip -= 1
            logs = {}
            for _ in range(per_call - skipped):
                try:
                    logs = self._one_step()(iterator)
                except StopIteration:  # the data ended inside this call
                    if not logs:
                        raise
                    break
            return logs
        return self.function(iterator)

    def _one_step(self):
        """Keras' train function for one step per call (made once, when needed)."""
        if self._single_step is None:
            model = self.model
            # As the model's make_train_function: the checks stay outside XLA.
            with temporarily(model, steps_per_execution=1, jit_compile=False):
                self._single_step = model._make_function(model.train_step)
        return self._single_step

    def __getattr__(self, name: str):  # e.g. a tf.function's concrete functions
        return getattr(self.function, name)
