"""Figures for looking at a VAE: samples, reconstructions, latent space, training.

matplotlib is an optional extra (``pip install keras-vae[plots]``); it is imported
only inside the plotting functions, and figures are drawn on matplotlib's Agg canvas
(``matplotlib.figure.Figure``, never ``pyplot``), so nothing here needs a display or
changes the user's pyplot backend. :func:`images_to_grid` is plain numpy.

Every function returns the ``Figure`` and, when ``path`` is given, also saves it there
in the format its extension names (``.png``, ``.jpg`` / ``.jpeg``, ``.pdf``, ``.svg``), of ``figure.get_size_inches() * figure.dpi`` pixels (rounded).

Data may be images ``(n, h, w)``, ``(n, h, w, 1)``, ``(n, h, w, 3)`` (RGBA loses its
alpha), or flat vectors ``(n, d)``: flat vectors of a square length ``d = s * s`` are
shown as ``s x s`` images and other flat data as line plots (one small panel per
example, at most 16).

Example: see :mod:`keras_vae.plotting`.
"""
from __future__ import annotations

import csv
import math
import os
from statistics import NormalDist
from typing import Any, Mapping, Sequence

import numpy as np

__all__ = [
    "images_to_grid",
    "kl_per_dimension_plot",
    "latent_scatter",
    "manifold",
    "reconstruction_grid",
    "sample_grid",
    "training_curves",
]

DPI = 100
_INSTALL_HINT = (
    "keras_vae.plotting needs matplotlib (an install requirement of keras-vae): install it with "
    "`pip install keras-vae[plots]` (or `pip install matplotlib`)."
)


# --------------------------------------------------------------------- helpers

def _draw_grid(ax, grid, hide_axes: bool = True) -> None:
    """Draw an image grid in [0, 1] pixel for pixel (without axes unless asked)."""
    ax.imshow(
        grid,
        cmap="gray" if grid.ndim == 2 else None,
        vmin=0.0,
        vmax=1.0,
        interpolation="nearest",
        aspect="auto",
    )
    if hide_axes:
        ax.set_axis_off()

def _figure(width: float, height: float):
    """A matplotlib Figure on the Agg canvas (no pyplot, no display)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - exercised via monkeypatch
        raise ImportError(_INSTALL_HINT) from exc
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


# Picture formats by file extension (JPEG through pillow, an install requirement).
FORMATS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".pdf": "pdf", ".svg": "svg"}


def picture_format(path: str | os.PathLike) -> str:
    """The format a picture file's extension names; ``ValueError`` for others."""
    extension = os.path.splitext(os.fspath(path))[1].lower()
    if extension not in FORMATS:
        raise ValueError(
            f"Cannot write a picture to {os.fspath(path)!r}: unknown extension "
            f"{extension or '(none)'!r}; use one of {', '.join(FORMATS)}."
        )
    return FORMATS[extension]


def _save(fig, path: str | os.PathLike | None):
    if path is not None:
        path = os.fspath(path)
        kind = picture_format(path)
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        fig.savefig(path, format=kind, dpi=DPI)
    return fig


def _numpy(x: Any) -> np.ndarray:
    if hasattr(x, "numpy"):
        x = x.numpy()
    return np.asarray(x)


