"""MNIST and Fashion-MNIST (IDX files), and the MNIST sample bundled with keras_vae.

Where MNIST and Fashion-MNIST are looked for, in order:

1. ``path=``: a directory holding the four standard files
   (``train-images-idx3-ubyte.gz`` ..., gzipped or not; for MNIST ``mnist.npz`` also
   works);
2. the data folder, ``$KERAS_VAE_DATA`` (see :func:`keras_vae.datasets.data_folder`):
   a directory holding the files directly, or ``mnist/`` / ``fashion-mnist/``
   subdirectories;
3. the Keras cache (``$KERAS_HOME/datasets``, by default ``~/.keras/datasets``), where
   ``keras.datasets.mnist.load_data`` and ``keras.utils.get_file`` put them;
4. a download through ``keras.utils.get_file`` from the public TensorFlow mirror,
   into the Keras cache (skipped with ``download=False``).

If every step fails, a :class:`DatasetNotFoundError` (an ``OSError``) names each place
tried and how to fix it.
"""
from __future__ import annotations

import importlib.resources
import io
import os
import pathlib
from typing import Callable

import numpy as np

from keras_vae.datasets.errors import DatasetNotFoundError
from keras_vae.datasets.idx import read_idx
from keras_vae.datasets.locations import ENV_VAR, data_folder

MIRROR = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
SPLITS = ("train", "test")
SAMPLE_FILE = "mnist_sample.npz"

# The four standard files of an MNIST-format data set, by split.
_IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_MNIST_NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"


# ----------------------------------------------------------- MNIST family
class _Source:
    """How one MNIST-format data set is named, stored and downloaded."""

    def __init__(self, name: str, dirnames: tuple[str, ...], cache_subdir: str, npz: str | None):
        self.name = name
        self.dirnames = dirnames  # subdirectory names accepted under KERAS_VAE_DATA
        self.cache_subdir = cache_subdir  # under <keras home>
        self.npz = npz  # single-file form (mnist.npz), if any


_MNIST = _Source("mnist", ("mnist",), "datasets", "mnist.npz")
_FASHION = _Source("fashion-mnist", ("fashion-mnist", "fashion_mnist"), os.path.join("datasets", "fashion-mnist"), None)


def _keras_home() -> pathlib.Path:
    """The Keras cache root, computed as Keras does but at call time."""
    if "KERAS_HOME" in os.environ:
        return pathlib.Path(os.path.expanduser(os.environ["KERAS_HOME"]))
    base = os.path.expanduser("~")
    if not os.access(base, os.W_OK):
        base = "/tmp"
    return pathlib.Path(base) / ".keras"


def _keras_cache_dirs(source: _Source) -> list[pathlib.Path]:
    """Where ``keras.utils.get_file`` would have put the files (it falls back to
    ``/tmp/.keras`` when the Keras home is not writable)."""
    dirs = [_keras_home() / source.cache_subdir]
    fallback = pathlib.Path("/tmp/.keras") / source.cache_subdir
    if fallback not in dirs:
        dirs.append(fallback)
    return dirs


def _find_file(directory: pathlib.Path, stem: str) -> pathlib.Path | None:
    for candidate in (stem + ".gz", stem):
        if (directory / candidate).is_file():
            return directory / candidate
    return None


def _read_from_dir(source: _Source, directory: pathlib.Path, split: str):
    """(images, labels) from a directory, or a string saying why not."""
    if not directory.is_dir():
        return "no such directory"
    images_stem, labels_stem = _IDX_FILES[split]
    images, labels = _find_file(directory, images_stem), _find_file(directory, labels_stem)
    if images is not None and labels is not None:
        x, y = read_idx(images), read_idx(labels)
        _check_pair(x, y, f"{images} / {labels}")
        return x, y
    if source.npz and (directory / source.npz).is_file():
        return _read_mnist_npz(directory / source.npz, split)
    missing = [s + "[.gz]" for s, f in ((images_stem, images), (labels_stem, labels)) if f is None]
    extra = f" (or {source.npz})" if source.npz else ""
    return f"missing {', '.join(missing)}{extra}"


