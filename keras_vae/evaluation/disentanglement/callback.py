"""Disentanglement metrics logged during ``fit``."""
from __future__ import annotations

from typing import Any, Sequence

import keras

from keras_vae.evaluation.disentanglement.metrics import METRICS, disentanglement_metrics


class DisentanglementCallback(keras.callbacks.Callback):
    """Computes :func:`disentanglement_metrics` every ``every`` epochs and adds them
    to the epoch's logs (so ``History``, ``CSVLogger`` and TensorBoard see them) as
    ``"<metric>/<score>"``, e.g. ``"mig/discrete_mig"``; ``scores`` keeps
    ``(epoch, results)`` of every evaluation.

    Args:
        data: ground-truth data, e.g. ``kv.datasets.DSprites.small()``.
        metrics: metric names (default MIG and SAP, the quick ones).
        every: epochs between evaluations (and after the last epoch of each call
            whose number is a multiple of it).
        num_train, num_test, seed: as :func:`disentanglement_metrics`.

    Example:
        >>> import keras_vae as kv
        >>> data = kv.datasets.DSprites.small()
        >>> callback = kv.evaluation.disentanglement.DisentanglementCallback(
        ...     data, metrics=["mig"], every=1, num_train=200)
        >>> vae = kv.VAE("mlp", "mlp", latent_dim=3, input_shape=(32, 32, 1), seed=0)
        >>> vae.compile(optimizer="adam")
        >>> x, _ = data.load(64, seed=0)
        >>> history = vae.fit(x, epochs=1, batch_size=32, verbose=0, callbacks=[callback])
        >>> "mig/discrete_mig" in history.history
        True
    """

    def __init__(self, data: Any, metrics: Sequence[str] = ("mig", "sap"), every: int = 1,
                 num_train: int = 2000, num_test: int = 1000, seed: int = 0):
        super().__init__()
        unknown = [m for m in metrics if m not in METRICS]
        if unknown or not metrics:
            raise ValueError(f"metrics must be names among {list(METRICS)}, got {list(metrics)!r}.")
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be an integer >= 1 (epochs), got {every!r}.")
        self.data = data
        self.metrics_to_compute = list(metrics)
        self.every = every
        self.num_train, self.num_test, self.seed = num_train, num_test, seed
        self.scores: list[tuple[int, dict]] = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if (epoch + 1) % self.every:
            return
        results = disentanglement_metrics(self.model, self.data, metrics=self.metrics_to_compute,
                                          num_train=self.num_train, num_test=self.num_test, seed=self.seed)
        self.scores.append((epoch, results))
        if logs is not None:
            for metric, values in results.items():
                for key, value in values.items():
                    logs[f"{metric}/{key}"] = float(value)

    def get_config(self) -> dict:
        return {"metrics": self.metrics_to_compute, "every": self.every, "num_train": self.num_train,
                "num_test": self.num_test, "seed": self.seed}
