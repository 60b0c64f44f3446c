"""Pictures for data that are not images (tables, measurements): one small panel per
feature, in the data's own units."""
from __future__ import annotations

import math
import os
from typing import Any, Sequence

import numpy as np

from keras_vae.plotting.canvas import _figure, _numpy, _save
from keras_vae.plotting.grids import sample_grid
from keras_vae.plotting.images import as_images

MAX_FEATURES = 16


def looks_like_images(x: Any) -> bool:
    """Whether examples ``x`` are images: ``(n, h, w[, c])``, or flat vectors of a
    square length of at least 64 (8 x 8) with values in [0, 1]."""
    x = _numpy(x)
    if x.ndim >= 3:
        return as_images(x) is not None
    if x.ndim != 2 or x.shape[1] < 64 or math.isqrt(x.shape[1]) ** 2 != x.shape[1]:
        return False
    return bool(x.size == 0 or (np.nanmin(x) >= 0.0 and np.nanmax(x) <= 1.0))


def _names(columns: Sequence[str] | None, d: int) -> list[str]:
    if columns is not None and len(columns) == d:
        return list(columns)
    return [f"feature {j}" for j in range(d)]


def _panels(n: int, title: str):
    ncols = min(4, n)
    nrows = math.ceil(n / ncols)
    fig = _figure(2.6 * ncols, 2.2 * nrows + 0.5)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_axis_off()
    fig.suptitle(title, fontsize=10)
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.35 / fig.get_figheight(),
                        top=1 - 0.5 / fig.get_figheight(), hspace=0.55, wspace=0.35)
    return fig, axes.flat


def feature_reconstructions(
    vae: Any,
    x: Any,
    columns: Sequence[str] | None = None,
    standardizer: Any = None,
    n: int = 500,
    path: str | os.PathLike | None = None,
):
    """Per feature, each test value against its reconstruction (the diagonal is a
    perfect reconstruction), for the first ``MAX_FEATURES`` features.

    Args:
        vae: a trained ``keras_vae.VAE`` on flat data.
        x: examples ``(n, d)`` as the model sees them (standardized, if it was).
        columns: feature names.
        standardizer: a ``keras_vae.datasets.Standardizer``: plot in the data's units.
        n: at most this many examples.
        path: save the picture here.

    Example:
        >>> import numpy as np, keras_vae as kv
        >>> vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(3,), likelihood="gaussian")
        >>> x = np.random.default_rng(0).normal(size=(50, 3)).astype("float32")
        >>> fig = kv.plotting.feature_reconstructions(vae, x, columns=["a", "b", "c"])
        >>> [ax.get_title() for ax in fig.axes]
        ['a', 'b', 'c']
    """
    x = _numpy(x)[:n].reshape(min(n, len(x)), -1)
    recon = _numpy(vae.reconstruct(x.reshape((-1, *vae.data_shape)))).reshape(x.shape)
    if standardizer is not None:
        x, recon = standardizer.inverse_transform(x), standardizer.inverse_transform(recon)
    d = min(x.shape[1], MAX_FEATURES)
    names = _names(columns, x.shape[1])
    fig, axes = _panels(d, "test data (x) against reconstruction (y), per feature")
    for j, ax in zip(range(d), axes):
        ax.scatter(x[:, j], recon[:, j], s=4, alpha=0.5)
        lo = float(min(x[:, j].min(), recon[:, j].min()))
        hi = float(max(x[:, j].max(), recon[:, j].max()))
        ax.plot([lo, hi], [lo, hi], "k--", linewidth=0.8)
        ax.set_title(names[j], fontsize=8)
        ax.tick_params(labelsize=6)
    return _save(fig, path)


def feature_histograms(
    vae_or_samples: Any,
    x: Any,
    columns: Sequence[str] | None = None,
    standardizer: Any = None,
    n: int = 2000,
    seed: int | None = 0,
    path: str | os.PathLike | None = None,
):
    """Per feature, the histogram of generated samples over that of the data.

    Args:
        vae_or_samples: a ``keras_vae.VAE`` (``n`` samples are drawn with ``seed``) or
            an array of samples in the model's units.
        x: data ``(n, d)`` in the model's units.
        columns: feature names.
        standardizer: plot in the data's own units.
        n: at most this many samples and examples.
        seed: sampling seed.
        path: save the picture here.
    """
    x = _numpy(x)[:n]
    x = x.reshape(len(x), -1)
    if hasattr(vae_or_samples, "sample") and hasattr(vae_or_samples, "latent_dim"):
        samples = _numpy(vae_or_samples.sample(len(x), seed=seed))
    else:
        samples = _numpy(vae_or_samples)[:n]
    samples = samples.reshape(len(samples), -1)
    if standardizer is not None:
        x, samples = standardizer.inverse_transform(x), standardizer.inverse_transform(samples)
    return _histograms(samples, x, columns, path)


def _histograms(samples: np.ndarray, data: np.ndarray | None, columns, path):
    d = min(samples.shape[1], MAX_FEATURES)
    names = _names(columns, samples.shape[1])
    title = "samples (filled) against data (outline), per feature" if data is not None else "samples, per feature"
    fig, axes = _panels(d, title)
    for j, ax in zip(range(d), axes):
        values = samples[:, j] if data is None else np.concatenate([samples[:, j], data[:, j]])
        bins = np.histogram_bin_edges(values[np.isfinite(values)], bins=30)
        ax.hist(samples[:, j], bins=bins, alpha=0.6, density=True)
        if data is not None:
            ax.hist(data[:, j], bins=bins, histtype="step", color="k", density=True)
        ax.set_title(names[j], fontsize=8)
        ax.tick_params(labelsize=6)
    return _save(fig, path)


def samples_figure(
    samples: Any,
    columns: Sequence[str] | None = None,
    path: str | os.PathLike | None = None,
    value_range: tuple[float, float] | None = None,
):
    """Generated samples as a picture: an image grid for images (as
    :func:`~keras_vae.plotting.sample_grid`, on ``value_range`` when given),
    per-feature histograms otherwise.

    Example:
        >>> import numpy as np
        >>> from keras_vae import plotting
        >>> fig = plotting.samples_figure(np.random.default_rng(0).normal(size=(50, 3)), columns=["a", "b", "c"])
        >>> [ax.get_title() for ax in fig.axes if ax.get_title()]
        ['a', 'b', 'c']
    """
    samples = _numpy(samples)
    if looks_like_images(samples):
        return sample_grid(samples, n=len(samples), path=path, value_range=value_range)
    return _histograms(samples.reshape(len(samples), -1), None, columns, path)
