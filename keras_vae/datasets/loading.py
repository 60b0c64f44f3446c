"""``load_dataset``: a data set by name, or the user's own file or folder."""
from __future__ import annotations

import os
import pathlib
from typing import Callable

import numpy as np

from keras_vae.datasets.files import _load_array_file, load_image_folder
from keras_vae.datasets.mnist import _check_split, _find_file, load_fashion_mnist, load_mnist, load_sample
from keras_vae.datasets.tabular import TABULAR_EXTENSIONS, load_table

# ------------------------------------------------------------------ dispatch
def _named(loader):
    def load(split, normalize, **kwargs):
        return loader(split=split, normalize=normalize, **kwargs)

    return load


_NAMED_LOADERS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    "mnist": _named(load_mnist),
    "fashion_mnist": _named(load_fashion_mnist),
    "sample": lambda split, normalize, **_: load_sample(split, normalize),
}
_ALIASES = {"fashion-mnist": "fashion_mnist", "mnist_sample": "sample"}


def load_dataset(
    name_or_path: str | os.PathLike,
    split: str = "train",
    normalize: bool = True,
    **kwargs,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Load a data set by name or from a file or folder.

    Accepted:

    * ``"mnist"``, ``"fashion_mnist"`` (or ``"fashion-mnist"``), ``"sample"`` (the
      bundled MNIST subset): see :func:`load_mnist`; extra keyword arguments
      (``path=``, ``download=``) go to the loader;
    * a ``.npz`` file with arrays ``x_<split>`` / ``y_<split>`` (the
      ``keras.datasets`` layout), or ``x`` / ``y``, or a single array;
    * a ``.npy`` file (one array, no labels; ``split`` is ignored);
    * a CSV / TSV file (``.csv``, ``.tsv``, ``.tab``, ``.txt``): its numeric columns,
      one example per row, no labels (see :func:`read_table`; ``split`` is ignored;
      text columns left out are named in a ``DroppedColumnsWarning``;
      ``drop_columns=[...]`` leaves columns out by name);
    * a folder holding the four standard IDX files (MNIST / Fashion-MNIST layout);
    * a folder of images (see :func:`load_image_folder`; keyword arguments
      ``image_size`` and ``color_mode`` go there); if it has a ``<split>``
      subfolder, that is used.

    With ``normalize=True``, uint8 data (8-bit files, image folders) are scaled to
    float32 in [0, 1] by ``x / 255`` (and an ``(N, H, W)`` uint8 stack gets a channel
    axis); when their maximum is below 128 a ``FewLevelsWarning`` names the likely
    levels (``x / 255`` would squeeze levels 0..16 into [0, 0.063]). With
    ``normalize=False`` they stay the stored uint8 levels (image folders included),
    as the integer-valued likelihoods need. Other dtypes are never rescaled.

    Returns:
        ``(x, y)``, with ``y`` ``None`` when there are no labels.

    Raises:
        ValueError: an unknown name (the message lists the valid ones).
        FileNotFoundError: a path that does not exist.

    Example:
        >>> from keras_vae.datasets import load_dataset
        >>> x, y = load_dataset("sample", split="test")
        >>> x.shape
        (1000, 28, 28, 1)
    """
    _check_split(split)
    key = str(name_or_path)
    name = _ALIASES.get(key.lower(), key.lower())
    if name in _NAMED_LOADERS:
        return _NAMED_LOADERS[name](split, normalize, **kwargs)
    path = pathlib.Path(key).expanduser()
    if path.suffix in (".npz", ".npy"):
        if not path.is_file():
            raise FileNotFoundError(f"No such file: {path}")
        if kwargs:
            raise TypeError(f"Unexpected arguments for an array file: {sorted(kwargs)}.")
        return _load_array_file(path, split, normalize)
    if path.suffix.lower() in TABULAR_EXTENSIONS:
        if set(kwargs) - {"drop_columns"}:
            raise TypeError(f"Unexpected arguments for a table file: {sorted(set(kwargs) - {'drop_columns'})}.")
        return load_table(path, **kwargs)
    if path.is_dir():
        # A folder of the standard IDX files (MNIST or Fashion-MNIST layout).
        if _find_file(path, "train-images-idx3-ubyte") is not None:
            return load_mnist(split=split, path=path, normalize=normalize, download=False)
        folder = path / split if (path / split).is_dir() else path
        return load_image_folder(folder, normalize=normalize, **kwargs)
    if path.exists():
        raise ValueError(
            f"Cannot read {key!r}: data files must end in .npz, .npy, "
            f"{', '.join(TABULAR_EXTENSIONS)}, or be a folder of images."
        )
    raise ValueError(
        f"Unknown dataset {key!r}: not one of the names {', '.join(sorted(_NAMED_LOADERS))} "
        "and no file or folder of that name exists (files: .npz, .npy, "
        f"{', '.join(TABULAR_EXTENSIONS)}; or a folder of images)."
    )
