"""A callback that saves a grid of generated samples while a VAE trains."""
from __future__ import annotations

import importlib.util
import os
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from keras_vae.plotting import as_images, images_to_grid, to_display_range, value_range_for
from keras_vae.plotting.display_range import check_value_range


class SampleGridCallback(keras.callbacks.Callback):
    """Every ``every`` epochs, write a grid of samples from the model being trained.

    The samples are the mean of p(x|z) for ``n`` draws z ~ p(z) made with a fixed
    ``seed``, so the same latent points are decoded at every epoch and the grids show
    how the decoder changes. The grid is written as a PNG named
    ``samples_epoch_{epoch:03d}.png`` in ``directory`` (epochs counted from 1, like
    ``ModelCheckpoint``), and, when ``log_dir`` is given, as an image summary tagged
    ``samples`` in a TensorBoard event file in ``log_dir``. PNGs are encoded by
    TensorFlow, so neither matplotlib nor pillow is needed; TensorBoard itself is not
    needed to write the events either.

    Values are shown as they are when they lie in [0, 1] (Bernoulli means, images
    scaled to [0, 1]) and min-max scaled per grid otherwise. The model's examples must
    be images (``(h, w)``, ``(h, w, 1|3)``) or flat with a square length.

    Args:
        directory: folder of the PNG files (created if needed); ``None`` writes no
            PNGs.
        every: write after every ``every``-th epoch (epochs ``every``, ``2 * every``,
            ...).
        n: number of samples in the grid.
        seed: sampling seed (the same for every epoch).
        log_dir: folder of the TensorBoard event file; ``None`` writes none.
        ncols: images per row (default ``ceil(sqrt(n))``).
        scale: each image pixel becomes a ``scale x scale`` block in the PNG.
        padding: pixels between the tiles.
        value_range: ``(low, high)`` drawn black to white in every grid. By default a
            model of ``k`` levels uses ``(0, k - 1)``, a count model (Poisson,
            negative binomial, ZINB) the range of its first grid's counts, kept for
            every later epoch (so grids of different epochs compare), and any other
            model draws values in [0, 1] as they are (others min-max scaled).

    Example:
        In training, ``vae.fit(x, epochs=4, callbacks=[grids])`` calls the callback
        after each epoch. Here its end-of-epoch hook is called by hand, as ``fit``
        would (a real ``fit`` traces the training step, seconds of CPU):

        >>> import os, tempfile, keras_vae as kv
        >>> from keras_vae.callbacks import SampleGridCallback
        >>> vae = kv.VAE(encoder=kv.encoders.MLPEncoder([8]), decoder=kv.decoders.MLPDecoder([8]),
        ...              latent_dim=2, input_shape=(8, 8, 1))
        >>> out = tempfile.mkdtemp()
        >>> grids = SampleGridCallback(os.path.join(out, "grids"), every=2, n=4)
        >>> grids.set_model(vae)
        >>> for epoch in range(4):  # 0-based, as fit passes it
        ...     grids.on_epoch_end(epoch)
        >>> sorted(os.listdir(os.path.join(out, "grids")))
        ['samples_epoch_002.png', 'samples_epoch_004.png']
        >>> grids.make_grid().shape  # uint8: 2 x 2 tiles of 8 pixels and a 1-pixel gap
        (17, 17, 1)

        With ``log_dir=os.path.join(out, "logs")`` the grids also go to a TensorBoard
        event file: ``tensorboard --logdir <out>/logs`` shows them under "samples".
    """

    def __init__(
        self,
        directory: str | os.PathLike | None = "samples",
        every: int = 1,
        n: int = 64,
        seed: int = 0,
        log_dir: str | os.PathLike | None = None,
        ncols: int | None = None,
        scale: int = 1,
        padding: int = 1,
        value_range: tuple[float, float] | None = None,
    ):
        super().__init__()
        if directory is None and log_dir is None:
            raise ValueError(
                "SampleGridCallback needs somewhere to write: give directory= (PNG files) "
                "and/or log_dir= (TensorBoard)."
            )
        for label, value in (("every", every), ("n", n), ("scale", scale)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{label} must be an integer >= 1, got {value!r}.")
        if ncols is not None and int(ncols) < 1:
            raise ValueError(f"ncols must be >= 1, got {ncols!r}.")
        if int(padding) < 0:
            raise ValueError(f"padding must be >= 0, got {padding!r}.")
        self.value_range = check_value_range(value_range)  # before any state is kept
        self.directory = None if directory is None else os.fspath(directory)
        self.every = int(every)
        self.n = int(n)
        self.seed = int(seed)
        self.log_dir = None if log_dir is None else os.fspath(log_dir)
        self.ncols = None if ncols is None else int(ncols)
        self.scale = int(scale)
        self.padding = int(padding)
        self.written: list[str] = []
        self._writer = None

    # ------------------------------------------------------------- helpers
    def make_grid(self, model: Any = None) -> np.ndarray:
        """The current sample grid as ``uint8`` ``(height, width, 1|3)``."""
        model = model if model is not None else self.model
        if not hasattr(model, "sample"):
            raise ValueError(
                "SampleGridCallback needs a keras_vae.VAE (a model with .sample(n, seed)), "
                f"got {type(model).__name__}."
            )
        samples = np.asarray(model.sample(self.n, seed=self.seed))
        images = as_images(samples)
        if images is None:
            raise ValueError(
                "SampleGridCallback draws images, but the model's examples have shape "
                f"{samples.shape[1:]}: use image data or flat data with a square length."
            )
        if self.value_range is None:
            # Fixed once, from the model's levels or its first grid's counts (None, and
            # asked again, for a model with neither).
            self.value_range = value_range_for(model, samples)
        grid = to_display_range(images_to_grid(images, self.ncols, padding=self.padding), self.value_range)
        if self.scale > 1:
            grid = np.repeat(np.repeat(grid, self.scale, axis=0), self.scale, axis=1)
        if grid.ndim == 2:
            grid = grid[..., None]
        return np.round(grid * 255.0).astype(np.uint8)

    def path_for(self, epoch: int) -> str | None:
        """The PNG path of (1-based) ``epoch``, or ``None`` without a directory."""
        if self.directory is None:
            return None
        return os.path.join(self.directory, f"samples_epoch_{epoch:03d}.png")

    def _write_summary(self, grid: np.ndarray, step: int) -> None:
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        with self._writer.as_default():
            if importlib.util.find_spec("tensorboard") is not None:
                tf.summary.image("samples", grid[None], step=step, max_outputs=1)
            else:
                # tf.summary.image lives in the tensorboard package, which TF no longer
                # requires. Write the record TensorBoard's image plugin writes: the
                # strings [width, height, png] with the "images" plugin metadata.
                from tensorflow.core.framework import summary_pb2

                metadata = summary_pb2.SummaryMetadata(
                    plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="images")
                )
                tensor = tf.stack(
                    [
                        tf.constant(str(grid.shape[1])),
                        tf.constant(str(grid.shape[0])),
                        tf.io.encode_png(grid),
                    ]
                )
                tf.summary.write("samples", tensor, step=step, metadata=metadata)
        self._writer.flush()

    # ----------------------------------------------------------- callbacks
    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        epoch = epoch + 1
        if epoch % self.every:
            return
        grid = self.make_grid()
        path = self.path_for(epoch)
        if path is not None:
            os.makedirs(self.directory, exist_ok=True)
            tf.io.write_file(path, tf.io.encode_png(grid))
            self.written.append(path)
        if self.log_dir is not None:
            self._write_summary(grid, epoch)

    def on_train_end(self, logs: dict | None = None) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def get_config(self) -> dict:
        return {
            "directory": self.directory,
            "every": self.every,
            "n": self.n,
            "seed": self.seed,
            "log_dir": self.log_dir,
            "ncols": self.ncols,
            "scale": self.scale,
            "padding": self.padding,
        }

    @classmethod
    def from_config(cls, config: dict) -> "SampleGridCallback":
        return cls(**config)


