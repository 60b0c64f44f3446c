"""Input checks shared by every model: shapes, values and the likelihood's support,
before any training or inference touches the model's state."""
from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from keras_vae import _data_checks


class InputChecksMixin:
    """``check_data`` (numpy arrays and datasets, before ``fit`` / ``evaluate`` /
    ``predict`` start) and ``prepare`` (each batch, in the graph). Needs the model's
    ``data_shape``, ``validate_inputs``, ``likelihood_layer`` and ``build``."""

    def _check_shape(self, shape, what: str = "x") -> None:
        shape = tuple(shape)
        expected = self.data_shape
        ok = len(shape) == len(expected) + 1 and all(
            s is None or s == e for s, e in zip(shape[1:], expected)
        )
        if not ok:
            raise ValueError(
                f"{what} has shape {shape} but {self.name} expects (batch, "
                f"{', '.join(map(str, expected))}): one example is {expected}. Reshape the "
                "data (e.g. x.reshape(-1, *input_shape)) or build a VAE with this "
                "input_shape."
            )

    def check_data(self, data: Any, what: str = "x") -> None:
        """Validate data before any training or inference touches the model.

        numpy arrays and eager tensors are checked in full (shape, NaN/inf, the
        likelihood's support); a ``tf.data.Dataset`` is checked by its element spec
        (its values are checked batch by batch inside the step). An unbuilt model is
        built from the data's shape. Raises ``ValueError`` with the fix.
        """
        if data is None:
            return
        if isinstance(data, dict) or (
            isinstance(data, tf.data.Dataset) and isinstance(data.element_spec, dict)
        ):
            return self._check_dict_data(data, what)
        if getattr(self, "condition_layer", None) is not None:
            raise ValueError(
                f"{self.name} is conditioned: give {what} as {{'x': x, 'condition': c}} "
                "(a dict of arrays, or a tf.data.Dataset of such dicts)."
            )
        self._check_x(data, what)

    def _check_x(self, data: Any, what: str) -> None:
        """The checks of ``check_data`` on x alone."""
        if isinstance(data, tf.data.Dataset):
            spec = data.element_spec
            if isinstance(spec, (tuple, list)):
                spec = spec[0]
            if not isinstance(spec, tf.TensorSpec):
                raise ValueError(
                    f"{what} yields {type(spec).__name__} elements; VAE expects batches of "
                    "x (or (x, y) / (x, y, sample_weight) tuples) as tensors. Map the "
                    "dataset to tensors first, e.g. ds.map(lambda d: d['image'])."
                )
            if self.data_shape is None:
                if spec.shape.rank is None or spec.shape.rank < 2 or spec.shape[0] is not None:
                    # A batched dataset has a None batch dimension; a fixed first
                    # dimension is most likely one unbatched example.
                    raise ValueError(
                        f"{what} yields elements of shape {spec.shape}, which do not look "
                        "batched, so the example shape is ambiguous. Batch the dataset "
                        "(dataset.batch(128)) or pass input_shape= to the VAE."
                    )
                if not spec.shape[1:].is_fully_defined():
                    raise ValueError(
                        f"{what} yields elements of shape {spec.shape}; the example shape must "
                        "be known to build the model. Pass input_shape= to the VAE."
                    )
                self.build(spec.shape)
            self._check_shape(spec.shape, what)
            return
        if isinstance(data, (np.ndarray, tf.Tensor)) and not isinstance(data, tf.SparseTensor):
            array = np.asarray(data)
            if array.ndim >= 1 and array.shape[0] == 0:
                raise ValueError(
                    f"{what} holds no examples (shape {array.shape}); give at least one."
                )
            if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
                raise ValueError(f"{what} must hold real numbers, got dtype {array.dtype}.")
            if self.data_shape is not None:
                self._check_shape(array.shape, what)
            if self.validate_inputs:
                # Values first: data that is refused must not build a lazy model.
                if not np.all(np.isfinite(array)):
                    bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
                    raise ValueError(
                        f"{what} contains {bad} NaN or infinite value(s). Remove or impute "
                        "them before training (e.g. x[~np.isfinite(x)] = 0 or drop those rows)."
                    )
                _data_checks.check_magnitude(array, what)
                self.likelihood_layer.check_array(array)
                prior_check = getattr(getattr(self, "prior_layer", None), "check_array", None)
                if prior_check is not None:
                    prior_check(array)
            if self.data_shape is None:
                self.build((None, *array.shape[1:]))
                self._check_shape(array.shape, what)

    def _check_dict_data(self, data: Any, what: str) -> None:
        """``{"x": x, "condition": c}`` (arrays, or a dataset of such dicts)."""
        from keras_vae.models._conditioning import split_inputs

        if isinstance(data, tf.data.Dataset):
            spec = dict(data.element_spec)
            split_inputs(spec)  # the keys
            if not hasattr(self, "check_condition"):
                raise ValueError(f"{type(self).__name__} takes no dict batches.")
            self._require_condition(spec.get("condition"), f"{what}'s 'condition'")
            self._check_x(data.map(lambda d: d["x"]), what)
            return
        x, c = split_inputs(data)
        if not hasattr(self, "check_condition"):
            raise ValueError(f"{type(self).__name__} takes no dict batches.")
        self.check_condition(c, len(x) if hasattr(x, "__len__") else None, f"{what}['condition']")
        self._check_x(x, f"{what}['x']")

    def prepare(self, x) -> tf.Tensor:
        """A batch as the model computes with it: float32, its static shape checked
        (``ValueError``) and in-graph checks for NaN / inf and the likelihood's
        support attached (``InvalidArgumentError`` when the values arrive), then
        standardized when the model owns a ``standardization`` (the checks see the
        user's units). Every inference method and the exported signatures call it;
        an unbuilt model is built from the batch's shape."""
        x = tf.convert_to_tensor(x)
        if self.data_shape is None:
            self.build(x.shape)
        self._check_shape(x.shape)
        x = tf.cast(x, tf.float32)
        if self.validate_inputs:
            checks = [
                tf.debugging.assert_all_finite(
                    x, "keras_vae: the batch contains NaN or infinite values."
                )
            ] + self.likelihood_layer.assert_in_support(x)
            with tf.control_dependencies(checks):
                x = tf.identity(x)
        # A model made with standardize=True computes in standardized units.
        return x if getattr(self, "standardization", None) is None else self.to_model_units(x)

    @staticmethod
    def _placeholder_y(x, y, sample_weight):
        """Keras drops sample weights when y is None; y is unused, so fill it."""
        if isinstance(x, dict):
            x = x.get("x")
        if y is None and sample_weight is not None and hasattr(x, "__len__"):
            return np.zeros((len(x),), "float32")
        return y

    def prepare_inputs(self, inputs):
        """A training / evaluation batch as the step computes with it (a model with
        more inputs than x, e.g. a condition, prepares each)."""
        return self.prepare(inputs)

    @staticmethod
    def _batch_size(inputs):
        """The number of examples of a prepared batch (x, or a dict holding ``"x"``)."""
        return tf.shape(inputs["x"] if isinstance(inputs, dict) else inputs)[0]

    @staticmethod
    def _weights(sample_weight, batch_size):
        if sample_weight is None:
            return None
        return tf.reshape(tf.cast(sample_weight, tf.float32), [batch_size])

