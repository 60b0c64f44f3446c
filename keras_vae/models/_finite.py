"""Nothing non-finite ships: training that diverges stops with an error, and a model
whose weights are not finite is neither saved nor exported."""
from __future__ import annotations

import math

import keras
import numpy as np


class TrainingDivergedError(FloatingPointError):
    """``fit`` stopped because the loss or a weight became NaN or infinite.

    The model's weights in memory are those of the step that diverged (not finite);
    files written before it (``model.keras``, ``BackupAndRestore`` checkpoints) are
    left as they were, and ``save`` / ``export`` refuse the diverged weights.
    """


def non_finite_weights(model) -> list[str]:
    """Paths of the model's variables that hold NaN or infinite values."""
    return [v.path for v in model.weights if not np.all(np.isfinite(np.asarray(v)))]


def check_finite_weights(model, action: str) -> None:
    """Raise ``ValueError`` before ``action`` (``"save"``, ``"export"``) when a weight
    of ``model`` is NaN or infinite: a diverged model must not ship."""
    bad = non_finite_weights(model)
    if bad:
        shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        raise ValueError(
            f"Refusing to {action} {model.name}: its weights are not finite ({shown} hold "
            "NaN or inf), so training diverged. Lower the learning rate, check the data's "
            "range against the likelihood, and train again from the last good file."
        )


def _likely_cause(model) -> str:
    causes = []
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        rate = optimizer.learning_rate
        rate = float(np.asarray(rate)) if not callable(rate) else None
        if rate is not None:
            causes.append(f"a learning rate too high (it is {rate:g}; try {rate / 10:g})")
    likelihood = getattr(model, "likelihood_layer", None)
    if likelihood is not None:
        name = getattr(likelihood, "component_name", type(likelihood).__name__)
        causes.append(
            f"data far outside what the {name!r} likelihood expects (its range, or raw "
            "counts / large values that need scaling)"
        )
        scale = getattr(likelihood, "scale", None)
        if isinstance(scale, (int, float)) and scale < 1e-3:
            causes.append(f"a fixed likelihood scale of {scale:g}, too small to train with")
    return "; ".join(causes) or "a learning rate too high, or data the likelihood cannot take"


class NonFiniteGuard(keras.callbacks.Callback):
    """Stops ``fit`` with :class:`TrainingDivergedError` at the first batch whose loss
    is not finite (and at an epoch's end when a weight is not), naming the epoch, the
    step and the likely cause. ``LatentVariableModel.fit`` puts it first in the
    callbacks, so no later callback (a checkpoint) sees the diverged step."""

    def __init__(self):
        super().__init__()
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def _stop(self, what: str, step: str) -> None:
        self.model.stop_training = True
        raise TrainingDivergedError(
            f"Training diverged at epoch {self.epoch + 1}, {step}: {what}. Likely cause: "
            f"{_likely_cause(self.model)}. Nothing was saved from this step on: files "
            "written before it are intact, and save() / export() refuse these weights."
        )

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        value = float(np.asarray(loss).reshape(-1)[0])
        if not math.isfinite(value):
            step = int(np.asarray(self.model.optimizer.iterations))
            self._stop(f"the loss is {value}", f"step {step} (batch {batch + 1} of the epoch)")

    def on_epoch_end(self, epoch, logs=None):
        bad = non_finite_weights(self.model)
        if bad:
            self._stop(f"the weights {', '.join(bad[:3])} are not finite", "its end")