class KLWarmup(keras.callbacks.Callback):
    """KL warm-up (Bowman et al. 2016; Sønderby et al. 2016): beta rises linearly
    from ``start`` to 1 over the first ``epochs`` epochs, then stays at 1.

    A weak KL early lets the decoder learn to use z before the prior pulls the
    posterior onto itself (a VampPrior, whose components start identical, is prone
    to that collapse; Tomczak & Welling warm up for 100 epochs). Works with any
    objective that has a ``beta`` (the ELBO); the value is saved with the model, so
    a resumed run continues the schedule from its epoch.

    Args:
        epochs: warm-up length in epochs (>= 1).
        start: beta at epoch 0, in [0, 1].

    Example:
        >>> import keras_vae as kv
        >>> warmup = kv.callbacks.KLWarmup(epochs=10)
        >>> [round(warmup.beta_at(e), 2) for e in (0, 5, 10, 20)]
        [0.0, 0.5, 1.0, 1.0]
    """

    def __init__(self, epochs: int, start: float = 0.0):
        super().__init__()
        from keras_vae._arguments import check_number

        self.epochs = int(check_number(epochs, "epochs", minimum=1, integer=True))
        self.start = check_number(start, "start", minimum=0.0, maximum=1.0)

    def beta_at(self, epoch: int) -> float:
        """beta during ``epoch`` (0-based)."""
        return min(1.0, self.start + (1.0 - self.start) * epoch / self.epochs)

    def on_train_begin(self, logs=None):
        if not hasattr(getattr(self.model, "objective", None), "beta"):
            raise ValueError(
                f"KLWarmup needs an objective with a beta (e.g. 'elbo'); "
                f"{type(getattr(self.model, 'objective', None)).__name__} has none."
            )

    def on_epoch_begin(self, epoch, logs=None):
        beta = self.beta_at(epoch)
        if beta != self.model.beta:
            self.model.beta = beta
