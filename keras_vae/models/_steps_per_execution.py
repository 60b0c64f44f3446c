"""How many training steps one call of the compiled train function runs.

A small VAE's step is a few milliseconds of matrix products; Keras adds its own
per-step work around it (a Python round trip into the compiled function, fetching
the batch, the callbacks' hooks), which on a CPU was 60 % of the MLP's step
(``benchmarks/throughput.py --profile``). ``steps_per_execution=N`` runs N steps in
one ``tf.while_loop`` and pays that overhead once per N steps.

Keras' own rule for it is a fixed number, and batch-level callbacks then see every
Nth batch only. ``"auto"`` (a keras_vae model's default) keeps what a callback sees
right instead: it runs :data:`AUTO_STEPS` steps per call only when no callback of
the fit acts on single batches, and one step otherwise:

- the callbacks Keras and keras_vae ship that act per batch but count steps
  correctly under ``steps_per_execution`` (the progress bar, ``BackupAndRestore``
  with a batch ``save_freq``, the divergence guard, ``History``) do not count;
- any other callback that overrides a batch hook (``on_train_batch_end``,
  ``on_batch_begin``, ...) gets every batch: ``"auto"`` resolves to 1;
- ``run_eagerly`` and a distribution strategy (multi-worker, mirrored) also give 1;
- so does a fit of fewer than :data:`MIN_STEPS` steps in all (a small data set, a few
  epochs): the multi-step function costs more to trace and compile than it saves there.

Per-epoch callbacks (checkpoints, early stopping, learning-rate schedules, KL
warm-up) are unaffected: Keras ends an execution at the epoch's last batch.
Results do not change: the steps, their order, their batches and their noise (seeded
by the step counter) are the same, only grouped into fewer calls
(``tests/test_steps_per_execution.py`` compares the loss curves).
"""
from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

#: Steps per call under ``"auto"``: past 32 the MLP's gain flattens
#: (``benchmarks/throughput.py --steps-per-execution``).
AUTO_STEPS = 32
#: The fewest steps a fit must plan for ``"auto"`` to run several per call: whole fits
#: of the MLP (tracing and compiling included) break even at about 1,000 steps
#: (``benchmarks/steps_threshold.py``: 32 per call takes 1.23x as long at 512 steps,
#: 0.97x at 1,024, 0.75x at 4,096).
MIN_STEPS = 1024

_BATCH_HOOKS = (
    "on_batch_begin", "on_batch_end", "on_train_batch_begin", "on_train_batch_end",
    "on_test_batch_begin", "on_test_batch_end",
)


def check_request(value: Any) -> Any:
    """``value`` if it is ``"auto"`` or an integer >= 1, else a ``ValueError``."""
    if value == "auto":
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"steps_per_execution must be an integer >= 1 or 'auto', got {value!r}.")
    return value


def _counts_steps_right(callback: Any) -> bool:
    """Whether ``callback`` is one of the batch-level callbacks known to handle
    several steps per call (Keras reports the last step of the call to it)."""
    from keras_vae.models._finite import NonFiniteGuard

    safe = (keras.callbacks.ProgbarLogger, keras.callbacks.BackupAndRestore, keras.callbacks.History,
            NonFiniteGuard)
    return isinstance(callback, safe)


def acts_per_batch(callback: Any) -> bool:
    """Whether ``callback`` overrides one of Keras' batch-level hooks."""
    return any(
        getattr(type(callback), hook, None) is not getattr(keras.callbacks.Callback, hook)
        for hook in _BATCH_HOOKS
    )


def planned_steps(x: Any, batch_size: Any = None, steps_per_epoch: Any = None, epochs: int = 1,
                  initial_epoch: int = 0) -> int | None:
    """The training steps a ``fit`` with these arguments will take (None if unknown)."""
    epochs_left = max(1, int(epochs) - int(initial_epoch))
    if steps_per_epoch:
        return int(steps_per_epoch) * epochs_left
    if isinstance(x, tf.data.Dataset):
        cardinality = int(x.cardinality())
        return cardinality * epochs_left if cardinality >= 0 else None
    if isinstance(x, dict):
        x = x.get("x")
    try:
        examples = len(x)
    except TypeError:
        return None
    return -(-examples // int(batch_size or 32)) * epochs_left


def resolve(model: Any, request: Any, callbacks: Any, steps: int | None = None) -> int:
    """The steps per call for one ``fit`` of ``steps`` planned steps (see the
    module's docstring)."""
    if request != "auto":
        return int(request)
    if getattr(model, "run_eagerly", False) or (steps is not None and steps < MIN_STEPS):
        return 1
    if getattr(model, "_distribute_strategy", None) is not None or tf.distribute.has_strategy():
        return 1
    for callback in callbacks or ():
        if acts_per_batch(callback) and not _counts_steps_right(callback):
            return 1
    return AUTO_STEPS