def _read_mnist_npz(path: pathlib.Path, split: str):
    with np.load(path, allow_pickle=False) as data:
        keys = (f"x_{split}", f"y_{split}")
        if not all(k in data.files for k in keys):
            raise ValueError(f"{path} lacks {keys}; it holds {sorted(data.files)}.")
        x, y = data[keys[0]], data[keys[1]]
    _check_pair(x, y, str(path))
    return x, y


def _check_pair(x: np.ndarray, y: np.ndarray, name: str) -> None:
    if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
        raise ValueError(
            f"{name}: expected images (N, rows, cols) and labels (N,), got shapes "
            f"{x.shape} and {y.shape}. The files may be mixed up or corrupted."
        )


def _urls(source: _Source, split: str) -> list[str]:
    if source.npz:
        return [MIRROR + source.npz]
    return [MIRROR + stem + ".gz" for stem in _IDX_FILES[split]]


def _download(source: _Source, split: str, get_file: Callable[..., str]):
    cache = _keras_home()

    def fetch(fname: str, **kwargs) -> str:
        """One file from the mirror into the Keras cache, through ``get_file``."""
        return get_file(
            fname=fname, origin=MIRROR + fname, cache_dir=str(cache), cache_subdir=source.cache_subdir, **kwargs
        )

    if source.npz:
        return _read_mnist_npz(pathlib.Path(fetch(source.npz, file_hash=_MNIST_NPZ_SHA256)), split)
    paths = [fetch(stem + ".gz") for stem in _IDX_FILES[split]]
    x, y = read_idx(paths[0]), read_idx(paths[1])
    _check_pair(x, y, " / ".join(paths))
    return x, y


def _default_get_file(*args, **kwargs) -> str:
    import keras

    return keras.utils.get_file(*args, **kwargs)


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}.")


def _with_subdirs(source: _Source, directory: pathlib.Path) -> list[pathlib.Path]:
    """``directory`` and its subdirectories named for ``source`` (``mnist/`` ...)."""
    return [directory] + [directory / d for d in source.dirnames]


def _search(source: _Source, split: str, places, tried: list[str]):
    """(images, labels) from the first of ``places`` ((label, directory) pairs)
    that holds them, or None; each place that does not is added to ``tried``
    as ``label: why``."""
    for label, directory in places:
        found = _read_from_dir(source, directory, split)
        if not isinstance(found, str):
            return found
        tried.append(f"{label}: {found}")
    return None


def _load_mnist_format(
    source: _Source,
    split: str,
    path: str | os.PathLike | None,
    normalize: bool,
    download: bool,
    get_file: Callable[..., str] | None,
):
    _check_split(split)
    tried: list[str] = []

    def finish(pair):
        x, y = pair
        return _format_images(x, normalize), y.astype(np.int64)

    if path is not None:
        candidates = _with_subdirs(source, pathlib.Path(path).expanduser())
        found = _search(source, split, [(f"path={str(c)!r}", c) for c in candidates], tried)
        if found is not None:
            return finish(found)
        raise DatasetNotFoundError(
            f"{source.name} ({split}) not found at the path you gave:\n  "
            + "\n  ".join(tried)
            + f"\nFix: pass path= a directory holding {', '.join(s + '.gz' for s in _IDX_FILES[split])}.",
            tried,
            dataset=source.name,
            split=split,
        )

    places = []
    base = data_folder()
    if base is not None:
        places += [(f"${ENV_VAR} -> {c}", c) for c in _with_subdirs(source, base)]
    else:
        tried.append(f"${ENV_VAR}: not set")
    places += [(f"Keras cache {c}", c) for c in _keras_cache_dirs(source)]
    found = _search(source, split, places, tried)
    if found is not None:
        return finish(found)

    if download:
        getter = get_file or _default_get_file
        try:
            return finish(_download(source, split, getter))
        except Exception as error:  # network errors come in many types
            tried.append(
                f"download of {', '.join(_urls(source, split))}: failed "
                f"({type(error).__name__}: {error})"
            )
    else:
        tried.append(f"download of {', '.join(_urls(source, split))}: disabled (download=False)")

    raise DatasetNotFoundError(
        f"Could not find or download {source.name} ({split}). Tried, in order:\n  "
        + "\n  ".join(tried)
        + "\nFix one of:\n"
        f"  * pass path= a directory holding the four files "
        f"({', '.join(s + '.gz' for stems in _IDX_FILES.values() for s in stems)});\n"
        f"  * set {ENV_VAR} to a directory holding them, or holding a "
        f"'{source.dirnames[0]}/' subdirectory with them;\n"
        f"  * go online (download=True) so keras.utils.get_file can fetch them into "
        f"{_keras_cache_dirs(source)[0]}.",
        tried,
        dataset=source.name,
        split=split,
    )


