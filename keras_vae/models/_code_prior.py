"""The code-prior half of ``kv.VQVAE``: fit the prior over code grids, score codes
with it, sample from it."""
from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from keras_vae import _seeds
from keras_vae.models._prior_trainer import PriorTrainer


class CodePriorMixin:
    """``fit_prior``, ``prior_bits_per_code``, ``code_statistics``, ``sample_codes`` and
    ``sample`` for a model with ``prior_layer`` (kind ``"code_prior"``), ``codes``,
    ``check_codes``, ``decode_codes``, ``grid_shape`` and ``num_embeddings``."""

    def _set_prior_trainable(self, value: bool) -> None:
        # Every sublayer itself: a layer rebuilt from its config does not pass the flag on.
        for layer in self.prior_layer._flatten_layers(include_self=True, recursive=True):
            layer.trainable = value

    def _require_prior(self, what: str) -> None:
        if self.prior_layer is None:
            raise ValueError(f"{self.name} has no prior (prior=None), so it cannot {what}.")

    def fit_prior(
        self,
        x,
        epochs: int = 10,
        batch_size: int = 64,
        validation_data=None,
        learning_rate: float = 1e-3,
        verbose: Any = "auto",
        callbacks=None,
        shuffle: bool = True,
    ) -> keras.callbacks.History:
        """Fit the prior over codes to the codes of ``x`` (maximum likelihood, with
        its own Adam optimizer, ``prior_optimizer``, whose state is saved with the model
        so a second ``fit_prior`` — also after ``kv.load_model`` — continues exactly). The model must be trained first: the prior models
        the codes a trained encoder gives.

        Reports ``loss`` (nats per grid) and ``bits_per_code``; ``validation_data``
        (x, or ``(x,)``) adds their ``val_`` versions. Returns Keras' ``History``.
        """
        self._require_prior("fit a prior")
        if not self.built or self.grid_shape is None:
            raise ValueError(f"fit_prior: {self.name} is not built; fit() the VQ-VAE before its prior.")
        optimizer = getattr(self, "optimizer", None)
        if optimizer is None or int(optimizer.iterations.numpy()) == 0:
            raise ValueError(
                "fit_prior needs a trained VQ-VAE: call compile() and fit() first (the prior "
                "models the codes of a trained encoder; codes of an untrained one are noise)."
            )
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
            raise ValueError(f"epochs must be an integer >= 1, got {epochs!r}.")
        codes = self.codes(x)
        validation = None
        if validation_data is not None:
            val_x = validation_data[0] if isinstance(validation_data, (tuple, list)) else validation_data
            validation = (self.codes(val_x),)
        trainer = PriorTrainer(self.prior_layer, self.grid_shape)
        self.prior_optimizer.learning_rate = learning_rate
        trainer.compile(optimizer=self.prior_optimizer)
        self._set_prior_trainable(True)
        try:
            return trainer.fit(codes, epochs=epochs, batch_size=batch_size, validation_data=validation,
                               verbose=verbose, callbacks=callbacks, shuffle=shuffle)
        finally:
            self._set_prior_trainable(False)

    def prior_bits_per_code(self, x=None, codes=None, batch_size: int = 256) -> float:
        """Mean ``-log2 p(codes) / positions`` of the prior on the codes of ``x`` (or
        on ``codes``): the prior's code length in bits per code."""
        self._require_prior("score codes")
        codes = self.codes(x) if codes is None else np.asarray(self.check_codes(codes))
        fn = self._graph("bits", self.prior_layer.bits_per_code)
        bits = [np.asarray(fn(tf.constant(codes[i : i + batch_size]))) for i in range(0, len(codes), batch_size)]
        return float(np.mean(np.concatenate(bits)))

    def code_statistics(self, x=None, codes=None) -> dict:
        """Usage of the codebook over a whole data set: ``counts`` (per code),
        ``perplexity``, ``codes_in_use`` (share), ``unigram_bits`` (entropy of the
        code histogram, the code length of a prior that ignores context) and
        ``uniform_bits`` (log2 K)."""
        codes = self.codes(x) if codes is None else np.asarray(self.check_codes(codes))
        counts = np.bincount(codes.reshape(-1), minlength=self.num_embeddings)
        p = counts / counts.sum()
        entropy = -np.sum(p[p > 0] * np.log(p[p > 0]))
        return {
            "counts": counts,
            "perplexity": float(np.exp(entropy)),
            "codes_in_use": float(np.mean(counts > 0)),
            "unigram_bits": float(entropy / math.log(2.0)),
            "uniform_bits": float(math.log2(self.num_embeddings)),
        }

    def sample_codes(self, n: int, seed=None) -> tf.Tensor:
        """``n`` code grids from the prior (one ``tf.function`` loop over positions)."""
        self._require_prior("sample")
        if not self.built:
            raise ValueError(f"{self.name} is not built yet: give input_shape= or fit it first.")
        if seed is not None:
            seed = self.noise_seed(seed, stream=_seeds.SAMPLE_Z)
        return self.prior_layer.sample(n, seed=seed)

    def sample(self, n: int, seed=None, sample_x: bool = False) -> tf.Tensor:
        """Generate ``n`` examples: codes from the prior, then the mean of p(x | codes)
        (or a sample with ``sample_x=True``)."""
        codes = self.sample_codes(n, seed=seed)
        x_seed = None if seed is None else self.noise_seed(seed, stream=_seeds.SAMPLE_X)
        return self.decode_codes(codes, sample=sample_x, seed=x_seed)

    def bits_per_dim(self, x, prior: str = "learned", batch_size: int = 256) -> float:
        """An upper bound on ``-log2 p(x) / D`` for a discrete likelihood (8-bit images
        with ``"categorical"`` or ``"logistic_mixture"``), the paper's bits/dim figure::

            bits/dim = (-log p(x | z_q(x)) + L(codes(x))) / (D ln 2)

        where the code length ``L`` is ``-log p_prior(codes)`` (``prior="learned"``,
        the fitted code prior) or ``positions * log K`` (``prior="uniform"``, the
        bound van den Oord et al. 2017 report while training). The posterior over codes
        is a point mass, so this is the ELBO in bits per dimension.
        """
        if prior not in ("learned", "uniform"):
            raise ValueError(f"prior must be 'learned' or 'uniform', got {prior!r}.")
        if not getattr(self.likelihood_layer, "discrete", False):
            raise ValueError(
                f"bits_per_dim needs a discrete likelihood (a probability mass, e.g. 'categorical' or "
                f"'logistic_mixture' on 8-bit data); {type(self.likelihood_layer).__name__} is a density."
            )
        if prior == "learned":
            self._require_prior("score codes")

        def fn(x):
            terms = self.terms(x)
            nats = -terms["log_px"]
            codes = self.quantizer(self._encode(x))["indices"]
            if prior == "learned":
                return nats - self.prior_layer.log_prob(codes)
            return nats + math.prod(self.grid_shape) * math.log(self.num_embeddings)

        nats = self._batched(x, self._graph(f"bits_per_dim_{prior}", fn), batch_size)
        return float(np.mean(nats) / (math.prod(self.data_shape) * math.log(2.0)))
