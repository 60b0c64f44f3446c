"""Batches of examples as images, and images tiled into one grid (numpy only).

Example:
    >>> import numpy as np
    >>> from keras_vae.plotting import as_images, images_to_grid
    >>> as_images(np.zeros((5, 64))).shape  # flat vectors of a square length
    (5, 8, 8)
    >>> images_to_grid(np.zeros((5, 8, 8)), ncols=3).shape  # 2 rows, 1-pixel gaps
    (17, 26)
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from keras_vae.plotting.canvas import _numpy


def as_images(x: Any) -> np.ndarray | None:
    """``x`` as ``(n, h, w)`` or ``(n, h, w, 3)`` float images, or ``None`` if not images.

    Accepts ``(n, h, w)``, ``(n, h, w, c)`` with ``c`` in 1, 3, 4 (alpha dropped) and
    flat ``(n, d)`` data whose length is a perfect square (grey) or three times one
    (RGB, channels last).

    Example:
        >>> import numpy as np
        >>> as_images(np.zeros((2, 4, 4, 4))).shape  # RGBA loses its alpha
        (2, 4, 4, 3)
        >>> as_images(np.zeros((2, 10))) is None  # 10 is not a square
        True
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
        :func:`~keras_vae.plotting.to_display_range` to map them to [0, 1]). Unused
        tiles hold ``pad_value``.

    Raises:
        ValueError: the data are not images, or ``ncols`` / ``padding`` are invalid.

    Example:
        >>> import numpy as np
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
