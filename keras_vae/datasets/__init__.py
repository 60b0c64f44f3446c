"""Datasets: MNIST-family loaders, the bundled sample, the user's own files, binarization.

Every loader returns numpy arrays: images as float32 in [0, 1] with a trailing
channel axis (``normalize=True``) or as the stored uint8 values, and integer labels.

| module | what |
| --- | --- |
| ``idx`` | :func:`read_idx`, the MNIST file format |
| ``mnist`` | :func:`load_mnist`, :func:`load_fashion_mnist`, :func:`load_sample` and where they look |
| ``locations`` | :func:`data_folder`: ``$KERAS_VAE_DATA``, the one data-folder variable |
| ``files`` | :func:`load_npz`, :func:`load_image_folder` (colour kept when the images have it) |
| ``tabular`` | :func:`read_table`: CSV / TSV, header detection, numeric columns |
| ``standardization`` | :class:`Standardizer`, saved beside a model |
| ``binarization`` | :func:`binarize`, :func:`dynamic_binarization` |
| ``pipeline`` | :func:`epoch_pipeline`: an order that depends only on (seed, epoch), for resumable runs |
| ``loading`` | :func:`load_dataset`: a name, a file or a folder |
| ``ground_truth`` | :class:`GroundTruthData`: data with known factors (disentanglement_lib's protocol) |
| ``dsprites`` | :class:`DSprites`: dSprites-like shapes on dSprites' factor grid, drawn with numpy |
| ``cifar10`` | :func:`load_cifar10`: CIFAR-10 from the official python tarball you put in the data folder (never downloaded) |

Example:
    >>> from keras_vae import datasets
    >>> x, y = datasets.load_sample("test")
    >>> x.shape, x.dtype, int(y.max())
    ((1000, 28, 28, 1), dtype('float32'), 9)
"""
from keras_vae.datasets.binarization import binarize, dynamic_binarization
from keras_vae.datasets.cifar10 import load_cifar10
from keras_vae.datasets.dsprites import DSprites
from keras_vae.datasets.errors import DatasetNotFoundError
from keras_vae.datasets.ground_truth import GroundTruthData
from keras_vae.datasets.files import FewLevelsWarning, load_image_folder, load_npz
from keras_vae.datasets.idx import read_idx
from keras_vae.datasets.loading import load_dataset
from keras_vae.datasets.locations import ENV_VAR, OLD_ENV_VAR, data_folder
from keras_vae.datasets.mnist import (
    MIRROR,
    SAMPLE_FILE,
    SPLITS,
    load_fashion_mnist,
    load_mnist,
    load_sample,
)
from keras_vae.datasets.pipeline import epoch_pipeline
from keras_vae.datasets.standardization import Standardizer, standardization_report
from keras_vae.datasets.tabular import TABULAR_EXTENSIONS, DroppedColumnsWarning, Table, read_table

__all__ = [
    "DSprites",
    "DatasetNotFoundError",
    "DroppedColumnsWarning",
    "FewLevelsWarning",
    "GroundTruthData",
    "ENV_VAR",
    "MIRROR",
    "OLD_ENV_VAR",
    "SAMPLE_FILE",
    "SPLITS",
    "Standardizer",
    "TABULAR_EXTENSIONS",
    "Table",
    "binarize",
    "data_folder",
    "dynamic_binarization",
    "epoch_pipeline",
    "load_cifar10",
    "load_dataset",
    "load_fashion_mnist",
    "load_image_folder",
    "load_mnist",
    "load_npz",
    "load_sample",
    "read_idx",
    "read_table",
    "standardization_report",
]
