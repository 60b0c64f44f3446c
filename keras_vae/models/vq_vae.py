"""The VQ-VAE: discrete latents (a grid of code indices) on the shared model core."""
from __future__ import annotations

from typing import Any, Sequence

import keras
import numpy as np
import tensorflow as tf

from keras_vae import _seeds, registry
from keras_vae.models._code_prior import CodePriorMixin
from keras_vae.models.base import LatentVariableModel

# A VQ-VAE's latent is a grid: "conv" means the grid-keeping convolutional bodies here.
_GRID_BODIES = {"conv": "conv_grid"}


def _grid_body(spec: Any) -> Any:
    if isinstance(spec, str):
        return _GRID_BODIES.get(spec, spec)
    if isinstance(spec, dict) and "class_name" not in spec and spec.get("name") in _GRID_BODIES:
        return {**spec, "name": _GRID_BODIES[spec["name"]]}
    return spec


class _VQTerms(dict):
    """A VQ-VAE batch's terms: a dict (``log_px``, ``codebook_loss``, ...) that also takes
    the attributes the shared training step sets on any terms (``step``, ``objective_seed``)."""


@registry.register("model", "vqvae")
class VQVAE(CodePriorMixin, LatentVariableModel):
    """A vector-quantized VAE (van den Oord et al. 2017) trained with ``fit`` and
    saved with ``save``, with a gated PixelCNN prior over its codes.

    The data path is::

        x -> encoder -> z_e [B, h, w, D] -> quantizer -> codes [B, h, w] (int32)
                                                   -> z_q -> decoder -> likelihood head -> p(x | z_q)

    and the per-example loss (objective ``"vq"``) is ``-log p(x | z_q)`` plus the
    codebook and commitment terms (see :class:`~keras_vae.quantizers.VectorQuantizer`;
    the encoder gets the decoder's gradient straight through the quantizer). The
    prior over codes is fitted afterwards, on the codes of the data, with
    :meth:`fit_prior`; :meth:`sample` draws codes from it and decodes them.

    Args:
        encoder: encoder body mapping x to a grid ``[B, *grid, embedding_dim]``: a
            registered name (``"conv"`` here means ``"conv_grid"``: strided
            convolutions, then a 1x1 convolution to ``embedding_dim``), a config
            dict, or any Keras layer. Its output channels must equal ``embedding_dim``.
        decoder: decoder body mapping the quantized grid to features (``"conv"``
            means ``"conv_grid"``: transposed convolutions back to the data size).
        num_embeddings: K, the codebook size (>= 2).
        embedding_dim: D, the size of each code.
        input_shape: shape of one example, e.g. ``(28, 28, 1)``; the model is built at
            once when given.
        likelihood: any registered likelihood head on the decoder's output
            (default ``"gaussian"``; ``"logistic_mixture"`` / ``"categorical"`` for
            8-bit images, with a bits/dim figure).
        commitment_cost, ema_decay, codebook_init, dead_code_steps: the quantizer's
            settings (defaults 0.25, 0.99, ``"kmeans"``, 100; see ``VectorQuantizer``).
        quantizer: a quantizer (registered name, config dict or instance) instead of
            the settings above; its ``num_embeddings`` / ``embedding_dim`` must match.
        prior: the prior over code grids (kind ``"code_prior"``, default
            ``"pixelcnn"``; ``{"name": "pixelcnn", "filters": 32}``), or ``None``.
        objective: the objective (default ``"vq"``).
        seed: seed of the quantizer's k-means and restarts and of ``sample``.
        standardize: own a :class:`keras_vae.preprocessing.Standardization` layer (as
            ``kv.VAE``): the model takes and returns data in their own units
            (``codes``, ``decode_codes``, ``reconstruct``, ``sample``, ``predict``) and
            reports ``reconstruction_loss`` as the density of the raw data. A
            real-valued likelihood only; not exported yet (``export`` refuses it).

    Metrics of ``fit`` / ``evaluate``: ``loss``, ``reconstruction_loss`` (nats per
    example), ``codebook_loss``, ``commitment_loss``, ``perplexity`` and
    ``codes_in_use`` (share of the codebook a batch uses).

    Example:
        >>> import numpy as np, keras_vae as kv
        >>> vq = kv.VQVAE(encoder={"name": "conv", "filters": [8]}, decoder={"name": "conv", "filters": [8]},
        ...               num_embeddings=8, embedding_dim=4, input_shape=(8, 8, 1),
        ...               prior={"name": "pixelcnn", "filters": 8, "num_layers": 2}, seed=0)
        >>> vq.compile(optimizer="adam")
        >>> x = np.random.default_rng(0).uniform(size=(32, 8, 8, 1)).astype("float32")
        >>> history = vq.fit(x, epochs=1, batch_size=16, verbose=0)
        >>> vq.codes(x[:2]).shape
        (2, 4, 4)
        >>> vq.decode_codes(vq.codes(x[:2])).shape
        TensorShape([2, 8, 8, 1])
    """

    def __init__(
        self,
        encoder: Any = "conv",
        decoder: Any = "conv",
        num_embeddings: int = 128,
        embedding_dim: int = 16,
        input_shape: Sequence[int] | None = None,
        likelihood: Any = "gaussian",
        commitment_cost: float = 0.25,
        ema_decay: float | None = 0.99,
        codebook_init: str = "kmeans",
        dead_code_steps: int | None = 100,
        quantizer: Any = None,
        prior: Any = "pixelcnn",
        objective: Any = "vq",
        seed: int | None = None,
        validate_inputs: bool = True,
        standardize: bool = False,
        name: str = "vq_vae",
        **kwargs,
    ):
        for value, what, low in ((num_embeddings, "num_embeddings", 2), (embedding_dim, "embedding_dim", 1)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(
                    f"{what} must be an integer >= {low}, got {value!r}"
                    + (" (a codebook needs at least two codes to carry information)." if low == 2 else ".")
                )
        super().__init__(input_shape=input_shape, objective=objective, seed=seed,
                         validate_inputs=validate_inputs, standardize=standardize, name=name, **kwargs)
        self.num_embeddings = int(num_embeddings)
        self.embedding_dim = int(embedding_dim)
        if quantizer is None:
            quantizer = registry.get(
                "quantizer", "vector", num_embeddings=self.num_embeddings, embedding_dim=self.embedding_dim,
                commitment_cost=commitment_cost, ema_decay=ema_decay, codebook_init=codebook_init,
                dead_code_steps=dead_code_steps, seed=self.seed,
            )
        else:
            quantizer = registry.get("quantizer", quantizer)
            if (quantizer.num_embeddings, quantizer.embedding_dim) != (self.num_embeddings, self.embedding_dim):
                raise ValueError(
                    f"The quantizer has num_embeddings={quantizer.num_embeddings}, embedding_dim="
                    f"{quantizer.embedding_dim}, but the model was given num_embeddings="
                    f"{self.num_embeddings}, embedding_dim={self.embedding_dim}."
                )
        self.quantizer = quantizer
        self.encoder = registry.get("encoder", _grid_body(encoder))
        self.decoder = registry.get("decoder", _grid_body(decoder))
        self.likelihood_layer = registry.get("likelihood", likelihood)
        self.prior_layer = None if prior is None else registry.get("code_prior", prior)
        if self.prior_layer is not None:
            self.prior_layer.configure(num_embeddings=self.num_embeddings)
        self.grid_shape: tuple[int, ...] | None = None
        self.prior_optimizer = None if self.prior_layer is None else keras.optimizers.Adam(1e-3, name="prior_adam")
        self._graphs: dict = {}
        # The batch's sample weights while a training step is traced (see _update).
        self._step_weights = None
        # A real-valued likelihood only (the VAE's rule), before anything is built.
        self.check_likelihood_allows_standardize()
        self._finish_init(input_shape)

    # ------------------------------------------------------------------ build
    def _components_to_build(self) -> tuple:
        return (self.encoder, self.quantizer, self.decoder, self.likelihood_layer)

    def _forward_build(self, components, data_shape) -> None:
        encoder, quantizer, decoder, likelihood = components
        for component in (encoder, decoder, likelihood):
            if hasattr(component, "configure"):
                component.configure(data_shape=data_shape, embedding_dim=self.embedding_dim)
        h = encoder(likelihood.encoder_input(tf.zeros((1, *data_shape), tf.float32)))
        if len(h.shape) < 3:
            raise ValueError(
                f"The encoder {type(encoder).__name__} gives features of shape {tuple(h.shape)}; a VQ-VAE "
                "needs a grid of vectors (batch, *grid, embedding_dim), e.g. encoder='conv' "
                "(strided convolutions without flatten)."
            )
        if h.shape[-1] != self.embedding_dim:
            raise ValueError(
                f"embedding_dim={self.embedding_dim} does not match the encoder's {h.shape[-1]} output "
                f"channels (its output shape is {tuple(h.shape)}): give the encoder's last layer "
                f"{self.embedding_dim} channels or set embedding_dim={h.shape[-1]}."
            )
        likelihood(decoder(quantizer(h)["quantized"]))
        self.grid_shape = tuple(int(d) for d in h.shape[1:-1])

    def _finish_build(self, data_shape) -> None:
        if self.prior_layer is not None:
            self.prior_layer.configure(num_embeddings=self.num_embeddings, grid_shape=self.grid_shape)
            if not self.prior_layer.built:
                self.prior_layer.build()
            # Trained by fit_prior with its own optimizer (saved with the model, so
            # prior training resumes exactly), never by the model's.
            self._set_prior_trainable(False)
            if not self.prior_optimizer.built:
                self.prior_optimizer.build(self.prior_layer.weights)

    supports_standardize = True

    def _scale_advice(self, x) -> None:
        """No standardization advice: the base's advice looks at each pixel, and pixels
        that are constant across the data (an image's border) are not a scaling problem
        for a VQ-VAE's conv bodies; ``standardize=True`` is there for data that need it."""

    # ----------------------------------------------------------- inference
    def _encode(self, x, training=None):
        return self.encoder(self.likelihood_layer.encoder_input(x), training=training)

    def _decode_params(self, z_q, training=None):
        return self.likelihood_layer(self.decoder(z_q, training=training), training=training)

    def _graph(self, name, fn):
        if name not in self._graphs:
            self._graphs[name] = tf.function(fn, autograph=False, reduce_retracing=True)
        return self._graphs[name]

    def _batched(self, x, fn, batch_size: int):
        """``fn`` over a checked array ``x`` (or a ``tf.data.Dataset`` of batches of x
        or ``(x, ...)``) in batches, results concatenated (numpy)."""
        self.check_data(x, "x")
        if isinstance(x, tf.data.Dataset):
            out = []
            for batch in x:
                batch = batch[0] if isinstance(batch, (tuple, list)) else batch
                out.append(np.asarray(fn(self.prepare(batch))))
            return np.concatenate(out, axis=0)
        x = np.asarray(x) if not isinstance(x, tf.Tensor) else x
        out = [np.asarray(fn(self.prepare(x[i : i + batch_size]))) for i in range(0, len(x), batch_size)]
        return np.concatenate(out, axis=0)

    def codes(self, x, batch_size: int = 256) -> np.ndarray:
        """The code index of every grid position: int32 ``[N, *grid_shape]``.

        Example: a 28x28 image with the default ``"conv"`` encoder gives a 7x7 grid.
        """
        fn = self._graph("codes", lambda x: self.quantizer(self._encode(x))["indices"])
        return self._batched(x, fn, batch_size).astype(np.int32)

    def check_codes(self, codes) -> tf.Tensor:
        """``codes`` as int32 after checking dtype, shape and range (``ValueError``);
        nothing has run when it raises."""
        if not self.built or self.grid_shape is None:
            raise ValueError(f"{self.name} is not built yet: give input_shape= or fit it first.")
        if isinstance(codes, tf.Tensor) and not tf.executing_eagerly():
            codes = tf.cast(codes, tf.int32)
            with tf.control_dependencies([
                tf.debugging.assert_non_negative(codes, "keras_vae: a code index is negative."),
                tf.debugging.assert_less(codes, self.num_embeddings, "keras_vae: a code index is >= num_embeddings."),
            ]):
                return tf.identity(codes)
        array = np.asarray(codes)
        if not np.issubdtype(array.dtype, np.integer):
            if not (np.issubdtype(array.dtype, np.floating) and np.all(np.isfinite(array)) and np.all(array == np.round(array))):
                raise ValueError(f"codes must be integer indices, got dtype {array.dtype} with non-integer values.")
        if array.ndim != 1 + len(self.grid_shape) or tuple(array.shape[1:]) != self.grid_shape:
            raise ValueError(
                f"codes have shape {array.shape}, but {self.name} decodes grids of shape "
                f"(batch, {', '.join(map(str, self.grid_shape))})."
            )
        if array.size and (array.min() < 0 or array.max() >= self.num_embeddings):
            bad = array[(array < 0) | (array >= self.num_embeddings)]
            raise ValueError(
                f"code index {int(bad.flat[0])} is outside the codebook: indices must lie in "
                f"[0, {self.num_embeddings - 1}] (num_embeddings={self.num_embeddings}); "
                f"{bad.size} index(es) are out of range."
            )
        return tf.constant(array.astype(np.int32))

    def decode_codes(self, codes, sample: bool = False, seed=None) -> tf.Tensor:
        """Data from a grid of code indices: the mean of p(x | codes), or a sample."""
        codes = self.check_codes(codes)
        p = self.likelihood_layer.distribution(self._decode_params(self.quantizer.lookup(codes)))
        # In the user's units (a model made with standardize=True maps back).
        return self.to_data_units(p.sample(seed=self.noise_seed(seed, stream=_seeds.DECODE)) if sample else p.mean())

    def reconstruct(self, x, batch_size: int = 256) -> np.ndarray:
        """The mean of p(x | quantized codes of x)."""
        def fn(x):
            params = self._decode_params(self.quantizer(self._encode(x))["quantized"])
            return self.to_data_units(self.likelihood_layer.distribution(params).mean())

        return self._batched(x, self._graph("reconstruct", fn), batch_size)

    def call(self, x, training: bool | None = None):
        """The reconstruction (mean of p(x | z_q)), for ``predict``."""
        x = self.prepare(x)
        params = self._decode_params(self.quantizer(self._encode(x, training))["quantized"], training)
        return self.to_data_units(self.likelihood_layer.distribution(params).mean())

    # ------------------------------------------------------------ training
    def terms(self, x, num_samples: int = 1, seed=None, training: bool | None = False) -> dict:
        """What the objective needs about a batch: ``log_px`` ``[B]`` and the
        quantizer's per-example losses, with the batch's perplexity and share of codes
        in use broadcast to ``[B]``. With ``training=True`` the quantizer's EMA,
        k-means and restart updates run (weighted by the sample weights of the
        training step being traced). ``log_px`` is the density of the data in their
        own units (a standardized model subtracts ``sum_d log std_d``)."""
        if not (isinstance(x, tf.Tensor) and x.dtype == tf.float32):
            x = self.prepare(x)
        weights = self._step_weights if training else None
        out = self.quantizer(self._encode(x, training), training=training, sample_weight=weights)
        params = self._decode_params(out["quantized"], training)
        batch = tf.shape(x)[:1]
        # x is standardized when the model standardizes: the density of the raw data
        # has the Jacobian (0 without a standardization).
        log_px = self.likelihood_layer.log_prob(params, x) - self.standardization_log_scale()
        return _VQTerms({
            "log_px": log_px,
            "codebook_loss": out["codebook_loss"],
            "commitment_loss": out["commitment_loss"],
            "perplexity": tf.fill(batch, out["perplexity"]),
            "codes_in_use": tf.fill(batch, out["codes_in_use"]),
            "train_codebook": self.quantizer.ema_decay is None,
        })

    def _update(self, x, weights):
        """The shared training step, with the batch's sample weights handed to the
        quantizer's EMA, k-means and restart updates (``terms`` reads them while the
        step is traced), so they weigh each example as the loss does."""
        self._step_weights = weights
        try:
            return super()._update(x, weights)
        finally:
            self._step_weights = None

    # ---------------------------------------------------------------- export
    def export(self, path, version=None, format: str = "tf_saved_model", **kwargs):
        """Write a TF Serving SavedModel to ``<path>/<version>/`` with the signatures
        ``encode`` (x -> int32 codes), ``decode`` (codes -> mean of p(x|codes)),
        ``reconstruct`` (also ``serving_default``) and ``sample`` (n, seed -> codes and
        images through the prior); see ``keras_vae.export.vq_vae``. ``format="litert"`` or
        ``"onnx"`` writes ``encode`` and ``decode`` files instead (``export_vq_runtime``)."""
        formats = ("tf_saved_model", "litert", "onnx")
        if format not in formats:
            raise ValueError(f"format must be one of {formats}, got {format!r}.")
        from keras_vae.models._finite import check_finite_weights

        check_finite_weights(self, "export")  # nothing non-finite is exported, in any format
        if format != "tf_saved_model":
            if version is not None:
                raise ValueError(f"version= applies to the SavedModel export, not format={format!r}.")
            from keras_vae.export.vq_vae import export_vq_runtime

            return export_vq_runtime(self, path, format=format, **kwargs)
        from keras_vae.export.vq_vae import export_vq_vae

        return export_vq_vae(self, path, version=version, **kwargs)

    # ---------------------------------------------------------------- config
    def get_config(self):
        config = super().get_config()
        config.update(
            encoder=keras.saving.serialize_keras_object(self.encoder),
            decoder=keras.saving.serialize_keras_object(self.decoder),
            num_embeddings=self.num_embeddings,
            embedding_dim=self.embedding_dim,
            likelihood=keras.saving.serialize_keras_object(self.likelihood_layer),
            quantizer=keras.saving.serialize_keras_object(self.quantizer),
            prior=None if self.prior_layer is None else keras.saving.serialize_keras_object(self.prior_layer),
        )
        return config