def as_images(x: Any) -> np.ndarray | None:
    """``x`` as ``(n, h, w)`` or ``(n, h, w, 3)`` float images, or ``None`` if not images.

    Accepts ``(n, h, w)``, ``(n, h, w, c)`` with ``c`` in 1, 3, 4 (alpha dropped) and
    flat ``(n, d)`` data whose length is a perfect square (grey) or three times one
    (RGB, channels last).
    """
    x = _numpy(x).astype(np.float32, copy=False)
    if x.ndim == 2:
        d = x.shape[1]
        side = math.isqrt(d)
        if side * side == d:
            return x.reshape(-1, side, side)
        side = math.isqrt(d // 3)
        if d % 3 == 0 and side * side * 3 == d:
            return x.reshape(-1, side, side, 3)
        return None
    if x.ndim == 3:
        return x
    if x.ndim == 4:
        channels = x.shape[-1]
        if channels == 1:
            return x[..., 0]
        if channels in (3, 4):
            return x[..., :3]
    return None


def to_display_range(images: np.ndarray) -> np.ndarray:
    """Map values to [0, 1] for display: unchanged (clipped) when they already lie
    in [0, 1], otherwise min-max scaled over the whole array."""
    images = np.asarray(images, dtype=np.float32)
    finite = images[np.isfinite(images)]
    if finite.size == 0:
        return np.zeros_like(images)
    lo, hi = float(finite.min()), float(finite.max())
    if lo >= 0.0 and hi <= 1.0:
        return np.nan_to_num(images, nan=0.0, posinf=1.0, neginf=0.0)
    scaled = (images - lo) / (hi - lo) if hi > lo else np.zeros_like(images)
    return np.clip(np.nan_to_num(scaled, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)


def images_to_grid(
    images: Any, ncols: int | None = None, padding: int = 1, pad_value: float = 0.5
) -> np.ndarray:
    """Tile a batch of images into one image (numpy only).

    Args:
        images: ``(n, h, w)``, ``(n, h, w, 1|3|4)`` or flat ``(n, d)`` with ``d`` a
            square (or three times a square, for RGB) — see :func:`as_images`.
        ncols: images per row; default ``ceil(sqrt(n))``.
        padding: pixels between (not around) the tiles.
        pad_value: value of the padding pixels.

    Returns:
        ``(rows * h + (rows - 1) * padding, ncols * w + (ncols - 1) * padding)`` for
        grey images, with a trailing ``3`` for RGB; float32, values as given (use
        :func:`to_display_range` to map them to [0, 1]). Unused tiles hold
        ``pad_value``.

    Raises:
        ValueError: the data are not images, or ``ncols`` / ``padding`` are invalid.

    Example:
        >>> images_to_grid(np.zeros((10, 28, 28, 1)), ncols=5).shape
        (57, 144)
    """
    tiles = as_images(images)
    if tiles is None:
        shape = tuple(_numpy(images).shape)
        raise ValueError(
            f"images_to_grid needs images shaped (n, h, w), (n, h, w, 1|3|4) or flat "
            f"(n, d) with d a square number; got shape {shape}."
        )
    n = tiles.shape[0]
    if n == 0:
        raise ValueError("images_to_grid got no images (n = 0).")
    if ncols is None:
        ncols = math.ceil(math.sqrt(n))
    ncols = int(ncols)
    if ncols < 1:
        raise ValueError(f"ncols must be >= 1, got {ncols}.")
    if padding < 0:
        raise ValueError(f"padding must be >= 0, got {padding}.")
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    h, w = tiles.shape[1:3]
    extra = tiles.shape[3:]
    grid = np.full(
        (nrows * h + (nrows - 1) * padding, ncols * w + (ncols - 1) * padding, *extra),
        pad_value,
        dtype=np.float32,
    )
    for i in range(n):
        r, c = divmod(i, ncols)
        top, left = r * (h + padding), c * (w + padding)
        grid[top : top + h, left : left + w] = tiles[i]
    return grid


def _show_grid(grid: np.ndarray, scale: int = 2, title: str | None = None):
    """A figure that shows ``grid`` at ``scale`` screen pixels per image pixel, or more
    for small images: a grid narrower than :data:`MIN_GRID_WIDTH` pixels is scaled up
    (whole pixels, nearest neighbour) to at least that width, so an 8x8 grid is readable."""
    title_h = 0.3 if title else 0.0
    height, width = grid.shape[:2]
    scale = max(int(scale), min(16, -(-MIN_GRID_WIDTH // max(1, width))))
    fig = _figure(width * scale / DPI, height * scale / DPI + title_h)
    ax = fig.add_axes([0, 0, 1, 1 - title_h / fig.get_figheight()])
    _draw_grid(ax, to_display_range(grid))
    if title:
        fig.suptitle(title, y=1 - 0.05 / fig.get_figheight(), va="top", fontsize=10)
    return fig


_MAX_LINE_PANELS = 16
#: image grids narrower than this (in screen pixels) are drawn with larger pixels.
MIN_GRID_WIDTH = 320


def _line_panels(series: Sequence[tuple[str, np.ndarray]], ncols: int, title: str | None):
    """Small multiples of 1-D examples (for flat data that are not images); at most
    ``_MAX_LINE_PANELS`` panels are drawn."""
    series = list(series)[:_MAX_LINE_PANELS]
    n = len(series)
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig = _figure(2.2 * ncols, 1.6 * nrows + (0.4 if title else 0.0))
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True)
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.set_axis_off()
            continue
        label, values = series[i]
        values = np.atleast_2d(values)
        for row, style in zip(values, ("-", "--", ":")):
            ax.plot(row, style, linewidth=1)
        ax.set_title(label, fontsize=8)
        ax.tick_params(labelsize=6)
    if title:
        fig.suptitle(title, fontsize=10)
    # Fixed margins: tight_layout costs seconds with many small axes.
    top = 1 - (0.45 if title else 0.25) / fig.get_figheight()
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.25 / fig.get_figheight(), top=top,
                        hspace=0.45, wspace=0.25)
    return fig


def _is_vae(obj: Any) -> bool:
    return hasattr(obj, "sample") and hasattr(obj, "decode") and hasattr(obj, "latent_dim")


def _batched(fn, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    return np.concatenate(
        [_numpy(fn(x[i : i + batch_size])) for i in range(0, len(x), batch_size)], axis=0
    )


# --------------------------------------------------------------------- plots
def sample_grid(
    vae_or_images: Any,
    n: int = 64,
    seed: int | None = 0,
    path: str | os.PathLike | None = None,
    ncols: int | None = None,
    scale: int = 2,
    title: str | None = None,
):
    """A grid of generated examples (the mean of p(x|z) for z ~ p(z)).

    Args:
        vae_or_images: a ``keras_vae.VAE`` (``n`` samples are drawn with ``seed``) or
            an array of examples (the first ``n`` are shown).
        n: number of examples.
        seed: sampling seed, so grids of different epochs are comparable.
        path: save the PNG here.
        ncols: images per row (default ``ceil(sqrt(n))``).
        scale: screen pixels per image pixel.
        title: optional title above the grid.

    Returns:
        The ``matplotlib.figure.Figure``.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}.")
    if _is_vae(vae_or_images):
        x = _numpy(vae_or_images.sample(int(n), seed=seed))
    else:
        x = _numpy(vae_or_images)[:n]
    images = as_images(x)
    if images is None:
        flat = x.reshape(len(x), -1)
        fig = _line_panels([(f"sample {i}", v) for i, v in enumerate(flat)], ncols or 4, title)
    else:
        fig = _show_grid(images_to_grid(images, ncols), scale=scale, title=title)
    return _save(fig, path)


def reconstruction_grid(
    vae: Any,
    x: Any,
    n: int = 16,
    path: str | os.PathLike | None = None,
    ncols: int | None = None,
    scale: int = 2,
):
    """Originals (left panel) next to their reconstructions (right panel).

    The reconstruction is ``vae.reconstruct(x)``: the mean of p(x|z) at the posterior
    mean. Tile ``i`` of the right panel is the reconstruction of tile ``i`` of the
    left one. Flat non-image data are drawn as line plots, original solid and
    reconstruction dashed.

    Args:
        vae: a trained ``keras_vae.VAE``.
        x: data (the first ``n`` examples are used).
        n: number of examples.
        path: save the PNG here.
        ncols: images per row of each panel (default ``ceil(sqrt(n))``).
        scale: screen pixels per image pixel.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}.")
    originals = _numpy(x)[:n]
    recon = _numpy(vae.reconstruct(originals)).reshape(originals.shape)
    images = as_images(originals)
    if images is None:
        flat_o, flat_r = originals.reshape(len(originals), -1), recon.reshape(len(recon), -1)
        series = [(f"example {i}", np.stack([o, r])) for i, (o, r) in enumerate(zip(flat_o, flat_r))]
        fig = _line_panels(series, ncols or 4, "original (solid) vs reconstruction (dashed)")
        return _save(fig, path)
    # Originals and reconstructions share one display scale.
    both = to_display_range(
        np.stack([images_to_grid(images, ncols), images_to_grid(as_images(recon), ncols)])
    )
    left, right = both[0], both[1]
    height, width = left.shape[:2]
    gap, title_h = 0.15, 0.3
    panel_w = width * scale / DPI
    fig = _figure(2 * panel_w + gap, height * scale / DPI + title_h)
    fig_w, fig_h = fig.get_figwidth(), fig.get_figheight()
    for k, (grid, label) in enumerate(((left, "original"), (right, "reconstruction"))):
        x0 = k * (panel_w + gap) / fig_w
        ax = fig.add_axes([x0, 0, panel_w / fig_w, 1 - title_h / fig_h])
        _draw_grid(ax, grid)
        ax.set_title(label, fontsize=10)
    return _save(fig, path)


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
    """
    x = _numpy(x)
    z = _batched(lambda b: _joined(vae.encode(b)), x, batch_size).reshape(len(x), -1)
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

    Raises:
        ValueError: ``latent_dim != 2`` or the data are not images.
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
    normal = NormalDist()
    lo = normal.cdf(-float(span))
    quantiles = np.linspace(lo, 1.0 - lo, n)
    coords = np.array([normal.inv_cdf(q) for q in quantiles], dtype=np.float32)
    zx, zy = np.meshgrid(coords, coords[::-1])  # top row = largest z[1]
    z = np.stack([zx.ravel(), zy.ravel()], axis=1)
    decoded = _numpy(vae.decode(z))
    images = as_images(decoded)
    if images is None:
        raise ValueError(
            f"manifold() draws images, but this VAE decodes examples of shape "
            f"{decoded.shape[1:]}."
        )
    grid = to_display_range(images_to_grid(images, ncols=n, padding=0))
    height, width = grid.shape[:2]
    margin = 0.6
    fig = _figure(width * scale / DPI + margin, height * scale / DPI + margin)
    fw, fh = fig.get_figwidth(), fig.get_figheight()
    ax = fig.add_axes([margin / fw, margin / fh, 1 - margin / fw, 1 - margin / fh])
    tile_h, tile_w = images.shape[1:3]
    _draw_grid(ax, grid, hide_axes=False)
    ticks = np.linspace(0, n - 1, min(n, 5)).round().astype(int)
    ax.set_xticks(ticks * tile_w + tile_w / 2, [f"{coords[t]:.1f}" for t in ticks], fontsize=7)
    ax.set_yticks(ticks * tile_h + tile_h / 2, [f"{coords[::-1][t]:.1f}" for t in ticks], fontsize=7)
    ax.set_xlabel("z[0]", fontsize=8, labelpad=1)
    ax.set_ylabel("z[1]", fontsize=8, labelpad=1)
    return _save(fig, path)


def _joined(values) -> np.ndarray:
    """One array from a model's per-group output (a hierarchical model's ``encode``
    and ``kl_per_dimension`` give one array per latent group): the groups side by side."""
    if isinstance(values, (list, tuple)):
        return np.concatenate([_numpy(v) for v in values], axis=-1)
    return _numpy(values)


def kl_per_dimension_plot(
    kl_values: Any,
    path: str | os.PathLike | None = None,
    threshold: float | None = None,
):
    """Bar chart of the average KL(q(z_i|x) || p(z_i)) of each latent dimension.

    Dimensions with (near) zero KL carry no information about x (posterior
    collapse). ``kl_values`` is what ``keras_vae.evaluation.kl_per_dimension``
    returns: one number (nats) per latent dimension.

    Args:
        kl_values: ``(latent_dim,)`` KL per dimension in nats.
        path: save the PNG here.
        threshold: optionally draw a horizontal line at this KL (e.g. the level below
            which a dimension counts as collapsed).
    """
    kl = _joined(kl_values).astype(np.float64).reshape(-1)
    if kl.size == 0:
        raise ValueError("kl_per_dimension_plot got no values.")
    fig = _figure(max(4.0, min(12.0, 0.3 * kl.size + 2.0)), 3.5)
    ax = fig.add_subplot()
    ax.bar(np.arange(kl.size), kl, color="tab:blue")
    if threshold is not None:
        ax.axhline(threshold, color="tab:red", linestyle="--", linewidth=1, label=f"{threshold:g} nats")
        ax.legend(fontsize=8)
    ax.set_xlabel("latent dimension")
    ax.set_ylabel("KL (nats)")
    ax.set_title(f"KL per latent dimension (total {kl.sum():.2f} nats)", fontsize=10)
    if kl.size <= 32:
        ax.set_xticks(np.arange(kl.size))
        ax.tick_params(axis="x", labelsize=7)
    fig.tight_layout()
    return _save(fig, path)


def _read_history(history_or_csv: Any) -> dict[str, list[float]]:
    if hasattr(history_or_csv, "history") and isinstance(history_or_csv.history, Mapping):
        history = dict(history_or_csv.history)
    elif isinstance(history_or_csv, Mapping):
        history = dict(history_or_csv)
    elif isinstance(history_or_csv, (str, os.PathLike)):
        path = os.fspath(history_or_csv)
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        if not rows:
            raise ValueError(f"{path!r} holds no epochs (an empty CSVLogger file?).")
        history = {key: [row[key] for row in rows] for key in rows[0] if key != "epoch"}
    else:
        raise ValueError(
            "training_curves needs a keras History, a dict of lists or the path of a "
            f"CSVLogger file, got {type(history_or_csv).__name__}."
        )
    out = {}
    for key, values in history.items():
        try:
            out[key] = [float(v) if v not in ("", None) else math.nan for v in values]
        except (TypeError, ValueError):
            continue
    if not out:
        raise ValueError("training_curves found no numeric metrics in the history.")
    return out


def training_curves(history_or_csv: Any, path: str | os.PathLike | None = None):
    """Training (solid) and validation (dashed) curves, one panel per metric.

    Args:
        history_or_csv: the ``History`` returned by ``fit``, its ``.history`` dict,
            or the path of a ``keras.callbacks.CSVLogger`` file.
        path: save the PNG here.
    """
    history = _read_history(history_or_csv)
    names = [k for k in history if not k.startswith("val_")]
    names += [k[4:] for k in history if k.startswith("val_") and k[4:] not in history]
    preferred = ["loss", "elbo", "reconstruction_loss", "kl"]
    names = sorted(set(names), key=lambda k: (preferred.index(k) if k in preferred else 99, k))
    ncols = min(2, len(names))
    nrows = math.ceil(len(names) / ncols)
    fig = _figure(4.5 * ncols, 3.0 * nrows)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, name in zip(axes.flat, names):
        for key, style, label in ((name, "-", "train"), (f"val_{name}", "--", "validation")):
            if key in history:
                values = history[key]
                ax.plot(np.arange(1, len(values) + 1), values, style, marker="o", markersize=3, label=label)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("epoch", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.set_axis_off()
    fig.tight_layout()
    return _save(fig, path)
