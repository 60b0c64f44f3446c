"""Pictures of a VAE: samples, reconstructions, latent space, training; per-feature
plots for data that are not images.

| module | what |
| --- | --- |
| ``figures`` | image grids (:func:`sample_grid`, :func:`reconstruction_grid`, :func:`manifold`), :func:`latent_scatter`, :func:`kl_per_dimension_plot`, :func:`training_curves`; numpy-only :func:`images_to_grid` |
| ``codebook`` | :func:`codebook_usage` (a VQ-VAE's code histogram) |
| ``features`` | :func:`feature_reconstructions`, :func:`feature_histograms`, :func:`samples_figure` for tables and other flat data |

matplotlib is imported only inside the drawing functions and figures are drawn on
its Agg canvas (never ``pyplot``). A ``path`` saves the figure in the format its
extension names (``.png``, ``.jpg``, ``.jpeg``, ``.pdf``, ``.svg``).

Example:
    >>> import keras_vae as kv
    >>> from keras_vae import plotting
    >>> vae = kv.VAE(encoder="mlp", decoder="mlp", latent_dim=2, input_shape=(28, 28, 1))
    >>> fig = plotting.sample_grid(vae, n=16, seed=0)  # path="samples.png" also saves it
    >>> [round(v) for v in fig.get_size_inches() * fig.dpi]  # 4 x 4 tiles, 2 px per pixel
    [230, 230]
"""
from keras_vae.plotting.codebook import codebook_usage
from keras_vae.plotting.features import (
    feature_histograms,
    feature_reconstructions,
    looks_like_images,
    samples_figure,
)
from keras_vae.plotting.figures import (
    DPI,
    FORMATS,
    as_images,
    images_to_grid,
    kl_per_dimension_plot,
    latent_scatter,
    manifold,
    picture_format,
    reconstruction_grid,
    sample_grid,
    to_display_range,
    training_curves,
)

__all__ = [
    "DPI",
    "FORMATS",
    "as_images",
    "codebook_usage",
    "feature_histograms",
    "feature_reconstructions",
    "images_to_grid",
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
]
