"""Per-feature standardization whose statistics are saved beside a model."""
from __future__ import annotations

import json
import os
import pathlib
from typing import Any

import numpy as np

FILE_NAME = "standardization.json"


class Standardizer:
    """``(x - mean) / std`` per feature, with the statistics of the training data.

    Features whose standard deviation is (nearly) zero keep a scale of 1, so they
    are only centred. ``save`` / ``load`` keep the statistics in a small JSON file,
    which the ``keras-vae`` command writes beside ``model.keras``
    (``standardization.json``) so that later commands map data and outputs the
    same way.

    Args:
        mean: per-feature means, the shape of one example.
        std: per-feature standard deviations, the same shape.
        columns: optional feature names (kept in the file, for people).

    Example:
        >>> import numpy as np
        >>> from keras_vae.datasets import Standardizer
        >>> x = np.array([[1.0, 100.0], [3.0, 300.0]], "float32")
        >>> s = Standardizer.fit(x)
        >>> s.transform(x).tolist()
        [[-1.0, -1.0], [1.0, 1.0]]
        >>> np.allclose(s.inverse_transform(s.transform(x)), x)
        True
    """

    def __init__(self, mean: Any, std: Any, columns: list[str] | None = None):
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)
        if self.mean.shape != self.std.shape:
            raise ValueError(f"mean {self.mean.shape} and std {self.std.shape} differ in shape.")
        self.columns = None if columns is None else list(columns)

    @classmethod
    def fit(cls, x: Any, columns: list[str] | None = None) -> "Standardizer":
        """The statistics of ``x`` (examples along the first axis)."""
        x = np.asarray(x, np.float64)
        if len(x) < 2:
            raise ValueError(f"Standardizing needs at least 2 examples, got {len(x)}.")
        std = x.std(axis=0)
        std = np.where(std > 1e-8 * np.maximum(1.0, np.abs(x.mean(axis=0))), std, 1.0)
        return cls(x.mean(axis=0), std, columns)

    def transform(self, x: Any) -> np.ndarray:
        """Standardized float32 ``x``."""
        x = np.asarray(x, np.float32)
        if x.shape[1:] != self.mean.shape:
            raise ValueError(
                f"Examples of shape {x.shape[1:]} do not match the standardization statistics "
                f"of shape {self.mean.shape}."
            )
        return ((x - self.mean) / self.std).astype(np.float32)

    def inverse_transform(self, x: Any) -> np.ndarray:
        """Back to the data's own units."""
        return (np.asarray(x, np.float32) * self.std + self.mean).astype(np.float32)

    def get_config(self) -> dict:
        return {"mean": self.mean.tolist(), "std": self.std.tolist(), "columns": self.columns}

    @classmethod
    def from_config(cls, config: dict) -> "Standardizer":
        return cls(config["mean"], config["std"], config.get("columns"))

    def save(self, path: str | os.PathLike) -> None:
        """Write the statistics as JSON to ``path``."""
        pathlib.Path(path).write_text(json.dumps(self.get_config(), indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Standardizer":
        """Read statistics written by :meth:`save`."""
        try:
            return cls.from_config(json.loads(pathlib.Path(path).read_text(encoding="utf-8")))
        except (KeyError, ValueError, TypeError) as error:
            raise ValueError(f"{path} is not a standardization file: {error}") from None


def standardization_report(x: Any, columns: list[str] | None = None) -> str | None:
    """A sentence when ``x`` is far from standardized (and not in [0, 1]), else ``None``.

    Far means some feature has ``|mean| > 3`` or a standard deviation above 10 or
    below 0.01: a likelihood with a fixed or shared scale then trains badly.
    """
    x = np.asarray(x, np.float64).reshape(len(x), -1)
    if x.size == 0 or (x.min() >= 0.0 and x.max() <= 1.0):
        return None
    mean, std = x.mean(axis=0), x.std(axis=0)
    bad = np.flatnonzero((np.abs(mean) > 3.0) | (std > 10.0) | (std < 0.01))
    if bad.size == 0:
        return None
    j = int(bad[np.argmax(np.abs(mean[bad]) + std[bad])])
    name = columns[j] if columns is not None and j < len(columns) else f"feature {j}"
    return (
        f"the data are far from standardized ({bad.size} of {x.shape[1]} features; "
        f"{name} has mean {mean[j]:.3g} and standard deviation {std[j]:.3g})"
    )
