"""The pictures ``keras-vae train`` draws in the run folder (``keras_vae.plotting``).

A conditioned model draws its samples at the test examples' conditions, reconstructs
and encodes each test example with its own condition, and, for a one-hot condition and
image data, draws ``samples_by_class.png``: one row of samples for each label.
"""
from __future__ import annotations

import os
from typing import Any, Callable

import numpy as np

#: images per row of samples_by_class.png, and the most classes it shows.
PER_CLASS, MAX_CLASSES = 10, 20


class AtConditions:
    """``vae`` seen with a fixed condition per example, for the plotting helpers,
    which call ``encode`` / ``reconstruct`` on the first rows of the data: rows
    ``0 .. n - 1`` get conditions ``0 .. n - 1``.

    Example:
        >>> import numpy as np, keras_vae as kv
        >>> vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(3,), likelihood="gaussian",
        ...              condition={"name": "one_hot", "num_classes": 2})
        >>> AtConditions(vae, np.array([0, 1, 1])).encode(np.zeros((2, 3), "float32")).shape
        TensorShape([2, 2])
    """

    def __init__(self, vae, condition: np.ndarray):
        self._vae, self._condition = vae, condition

    def _for(self, x) -> np.ndarray:
        if len(x) > len(self._condition):
            raise ValueError(f"{len(x)} examples but only {len(self._condition)} conditions.")
        return self._condition[: len(x)]

    def encode(self, x, **kwargs):
        return self._vae.encode(x, condition=self._for(x), **kwargs)

    def reconstruct(self, x):
        return self._vae.reconstruct(x, condition=self._for(x))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._vae, name)


def samples_by_class(vae, num_classes: int, seed: int, path: str, value_range=None) -> Any:
    """One row of :data:`PER_CLASS` samples for each label (the first :data:`MAX_CLASSES`)."""
    from keras_vae import plotting

    labels = np.repeat(np.arange(min(num_classes, MAX_CLASSES), dtype=np.int32), PER_CLASS)
    samples = np.asarray(vae.sample(len(labels), seed=seed, condition=labels))
    return plotting.sample_grid(samples, n=len(samples), ncols=PER_CLASS, path=path,
                                title="one row per label, from 0", value_range=value_range)


def draw(vae, s, run_dir, x_eval, y_test, standardizer, columns, attempt, c_eval=None) -> dict:
    """Image grids for image data; per-feature plots for other data. ``c_eval``: the
    test examples' conditions, for a conditioned model."""
    from keras_vae import plotting

    path = lambda name: os.path.join(run_dir, name)  # noqa: E731
    drawn: dict[str, str] = {}

    def picture(name: str, what: str, make: Callable[[], Any]) -> None:
        if attempt(f"picture {name}", make) is not None:
            drawn[name] = what

    conditioned = c_eval is not None
    seen = vae if not conditioned else AtConditions(vae, c_eval)
    # A conditioned model's samples: at the conditions of the first test examples.
    generated = (lambda n: vae.sample(n, seed=s.seed, condition=c_eval[:n])) if conditioned else None
    labels = None if y_test is None else y_test[:2000]
    if conditioned and np.ndim(labels) > 1:
        labels = None  # a vector condition: no colours
    if plotting.looks_like_images(x_eval[:64]):
        # Counts on one fixed range (from the held-out counts) in every picture of the run.
        shown = plotting.value_range_for(vae, x_eval)
        n = min(64, len(x_eval)) if conditioned else 64
        picture("samples.png", "samples from p(z), decoded" + (" at the test conditions" if conditioned else ""),
                lambda: plotting.sample_grid(vae if not conditioned else np.asarray(generated(n)), n=n,
                                             seed=s.seed, path=path("samples.png"), value_range=shown))
        picture("reconstructions.png", "test images and their reconstructions",
                lambda: plotting.reconstruction_grid(seen, x_eval, n=32, ncols=8, path=path("reconstructions.png"),
                                                     value_range=shown))
        if conditioned and hasattr(vae.condition_layer, "num_classes"):
            picture("samples_by_class.png", "samples for each label, one row per label",
                    lambda: samples_by_class(vae, vae.condition_layer.num_classes, s.seed,
                                             path("samples_by_class.png"), shown))
        if s.latent_dim == 2 and not conditioned:
            picture("manifold.png", "decoded grid over the 2-D latent space",
                    lambda: plotting.manifold(vae, n=20, path=path("manifold.png"), value_range=shown))
    else:
        picture("reconstructions.png", "per-feature reconstruction of the test data",
                lambda: plotting.feature_reconstructions(seen, x_eval, columns=columns, standardizer=standardizer,
                                                         path=path("reconstructions.png")))
        if not conditioned:
            picture("samples.png", "per-feature histograms: samples against test data",
                    lambda: plotting.feature_histograms(vae, x_eval, columns=columns, standardizer=standardizer,
                                                        seed=s.seed, path=path("samples.png")))
    latent_x = x_eval[:2000]
    picture("latent.png", "posterior means of the test data",
            lambda: plotting.latent_scatter(seen, latent_x, labels, path=path("latent.png"),
                                            batch_size=max(1, len(latent_x))))
    picture("curves.png", "training curves",
            lambda: plotting.training_curves(path("history.csv"), path=path("curves.png")))
    from keras_vae.cli.scoring import model_kl_per_dimension

    # given each test example's condition for a conditioned model; None for a flow posterior
    kl = model_kl_per_dimension(vae, x_eval, c_eval if conditioned else None)
    if kl is not None:
        picture("kl.png", "KL per latent dimension",
                lambda: plotting.kl_per_dimension_plot(kl, path=path("kl.png")))
    return drawn
