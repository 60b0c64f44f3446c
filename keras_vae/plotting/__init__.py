"""Pictures of a VAE: samples, reconstructions, latent space, training; per-feature
plots for data that are not images.

| module | what |
| --- | --- |
| ``grids`` | image grids of examples: :func:`sample_grid`, :func:`reconstruction_grid` |
| ``latent`` | :func:`latent_scatter`, :func:`manifold` |
| ``training`` | :func:`training_curves`, :func:`kl_per_dimension_plot` |
| ``display_range`` | which value is which grey: :func:`to_display_range`, :func:`count_range`, :func:`value_range_for` |
| ``images`` | numpy only: :func:`as_images`, :func:`images_to_grid` |
| ``canvas`` | :data:`DPI`, :data:`FORMATS`, :func:`picture_format` |
| ``codebook`` | :func:`codebook_usage` (a VQ-VAE's code histogram) |
| ``features`` | :func:`feature_reconstructions`, :func:`feature_histograms`, :func:`samples_figure` for tables and other flat data |
| ``figures`` | the former home of the grid, latent and training figures (same names) |

matplotlib is imported only inside the drawing functions and figures are drawn on
its Agg canvas (never ``pyplot``). A ``path`` saves the figure in the format its
extension names (``.png``, ``.jpg``, ``.jpeg``, ``.pdf``, ``.svg``).

Values in [0, 1] are drawn as they are. A count model's pictures (``poisson``,
``negative_binomial``, ``zero_inflated_negative_binomial``) are drawn on one range fixed for the whole figure,
with a colour bar in counts: pass ``value_range=plotting.value_range_for(vae, x_train)``
(zero black, the 99th percentile of the training counts white) to every figure and
a count has the same grey in all of them.

Example:
    >>> import keras_vae as kv
    >>> from keras_vae import plotting
    >>> vae = kv.VAE(encoder="mlp", decoder="mlp", latent_dim=2, input_shape=(28, 28, 1))
    >>> fig = plotting.sample_grid(vae, n=16, seed=0)  # path="samples.png" also saves it
    >>> [round(v) for v in fig.get_size_inches() * fig.dpi]  # 4 x 4 tiles, 3 px per pixel
    [345, 345]
"""
from keras_vae.plotting.canvas import DPI, FORMATS, picture_format
from keras_vae.plotting.codebook import codebook_usage
from keras_vae.plotting.display_range import count_range, is_count_model, to_display_range, value_range_for
from keras_vae.plotting.features import (
    feature_histograms,
    feature_reconstructions,
    looks_like_images,
    samples_figure,
)
from keras_vae.plotting.grids import reconstruction_grid, sample_grid
from keras_vae.plotting.images import as_images, images_to_grid
from keras_vae.plotting.latent import latent_scatter, manifold
from keras_vae.plotting.training import kl_per_dimension_plot, training_curves

from keras_vae.plotting import figures  # noqa: E402,F401  (the former import path)

__all__ = [
    "DPI",
    "FORMATS",
    "as_images",
    "codebook_usage",
    "count_range",
    "feature_histograms",
    "feature_reconstructions",
    "images_to_grid",
    "is_count_model",
    "kl_per_dimension_plot",
    "latent_scatter",
    "looks_like_images",
    "manifold",
    "picture_format",
    "reconstruction_grid",
    "sample_grid",
    "samples_figure",
    "to_display_range",
    "training_curves",
    "value_range_for",
]
