"""Standardization inside the model: the units the networks compute in, and the
way back to the data's own units (``LatentVariableModel(standardize=True)``)."""
from __future__ import annotations

import numpy as np
import tensorflow as tf


class StandardizingMixin:
    """Needs ``standardization`` (a ``keras_vae.preprocessing.Standardization`` layer,
    or None)."""

    def check_likelihood_allows_standardize(self) -> None:
        """Refuse ``standardize=True`` for a likelihood of integer or bounded data
        (needs ``likelihood_layer``)."""
        layer = self.likelihood_layer
        if self.standardization is None:
            return
        if getattr(layer, "support", None) is not None or getattr(layer, "integer_valued", False) or getattr(layer, "discrete", False):
            support = getattr(layer, "support", None)
            raise ValueError(
                f"standardize=True maps each feature to mean 0 and standard deviation 1, "
                f"which leaves the support {support} of the likelihood "
                f"{type(layer).__name__} (integer or bounded data). Use standardize=True "
                "with a real-valued likelihood (e.g. 'gaussian'), or keep the data as "
                "they are for this likelihood."
            )

    def to_model_units(self, x) -> tf.Tensor:
        """Data in the user's units -> the units the networks see (standardized when
        the model owns a ``standardization`` layer; float32 either way)."""
        x = tf.cast(x, tf.float32)
        return x if self.standardization is None else self.standardization(x)

    def to_data_units(self, x) -> tf.Tensor:
        """The inverse of :meth:`to_model_units`: back to the user's units."""
        x = tf.cast(x, tf.float32)
        return x if self.standardization is None else self.standardization.inverse(x)

    def to_data_distribution(self, distribution):
        """A distribution over data in model units as one over the user's units (itself
        without a standardization)."""
        if self.standardization is None:
            return distribution
        return self.standardization.transform_distribution(distribution)

    def standardization_log_scale(self) -> tf.Tensor:
        """``sum_d log std_d`` of the standardization (0 without one): what the model
        subtracts from densities of standardized data to report them in data units."""
        if self.standardization is None:
            return tf.constant(0.0, tf.float32)
        return self.standardization.log_scale()

    def adapt(self, data) -> None:
        """Set the standardization's statistics from ``data`` (numpy, or a batched
        ``tf.data.Dataset``), checked first. ``fit`` calls it on its training data
        when the model was made with ``standardize=True`` and is not adapted yet.

        Example:
            >>> import numpy as np, keras_vae as kv
            >>> x = np.random.default_rng(0).normal(50.0, 10.0, (200, 3)).astype("float32")
            >>> vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(3,),
            ...              likelihood="gaussian", standardize=True)
            >>> vae.adapt(x)
            >>> bool(abs(float(np.asarray(vae.to_model_units(x)).mean())) < 1e-4)
            True
        """
        if self.standardization is None:
            raise ValueError(
                f"{self.name} was made without standardize=True, so it has no "
                "standardization to adapt."
            )
        self.check_data(data, "adapt's data")
        self.standardization.adapt(data["x"] if isinstance(data, dict) else data)

    def _scale_advice(self, x) -> None:
        """Warn (as ``keras-vae train`` does) when numpy data for a real-valued
        likelihood are far from standardized and the model does not standardize."""
        layer = getattr(self, "likelihood_layer", None)
        if self.standardization is not None or layer is None or not isinstance(x, np.ndarray):
            return
        if getattr(layer, "support", None) is not None or getattr(layer, "integer_valued", False) \
                or getattr(layer, "discrete", False):
            return  # bounded, integer and count data keep their own units
        from keras_vae.datasets.standardization import standardization_report

        report = standardization_report(x[:100_000])
        if report:
            import warnings

            warnings.warn(
                f"keras_vae: {report}; a likelihood with a fixed or shared scale (e.g. "
                "gaussian) trains badly on such data: make the model with standardize=True "
                "(it then takes and returns data in their own units).",
                UserWarning, stacklevel=3,
            )

    def _adapt_if_needed(self, x) -> None:
        if self.standardization is not None and not self.standardization.adapted:
            # The data part of a {"x", "condition"} batch (a dataset of dicts is mapped there).
            self.standardization.adapt(x["x"] if isinstance(x, dict) else x)

