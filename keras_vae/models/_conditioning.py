"""The condition as an input of the model: batches of ``{"x": x, "condition": c}``,
checked before anything changes, turned into features once per batch."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import tensorflow as tf


X_KEY, CONDITION_KEY = "x", "condition"


def split_inputs(inputs: Any) -> tuple[Any, Any]:
    """``(x, condition)`` of a batch given as x or as ``{"x": x, "condition": c}``."""
    if isinstance(inputs, dict):
        unknown = sorted(set(inputs) - {X_KEY, CONDITION_KEY})
        if unknown or X_KEY not in inputs:
            first = sorted(inputs)[0] if inputs else "x"
            raise ValueError(
                "A batch given as a dict (or a dataset that yields dict elements) holds "
                f"'x' and, for a conditioned model, 'condition'; got keys {sorted(inputs)}. "
                f"Rename them, e.g. ds.map(lambda d: {{'x': d[{first!r}]}})."
            )
        return inputs[X_KEY], inputs.get(CONDITION_KEY)
    return inputs, None


class ConditioningMixin:
    """Checks and features of the condition; needs ``condition_layer`` (or None)."""

    def check_prior_takes_condition(self) -> None:
        """Refuse a conditional prior without a condition (needs ``prior_layer`` and
        ``condition_layer``)."""
        takes = getattr(self.prior_layer, "takes_condition", False)
        if takes and self.condition_layer is None:
            raise ValueError(
                f"The prior {type(self.prior_layer).__name__} is p(z | c): give the model a "
                "condition (condition={'name': 'one_hot', 'num_classes': K}) or use an "
                "unconditional prior."
            )

    def pseudo_input_posterior(self, inputs, training: bool | None = None):
        """q(z | u) of a VampPrior's pseudo-inputs u. A conditioned model's encoder
        reads them with the null condition (zero features): the prior stays p(z),
        the same for every c, as an unconditional prior beside a conditioned encoder
        and decoder is."""
        if getattr(self, "condition_layer", None) is None:
            return self.posterior(inputs, training=training)
        null = tf.zeros([tf.shape(inputs)[0], self.condition_layer.feature_size], tf.float32)
        return self.posterior_layer.distribution(self._posterior_parameters(inputs, null, training))

    def _require_condition(self, condition: Any, what: str = "condition") -> None:
        layer = getattr(self, "condition_layer", None)
        if layer is None and condition is not None:
            raise ValueError(
                f"{self.name} has no condition, but a {what} was given. Build the model "
                "with condition=... (e.g. {'name': 'one_hot', 'num_classes': 10}) to "
                "condition on it, or drop it."
            )
        if layer is not None and condition is None:
            raise ValueError(
                f"{self.name} is conditioned ({type(layer).__name__}): give the condition, "
                "e.g. fit({'x': x, 'condition': c}) or encode(x, condition=c)."
            )

    def check_condition(self, condition: Any, num_examples: int | None, what: str = "condition") -> None:
        """Refuse a numpy condition of the wrong shape, length or values (before any
        state changes)."""
        self._require_condition(condition, what)
        if condition is None or isinstance(condition, tf.data.Dataset):
            return
        if isinstance(condition, tf.Tensor) and not tf.executing_eagerly():
            return
        array = np.asarray(condition)
        if array.ndim == 0:
            raise ValueError(f"{what} must hold one condition per example (batch first), got a scalar.")
        if num_examples is not None and len(array) != num_examples:
            raise ValueError(
                f"{what} holds {len(array)} conditions for {num_examples} examples; give one per example."
            )
        self.condition_layer.check_array(array, what)

    def one_condition_each(self, condition: Any, num_examples: int) -> np.ndarray:
        """``condition`` as one condition per example: a single condition (of one
        example's shape, e.g. ``7``) is repeated ``num_examples`` times."""
        condition = np.asarray(condition)
        if condition.ndim == len(self.condition_layer.example_shape):  # one for all
            condition = np.broadcast_to(condition, (int(num_examples), *condition.shape))
        return condition

    def prepare_condition(self, condition: Any, num_examples: int | None = None) -> tf.Tensor | None:
        """A batch of conditions as the model computes with them (dtype of the
        condition layer), with in-graph checks attached; checked first (shape,
        values, and one per example where ``num_examples`` is given)."""
        self._require_condition(condition)
        if condition is None:
            return None
        layer = self.condition_layer
        if num_examples is not None or isinstance(condition, np.ndarray) or not isinstance(condition, tf.Tensor):
            self.check_condition(condition, num_examples)
        c = tf.convert_to_tensor(condition)
        if tuple(c.shape[1:]) != layer.example_shape and c.shape.rank is not None:
            raise ValueError(
                f"the condition has shape {tuple(c.shape)}, but one condition of {self.name} "
                f"has shape {layer.example_shape}."
            )
        if self.validate_inputs:
            with tf.control_dependencies(layer.assert_valid(c)):
                c = tf.identity(c)
        return tf.cast(c, layer.input_dtype)

    @staticmethod
    def one_condition_per_row(z: tf.Tensor, condition: tf.Tensor) -> tf.Tensor:
        """``z`` once it holds one row per condition, checked when run (where the
        rows are known only then, e.g. in a SavedModel signature); an error otherwise
        (the features of B conditions would be tiled over K * B rows)."""
        with tf.control_dependencies([tf.debugging.assert_equal(
                tf.shape(z)[0], tf.shape(condition)[0], message="decode takes one condition per row of z")]):
            return tf.identity(z)

    def condition_features(self, condition, training: bool | None = None) -> tf.Tensor | None:
        """The condition layer's features ``[batch, F]`` (None for an unconditioned model)."""
        if getattr(self, "condition_layer", None) is None:
            self._require_condition(condition)
            return None
        if condition is None:
            self._require_condition(None)
        return tf.cast(self.condition_layer(condition, training=training), tf.float32)

    @staticmethod
    def join_features(tensor: tf.Tensor, features: tf.Tensor | None) -> tf.Tensor:
        """``tensor`` (flattened past the batch) with the condition's features appended;
        features for B examples are tiled when ``tensor`` holds K * B rows."""
        if features is None:
            return tensor
        if tensor.shape.rank is not None and tensor.shape.rank > 2:
            tensor = tf.reshape(tensor, [tf.shape(tensor)[0], math.prod(tensor.shape[1:])])
        repeats = tf.shape(tensor)[0] // tf.shape(features)[0]
        features = tf.tile(features, [repeats, 1])
        return tf.concat([tensor, tf.cast(features, tensor.dtype)], axis=-1)

    def log_likelihood(self, x, num_samples: int | None = None, method: str = "iwae", condition=None, **kwargs):
        """log p(x) per example, in nats — or log p(x | c) for a conditioned model
        (``condition=``, or x as ``{"x": x, "condition": c}``), estimated by
        importance sampling with ``num_samples`` (default 5000) samples of q(z | x, c),
        in blocks of ``chunk_size`` samples over batches of ``batch_size`` examples
        (a running log-sum-exp: memory does not grow with ``num_samples``), or by
        AIS from p(z | c) (``method="ais"``; ``keras_vae.evaluation.ais_log_likelihood``).
        Unconditioned models use ``keras_vae.evaluation.log_likelihood`` (and AIS)."""
        x, c = split_inputs(x)
        if condition is not None:
            c = condition
        if getattr(self, "condition_layer", None) is None:
            self._require_condition(c)
            return super().log_likelihood(x, num_samples=num_samples, method=method, **kwargs)
        if method != "iwae":  # AIS (and the refusal of other methods): the shared dispatch
            return super().log_likelihood(x, num_samples=num_samples, method=method, condition=c, **kwargs)
        unknown = sorted(set(kwargs) - {"batch_size", "chunk_size", "seed"})
        if unknown:
            raise ValueError(f"Unknown arguments {unknown}; a conditioned model takes batch_size, chunk_size, seed.")
        k = 5000 if num_samples is None else num_samples
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"num_samples must be an integer >= 1, got {num_samples!r}.")
        x = np.asarray(x)
        self.check_data({"x": x, "condition": c}, "x")
        c = np.asarray(c)
        batch = int(kwargs.get("batch_size") or 100)
        chunk = int(min(k, kwargs.get("chunk_size") or 500))
        seed = int(kwargs.get("seed") or 0)

        @tf.function
        def block(xb, cb, block_seed, size):
            terms = self.terms({"x": xb, "condition": cb}, num_samples=size, seed=block_seed)
            return tf.reduce_logsumexp(terms.log_weights(), axis=0)

        results = []
        for start in range(0, len(x), batch):
            xb = self.prepare(x[start:start + batch])
            cb = self.prepare_condition(c[start:start + batch])
            total, done, i = None, 0, 0
            while done < k:
                size = min(chunk, k - done)
                block_seed = self.noise_seed(tf.constant([seed, start * 7919 + i], tf.int32))
                part = block(xb, cb, block_seed, size)
                total = part if total is None else tf.reduce_logsumexp(tf.stack([total, part]), axis=0)
                done, i = done + size, i + 1
            results.append((total - np.log(k)).numpy())
        return np.concatenate(results)

    @property
    def _default_save_signature(self):
        # tf.saved_model.save traces Keras' default signature, model(x): a conditioned
        # model's call needs the condition too, and its export has its own signatures.
        if getattr(self, "condition_layer", None) is not None:
            return None
        return super()._default_save_signature
