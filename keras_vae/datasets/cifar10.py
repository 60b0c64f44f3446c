"""CIFAR-10 from the official python-version tarball the user already has (no download).

The file is ``cifar-10-python.tar.gz`` as published by its authors (Krizhevsky 2009,
https://www.cs.toronto.edu/~kriz/cifar.html): a tar of ``cifar-10-batches-py/`` with five
training batches and a test batch, each a pickled dict holding ``data`` (uint8
``[10000, 3072]``, the red, green and blue planes of a 32x32 image one after the other)
and ``labels``. The library never downloads it: put the tarball (or its unpacked
``cifar-10-batches-py`` folder) in the data folder, ``$KERAS_VAE_DATA`` or
``$KERAS_VAE_DATA/cifar-10/``, or pass ``path=``.

The batches are read with an unpickler that builds nothing but numpy arrays, lists,
dicts, strings and numbers, so a tampered file cannot run code.
"""
from __future__ import annotations

import io
import os
import pathlib
import pickle
import tarfile

import numpy as np

from keras_vae.datasets.errors import DatasetNotFoundError
from keras_vae.datasets.locations import ENV_VAR, data_folder

ARCHIVE = "cifar-10-python.tar.gz"
FOLDER = "cifar-10-batches-py"
SPLIT_FILES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
# What a CIFAR batch pickle may build (numpy's array reconstruction, nothing else).
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("_codecs", "encode"),  # how protocol-2 pickles written by Python 3 store bytes
}


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(
                f"{module}.{name} is not allowed in a CIFAR-10 batch (only numpy arrays are)."
            )
        return super().find_class(module, name)


def _read_batch(raw: bytes, name: str) -> tuple[np.ndarray, np.ndarray]:
    batch = _ArraysOnly(io.BytesIO(raw), encoding="bytes").load()
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise ValueError(f"{name} is not a CIFAR-10 batch (a dict with 'data' and 'labels').")
    data = np.asarray(batch[b"data"], np.uint8)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(f"{name}'s data have shape {data.shape}, not (examples, 3072).")
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # planes -> (32, 32, 3)
    return images, np.asarray(batch[b"labels"], np.int64)


def candidates(path: str | os.PathLike | None = None) -> list[pathlib.Path]:
    """Where :func:`load_cifar10` looks, in order: ``path`` alone when given (the
    tarball under any name, the unpacked folder, or a folder holding either); otherwise the data
    folder (``$KERAS_VAE_DATA``) and its ``cifar-10/`` and ``cifar10/`` subfolders."""
    if path is not None:
        roots = [pathlib.Path(path).expanduser()]
    else:
        folder = data_folder()
        roots = [] if folder is None else [folder, folder / "cifar-10", folder / "cifar10"]
    found = []
    for root in roots:
        if root.name in (ARCHIVE, FOLDER) or root.is_file():
            found.append(root)
        else:
            found += [root / ARCHIVE, root / FOLDER]
    return found


def load_cifar10(
    split: str = "train", path: str | os.PathLike | None = None, normalize: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Load CIFAR-10 (50,000 training and 10,000 test colour images, 32x32, 10 classes)
    from the official python-version tarball ``cifar-10-python.tar.gz``.

    Args:
        split: ``"train"`` or ``"test"``.
        path: the tarball, its unpacked ``cifar-10-batches-py`` folder, or a folder
            holding either; by default the data folder (see :func:`candidates`).
        normalize: float32 in [0, 1] (``True``) or the stored uint8 values (``False``:
            the 8-bit data a bits/dim figure is measured on).

    Returns:
        ``(images [N, 32, 32, 3], labels [N] int64)``.

    Raises:
        DatasetNotFoundError: no tarball or folder in any place searched; the message
            names them and where to put the file.

    Example:
        >>> from keras_vae.datasets.cifar10 import load_cifar10
        >>> x, y = load_cifar10("test", normalize=False)   # doctest: +SKIP
        >>> x.shape, x.dtype                                  # doctest: +SKIP
        ((10000, 32, 32, 3), dtype('uint8'))
    """
    if split not in SPLIT_FILES:
        raise ValueError(f"split must be one of {tuple(SPLIT_FILES)}, got {split!r}.")
    places = candidates(path)
    for place in places:
        if place.is_file():
            with tarfile.open(place, "r:gz") as archive:
                members = {m.name.split("/")[-1]: m for m in archive.getmembers() if m.isfile()}
                missing = [n for n in SPLIT_FILES[split] if n not in members]
                if missing:
                    raise ValueError(f"{place} is not the CIFAR-10 python tarball: it lacks {missing}.")
                parts = [_read_batch(archive.extractfile(members[n]).read(), n) for n in SPLIT_FILES[split]]
            break
        if place.is_dir() and all((place / n).is_file() for n in SPLIT_FILES[split]):
            parts = [_read_batch((place / n).read_bytes(), n) for n in SPLIT_FILES[split]]
            break
    else:
        where = "\n  ".join(str(p) for p in places) or f"(none: ${ENV_VAR} is not set and no path= was given)"
        raise DatasetNotFoundError(
            f"CIFAR-10 was not found; looked for {ARCHIVE} (or its unpacked {FOLDER}/) at:\n  {where}\n"
            f"keras_vae does not download it: get the python version, {ARCHIVE}, from "
            f"https://www.cs.toronto.edu/~kriz/cifar.html and put it in ${ENV_VAR} "
            f"(or ${ENV_VAR}/cifar-10/), or pass path=.",
            tried=[str(p) for p in places], dataset="cifar10", split=split,
        )
    images = np.concatenate([x for x, _ in parts])
    labels = np.concatenate([y for _, y in parts])
    return (images.astype(np.float32) / 255.0 if normalize else images), labels
