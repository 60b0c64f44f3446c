"""Pictures of the latent space: where the data's posterior means lie
(:func:`latent_scatter`) and what a 2-D latent space decodes to (:func:`manifold`).

Example:
    >>> import numpy as np, keras_vae as kv
    >>> from keras_vae import plotting
    >>> vae = kv.VAE("mlp", "mlp", latent_dim=3, input_shape=(6,), likelihood="gaussian")
    >>> x = np.random.default_rng(0).normal(size=(30, 6)).astype("float32")
    >>> fig = plotting.latent_scatter(vae, x, labels=np.arange(30) % 3)
    >>> fig.axes[0].get_title()
    'posterior means, PCA of 3 latent dims'
"""
from __future__ import annotations

import os
from statistics import NormalDist
from typing import Any

import numpy as np

from keras_vae.plotting.canvas import DPI, _conditions, _figure, _numpy, _save
from keras_vae.plotting.display_range import (
    COLORBAR_WIDTH,
    check_value_range,
    _colorbar,
    _resolve,
    to_display_range,
)
from keras_vae.plotting.grids import _draw_grid
from keras_vae.plotting.images import as_images, images_to_grid


def _batched(fn, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """``fn`` applied to ``x`` in batches, the results concatenated."""
    return np.concatenate(
        [_numpy(fn(x[i : i + batch_size])) for i in range(0, len(x), batch_size)], axis=0
    )


def _joined(values) -> np.ndarray:
    """One array from a model's per-group output (a hierarchical model's ``encode``
    and ``kl_per_dimension`` give one array per latent group): the groups side by side."""
    if isinstance(values, (list, tuple)):
        return np.concatenate([_numpy(v) for v in values], axis=-1)
    return _numpy(values)


def _pca_2d(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project rows of ``z`` on their first two principal axes (numpy SVD).

    Returns the projection ``(n, 2)`` and the explained variance ratio of both axes.
    """
    centered = z - z.mean(axis=0, keepdims=True)
    _, s, vt = np.linalg.svd(centered, full_matrices=False)
    proj = centered @ vt[:2].T
    var = s**2
    ratio = var[:2] / var.sum() if var.sum() > 0 else np.zeros(2)
    if proj.shape[1] < 2:  # fewer than two examples or dimensions
        proj = np.pad(proj, ((0, 0), (0, 2 - proj.shape[1])))
        ratio = np.pad(ratio, (0, 2 - len(ratio)))
    return proj, ratio


def latent_scatter(
    vae: Any,
    x: Any,
    labels: Any = None,
    path: str | os.PathLike | None = None,
    batch_size: int = 1024,
    condition: Any = None,
):
    """Posterior means of ``x``, coloured by ``labels``.

    With ``latent_dim == 2`` the axes are z[0] and z[1]; with more dimensions the means
    are projected on their first two principal components (numpy SVD; the axis labels
    give the explained variance); with ``latent_dim == 1`` z is plotted against the
    example index. Integer labels with at most 20 classes get a legend, other labels a
    colour bar.

    Args:
        vae: a trained ``keras_vae.VAE``.
        x: data to encode.
        labels: optional ``(n,)`` labels (class ids or numbers).
        path: save the PNG here.
        batch_size: encoding batch size.
        condition: for a conditioned model, each example's condition (or one for all):
            the means of q(z | x, c).
    """
    x = _numpy(x)
    if condition is None:
        z = _batched(lambda b: _joined(vae.encode(b)), x, batch_size)
    else:
        c = _conditions(vae, condition, len(x))
        z = np.concatenate([
            _joined(vae.encode(x[i : i + batch_size], condition=c[i : i + batch_size]))
            for i in range(0, len(x), batch_size)
        ], axis=0)
    z = z.reshape(len(x), -1)
    if labels is not None:
        labels = _numpy(labels).reshape(-1)
        if len(labels) != len(z):
            raise ValueError(
                f"labels has {len(labels)} entries but x has {len(z)} examples."
            )
    fig = _figure(6.0, 5.0)
    ax = fig.add_subplot()
    latent_dim = z.shape[1]
    if latent_dim == 1:
        xy = np.stack([np.arange(len(z)), z[:, 0]], axis=1)
        ax.set_xlabel("example")
        ax.set_ylabel("z[0]")
        title = "posterior means"
    elif latent_dim == 2:
        xy = z
        ax.set_xlabel("z[0]")
        ax.set_ylabel("z[1]")
        title = "posterior means"
    else:
        xy, ratio = _pca_2d(z)
        ax.set_xlabel(f"PC 1 ({100 * ratio[0]:.0f}% of variance)")
        ax.set_ylabel(f"PC 2 ({100 * ratio[1]:.0f}% of variance)")
        title = f"posterior means, PCA of {latent_dim} latent dims"
    ax.set_title(title, fontsize=10)
    if labels is None:
        ax.scatter(xy[:, 0], xy[:, 1], s=4, alpha=0.6)
    else:
        classes = np.unique(labels)
        discrete = np.issubdtype(labels.dtype, np.integer) or (
            np.issubdtype(labels.dtype, np.floating) and np.all(labels == np.round(labels))
        )
        if (discrete and len(classes) <= 20) or not np.issubdtype(labels.dtype, np.number):
            import matplotlib

            cmap = matplotlib.colormaps["tab10" if len(classes) <= 10 else "tab20"]
            for k, c in enumerate(classes):
                mask = labels == c
                label = str(int(c)) if discrete and np.issubdtype(labels.dtype, np.number) else str(c)
                ax.scatter(xy[mask, 0], xy[mask, 1], s=4, alpha=0.7, color=cmap(k), label=label)
            ax.legend(markerscale=3, fontsize=7, loc="best", title="label", title_fontsize=7)
        else:
            points = ax.scatter(xy[:, 0], xy[:, 1], c=labels, s=4, alpha=0.7, cmap="viridis")
            fig.colorbar(points, ax=ax, label="label")
    fig.tight_layout()
    return _save(fig, path)


def manifold(
    vae: Any,
    n: int = 20,
    span: float = 3.0,
    path: str | os.PathLike | None = None,
    scale: int = 1,
    value_range: tuple[float, float] | None = None,
    condition: Any = None,
):
    """Decode an ``n x n`` grid of a 2-D latent space (like the Keras VAE example).

    Grid coordinates are evenly spaced *quantiles* of the standard normal prior,
    mapped through its inverse CDF, so they run from ``-span`` to ``span`` and are
    denser where the prior has more mass. Rows go from high z[1] (top) to low z[1];
    columns from low z[0] (left) to high z[0]. Each cell shows the mean of p(x|z).

    Args:
        vae: a trained ``keras_vae.VAE`` with ``latent_dim == 2`` and image data.
        n: cells per side.
        span: the largest |z| of the grid (in prior standard deviations).
        path: save the PNG here.
        scale: screen pixels per image pixel.
        value_range: ``(low, high)`` drawn black and white, with a colour bar; by
            default as in :func:`~keras_vae.plotting.sample_grid`.
        condition: for a conditioned model, the one condition every cell is decoded
            at (e.g. ``7``: the latent space of the sevens).

    Raises:
        ValueError: ``latent_dim != 2``, the data are not images, or an invalid
            ``value_range``.

    Example:
        >>> import keras_vae as kv
        >>> vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(8, 8, 1))
        >>> fig = manifold(vae, n=5)
        >>> fig.axes[0].get_xlabel(), [t.get_text() for t in fig.axes[0].get_xticklabels()]
        ('z[0]', ['-3.0', '-0.7', '0.0', '0.7', '3.0'])
    """
    latent_dim = int(getattr(vae, "latent_dim", -1))
    if latent_dim != 2:
        raise ValueError(
            f"manifold() needs a VAE with latent_dim == 2, this one has latent_dim == "
            f"{latent_dim}. Use latent_scatter() for other sizes, or train with "
            "latent_dim=2."
        )
    if n < 2 or not span > 0:
        raise ValueError(f"manifold() needs n >= 2 and span > 0, got n={n}, span={span}.")
    check_value_range(value_range)
    normal = NormalDist()
    lo = normal.cdf(-float(span))
    quantiles = np.linspace(lo, 1.0 - lo, n)
    coords = np.array([normal.inv_cdf(q) for q in quantiles], dtype=np.float32)
    zx, zy = np.meshgrid(coords, coords[::-1])  # top row = largest z[1]
    z = np.stack([zx.ravel(), zy.ravel()], axis=1)
    if condition is None:
        decoded = _numpy(vae.decode(z))
    else:
        decoded = _numpy(vae.decode(z, condition=_conditions(vae, condition, len(z))))
    images = as_images(decoded)
    if images is None:
        raise ValueError(
            f"manifold() draws images, but this VAE decodes examples of shape "
            f"{decoded.shape[1:]}."
        )
    value_range, label = _resolve(vae, images, value_range)
    grid = to_display_range(images_to_grid(images, ncols=n, padding=0), value_range)
    height, width = grid.shape[:2]
    margin = 0.6
    bar_w = COLORBAR_WIDTH if value_range is not None else 0.0
    fig = _figure(width * scale / DPI + margin + bar_w, height * scale / DPI + margin)
    fw, fh = fig.get_figwidth(), fig.get_figheight()
    ax = fig.add_axes([margin / fw, margin / fh, width * scale / DPI / fw, 1 - margin / fh])
    if value_range is not None:
        _colorbar(fig, value_range, label, margin / fh, 1 - margin / fh)
    tile_h, tile_w = images.shape[1:3]
    _draw_grid(ax, grid, hide_axes=False)
    ticks = np.linspace(0, n - 1, min(n, 5)).round().astype(int)
    ax.set_xticks(ticks * tile_w + tile_w / 2, [f"{coords[t]:.1f}" for t in ticks], fontsize=7)
    ax.set_yticks(ticks * tile_h + tile_h / 2, [f"{coords[::-1][t]:.1f}" for t in ticks], fontsize=7)
    ax.set_xlabel("z[0]", fontsize=8, labelpad=1)
    ax.set_ylabel("z[1]", fontsize=8, labelpad=1)
    return _save(fig, path)
