"""Image grids of examples: generated samples, and originals beside their
reconstructions. Flat data that are not images are drawn as small line plots.

Values are drawn on [0, 1], or on a fixed ``value_range`` with a labelled colour bar
(a level or count model's pictures; see :mod:`keras_vae.plotting.display_range`).

Example:
    >>> import numpy as np
    >>> from keras_vae import plotting
    >>> counts = np.random.default_rng(0).poisson(3.0, size=(9, 8, 8))
    >>> fig = plotting.sample_grid(counts, n=9, value_range=(0, 10))
    >>> fig.axes[-1].get_ylabel()  # the colour bar, in the data's units
    'value'
"""
from __future__ import annotations

import math
import os
from typing import Any, Sequence

import numpy as np

from keras_vae.plotting.canvas import DPI, _conditions, _figure, _numpy, _save
from keras_vae.plotting.display_range import COLORBAR_WIDTH, _colorbar, _resolve, to_display_range
from keras_vae.plotting.images import as_images, images_to_grid

_MAX_LINE_PANELS = 16
#: image grids narrower than this (in screen pixels) are drawn with larger pixels.
MIN_GRID_WIDTH = 320


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


def _scale_for(width: int, scale: int) -> int:
    """Screen pixels per image pixel: ``scale``, or more (up to 16) for a grid narrower
    than :data:`MIN_GRID_WIDTH` pixels, so an 8x8 grid is readable."""
    return max(int(scale), min(16, -(-MIN_GRID_WIDTH // max(1, width))))


def _show_grid(
    grid: np.ndarray,
    scale: int = 2,
    title: str | None = None,
    value_range: tuple[float, float] | None = None,
    label: str | None = None,
):
    """A figure that shows ``grid`` at ``scale`` screen pixels per image pixel, or more
    for small images (see :func:`_scale_for`). With ``value_range`` the values are
    mapped on it and a colour bar labelled ``label`` is drawn on the right."""
    title_h = 0.3 if title else 0.0
    bar_w = COLORBAR_WIDTH if value_range is not None else 0.0
    height, width = grid.shape[:2]
    scale = _scale_for(width, scale)
    grid_w = width * scale / DPI
    fig = _figure(grid_w + bar_w, height * scale / DPI + title_h)
    top = 1 - title_h / fig.get_figheight()
    ax = fig.add_axes([0, 0, grid_w / fig.get_figwidth(), top])
    _draw_grid(ax, to_display_range(grid, value_range))
    if value_range is not None:
        _colorbar(fig, value_range, label or "value", 0.1 * top, 0.8 * top)
    if title:
        fig.suptitle(title, y=1 - 0.05 / fig.get_figheight(), va="top", fontsize=10)
    return fig


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


def sample_grid(
    vae_or_images: Any,
    n: int = 64,
    seed: int | None = 0,
    path: str | os.PathLike | None = None,
    ncols: int | None = None,
    scale: int = 2,
    title: str | None = None,
    value_range: tuple[float, float] | None = None,
    condition: Any = None,
):
    """A grid of generated examples (the mean of p(x|z) for z ~ p(z)).

    Args:
        vae_or_images: a ``keras_vae.VAE`` (``n`` samples are drawn with ``seed``) or
            an array of examples (the first ``n`` are shown).
        n: number of examples.
        seed: sampling seed, so grids of different epochs are comparable.
        path: save the picture here.
        ncols: images per row (default ``ceil(sqrt(n))``).
        scale: screen pixels per image pixel.
        title: optional title above the grid.
        value_range: ``(low, high)`` drawn black and white for the whole figure, with a
            colour bar (e.g. ``plotting.value_range_for(vae, x_train)``). By default
            values in [0, 1] are drawn as they are, a level model's on ``(0, k - 1)``,
            a count model's on :func:`~keras_vae.plotting.count_range` of the samples,
            and other values min-max scaled.
        condition: for a conditioned model, the condition the samples are drawn at:
            one for all (e.g. ``7``) or one per sample (``n`` of them), as for
            ``vae.sample``.

    Returns:
        The ``matplotlib.figure.Figure``.

    Raises:
        ValueError: ``n < 1`` or an invalid ``value_range`` (before anything is drawn).

    Example:
        >>> import keras_vae as kv
        >>> vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(8, 8, 1))
        >>> fig = sample_grid(vae, n=4, seed=0)  # path="samples.png" also saves it
        >>> # 2 x 2 tiles and a 1-pixel gap are 17 pixels wide: drawn 16 px per pixel (the most)
        >>> [round(v) for v in fig.get_size_inches() * fig.dpi]
        [272, 272]
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}.")
    model = vae_or_images if _is_vae(vae_or_images) else None
    if model is not None:
        kwargs = {} if condition is None else {"condition": _conditions(model, condition, int(n))}
        x = _numpy(model.sample(int(n), seed=seed, **kwargs))
    else:
        if condition is not None:
            raise ValueError("sample_grid takes a condition only with a model, not with an array of examples.")
        x = _numpy(vae_or_images)[:n]
    images = as_images(x)
    if images is None:
        flat = x.reshape(len(x), -1)
        fig = _line_panels([(f"sample {i}", v) for i, v in enumerate(flat)], ncols or 4, title)
    else:
        value_range, label = _resolve(model, images, value_range)
        fig = _show_grid(images_to_grid(images, ncols), scale=scale, title=title,
                         value_range=value_range, label=label)
    return _save(fig, path)


def reconstruction_grid(
    vae: Any,
    x: Any,
    n: int = 16,
    path: str | os.PathLike | None = None,
    ncols: int | None = None,
    scale: int = 2,
    value_range: tuple[float, float] | None = None,
    condition: Any = None,
):
    """Originals (left panel) next to their reconstructions (right panel).

    The reconstruction is ``vae.reconstruct(x)``: the mean of p(x|z) at the posterior
    mean. Tile ``i`` of the right panel is the reconstruction of tile ``i`` of the
    left one, and both panels share one display range. Flat non-image data are drawn
    as line plots, original solid and reconstruction dashed.

    Args:
        vae: a trained ``keras_vae.VAE``.
        x: data (the first ``n`` examples are used).
        n: number of examples.
        path: save the picture here.
        ncols: images per row of each panel (default ``ceil(sqrt(n))``).
        scale: screen pixels per image pixel.
        value_range: ``(low, high)`` drawn black and white, with a colour bar; by
            default as in :func:`sample_grid`, a count model's range taken from the
            originals shown.
        condition: for a conditioned model, each example's condition (one per row of
            ``x``; the first ``n`` are used) or one for all.

    Raises:
        ValueError: ``n < 1`` or an invalid ``value_range`` (before anything is drawn).

    Example:
        >>> import numpy as np, keras_vae as kv
        >>> vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(8, 8, 1), likelihood="poisson")
        >>> x = np.random.default_rng(0).poisson(4.0, size=(4, 8, 8, 1))
        >>> fig = reconstruction_grid(vae, x, n=4, value_range=(0, 12))
        >>> [ax.get_title() for ax in fig.axes[:2]], fig.axes[2].get_ylabel()
        (['original', 'reconstruction'], 'count')
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}.")
    originals = _numpy(x)[:n]
    images = as_images(originals)
    if images is not None:
        value_range, label = _resolve(vae, images, value_range)
    if condition is None:
        recon = _numpy(vae.reconstruct(originals))
    else:
        condition = _conditions(vae, condition, len(_numpy(x)))[:n]
        recon = _numpy(vae.reconstruct(originals, condition=condition))
    recon = recon.reshape(originals.shape)
    if images is None:
        flat_o, flat_r = originals.reshape(len(originals), -1), recon.reshape(len(recon), -1)
        series = [(f"example {i}", np.stack([o, r])) for i, (o, r) in enumerate(zip(flat_o, flat_r))]
        fig = _line_panels(series, ncols or 4, "original (solid) vs reconstruction (dashed)")
        return _save(fig, path)
    both = to_display_range(
        np.stack([images_to_grid(images, ncols), images_to_grid(as_images(recon), ncols)]),
        value_range,
    )
    left, right = both[0], both[1]
    height, width = left.shape[:2]
    gap, title_h = 0.15, 0.3
    bar_w = COLORBAR_WIDTH if value_range is not None else 0.0
    panel_w = width * scale / DPI
    fig = _figure(2 * panel_w + gap + bar_w, height * scale / DPI + title_h)
    fig_w, fig_h = fig.get_figwidth(), fig.get_figheight()
    top = 1 - title_h / fig_h
    for k, (grid, name) in enumerate(((left, "original"), (right, "reconstruction"))):
        x0 = k * (panel_w + gap) / fig_w
        ax = fig.add_axes([x0, 0, panel_w / fig_w, top])
        _draw_grid(ax, grid)
        ax.set_title(name, fontsize=10)
    if value_range is not None:
        _colorbar(fig, value_range, label, 0.1 * top, 0.8 * top)
    return _save(fig, path)
