"""The import path of the figure functions before ``keras_vae.plotting`` was split
into one module per concern; everything here is defined in (and documented with):

| module | what |
| --- | --- |
| :mod:`~keras_vae.plotting.canvas` | :data:`DPI`, :data:`FORMATS`, :func:`picture_format` |
| :mod:`~keras_vae.plotting.images` | :func:`as_images`, :func:`images_to_grid` |
| :mod:`~keras_vae.plotting.display_range` | :func:`to_display_range`, :func:`count_range`, :func:`value_range_for` |
| :mod:`~keras_vae.plotting.grids` | :func:`sample_grid`, :func:`reconstruction_grid` |
| :mod:`~keras_vae.plotting.latent` | :func:`latent_scatter`, :func:`manifold` |
| :mod:`~keras_vae.plotting.training` | :func:`training_curves`, :func:`kl_per_dimension_plot` |

Example:
    >>> from keras_vae.plotting import figures, grids
    >>> figures.sample_grid is grids.sample_grid
    True
"""
from __future__ import annotations

from keras_vae.plotting.canvas import _INSTALL_HINT, DPI, FORMATS, _figure, _numpy, _save, picture_format
from keras_vae.plotting.display_range import count_range, to_display_range, value_range_for
from keras_vae.plotting.grids import (
    MIN_GRID_WIDTH,
    _draw_grid,
    _is_vae,
    _line_panels,
    _show_grid,
    reconstruction_grid,
    sample_grid,
)
from keras_vae.plotting.images import as_images, images_to_grid
from keras_vae.plotting.latent import _batched, _joined, _pca_2d, latent_scatter, manifold
from keras_vae.plotting.training import _read_history, kl_per_dimension_plot, training_curves

__all__ = [
    "images_to_grid",
    "kl_per_dimension_plot",
    "latent_scatter",
    "manifold",
    "reconstruction_grid",
    "sample_grid",
    "training_curves",
]
# The helpers the other plotting modules and the tests imported from here.
_REEXPORTED = (
    _INSTALL_HINT, DPI, FORMATS, MIN_GRID_WIDTH, _batched, _draw_grid, _figure, _is_vae, _joined,
    _line_panels, _numpy, _pca_2d, _read_history, _save, _show_grid, as_images, count_range,
    picture_format, to_display_range, value_range_for,
)