def _format_images(x: np.ndarray, normalize: bool) -> np.ndarray:
    x = np.asarray(x)[..., np.newaxis]
    if normalize:
        return (x.astype(np.float32) / np.float32(255.0)).astype(np.float32)
    return np.ascontiguousarray(x.astype(np.uint8))


def load_mnist(
    split: str = "train",
    path: str | os.PathLike | None = None,
    normalize: bool = True,
    download: bool = True,
    get_file: Callable[..., str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Load MNIST handwritten digits.

    Args:
        split: ``"train"`` (60,000 examples) or ``"test"`` (10,000).
        path: a directory holding the standard IDX files (or ``mnist.npz``); when
            given, it is the only place searched. See the module docstring for the
            search order otherwise.
        normalize: return float32 images in [0, 1]; else the stored uint8 values.
        download: allow the download step (through ``keras.utils.get_file``).
        get_file: the downloader, with ``keras.utils.get_file``'s signature
            (injectable for tests or mirrors).

    Returns:
        ``(x, y)``: images of shape ``(N, 28, 28, 1)`` and int64 labels ``(N,)``.

    Raises:
        DatasetNotFoundError: found nowhere and not downloadable.
        ValueError: a file found is corrupted.

    Example:
        >>> from keras_vae.datasets import load_mnist
        >>> x, y = load_mnist("test", path="data/mnist")  # doctest: +SKIP
        >>> x.shape, x.dtype, float(x.max())             # doctest: +SKIP
        ((10000, 28, 28, 1), dtype('float32'), 1.0)
    """
    return _load_mnist_format(_MNIST, split, path, normalize, download, get_file)


def load_fashion_mnist(
    split: str = "train",
    path: str | os.PathLike | None = None,
    normalize: bool = True,
    download: bool = True,
    get_file: Callable[..., str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Load Fashion-MNIST (Zalando article images, 10 classes, 28x28 grayscale).

    Same arguments and search order as :func:`load_mnist`; the files are the IDX
    ``*-ubyte.gz`` files, and the Keras cache location is
    ``~/.keras/datasets/fashion-mnist/``.

    Example:
        >>> from keras_vae.datasets import load_fashion_mnist
        >>> x, y = load_fashion_mnist("test", normalize=False)  # doctest: +SKIP
        >>> x.dtype, x.shape                                   # doctest: +SKIP
        (dtype('uint8'), (10000, 28, 28, 1))
    """
    return _load_mnist_format(_FASHION, split, path, normalize, download, get_file)


# ------------------------------------------------------------------- sample
def load_sample(split: str = "train", normalize: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """A small real MNIST subset that ships inside the package (works offline).

    3,000 training and 1,000 test digits drawn at random (seed 0) from MNIST by
    ``benchmarks/make_sample.py``; enough for examples, smoke tests and tutorials.

    Args:
        split: ``"train"`` or ``"test"``.
        normalize: float32 in [0, 1] (default) or the stored uint8 values.

    Returns:
        ``(x, y)``: images ``(N, 28, 28, 1)`` and int64 labels ``(N,)``.

    Example:
        >>> from keras_vae.datasets import load_sample
        >>> x, y = load_sample("train")
        >>> x.shape, y.shape
        ((3000, 28, 28, 1), (3000,))
    """
    _check_split(split)
    resource = importlib.resources.files("keras_vae").joinpath("data").joinpath(SAMPLE_FILE)
    if not resource.is_file():
        raise DatasetNotFoundError(
            f"The bundled sample keras_vae/data/{SAMPLE_FILE} is missing from this "
            "installation. Reinstall keras-vae, or regenerate it with "
            "`python benchmarks/make_sample.py`.",
            [str(resource)],
        )
    with resource.open("rb") as handle:
        with np.load(io.BytesIO(handle.read()), allow_pickle=False) as data:
            x, y = data[f"x_{split}"], data[f"y_{split}"]
    return _format_images(x, normalize), y.astype(np.int64)
