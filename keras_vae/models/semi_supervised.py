"""The semi-supervised VAE of Kingma, Rezende, Mohamed & Welling (2014), "M2"."""
from __future__ import annotations

import math
from typing import Any, Sequence

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from keras_vae import registry
from keras_vae.conditions.partial_label import UNLABELED
from keras_vae.models.vae import VAE

SEMI_SUPERVISED_METRICS = ("elbo", "classification_loss", "accuracy")
# Metrics averaged over the labeled examples of each batch only.
_LABELED_METRICS = ("classification_loss", "accuracy")


@registry.register("model", "m2")
class SemiSupervisedVAE(VAE):
    """M2: p(y) p(z) p(x | y, z) with q(z | x, y) and a classifier q(y | x), trained on
    labeled and unlabeled examples together (Kingma et al., 2014).

    Batches are ``{"x": x, "label": y}`` (or ``{"x": x, "condition": y}``, the
    name every conditioned model takes) with ``y = -1`` where the label is unknown. Per example, with ``L(x, y) = -ELBO(x, y) = -(E_q log p(x | y, z) +
    log p(y) - KL(q(z | x, y) || p(z)))`` and p(y) uniform::

        labeled    L(x, y) + alpha * (-log q(y | x))
        unlabeled  sum_y q(y | x) L(x, y) - H(q(y | x))

    so the unlabeled loss is the negative ELBO of log p(x) with y marginalized by
    q(y | x). The step decodes every example once per class (``num_classes`` times the
    VAE's cost). Reported: ``elbo`` (a bound on log p(x, y) for a labeled example, on
    log p(x) for an unlabeled one), and, averaged over the labeled examples only,
    ``classification_loss`` (``-log q(y | x)``) and ``accuracy`` (of q(y | x)'s most
    probable class). ``classify(x)`` returns q(y | x), the class probabilities
    (``classify(x).argmax(-1)``: the most probable class); ``sample(n, condition=y)``
    draws examples of class y.

    Args:
        encoder, decoder, latent_dim, input_shape: as for :class:`~keras_vae.VAE`.
        num_classes: K, the number of classes (>= 2).
        classifier: q(y | x): ``None`` (the default) builds an MLP on the flattened
            input with ``classifier_units`` hidden ReLU layers; or any Keras layer or
            model from the (prepared) input to ``num_classes`` logits, e.g. a
            convolutional network for images. Saved and loaded with the model (a
            custom class must be registered with
            ``keras.saving.register_keras_serializable``).
        classifier_units: hidden widths of the default MLP classifier (ignored when
            ``classifier`` is given).
        alpha: weight of the labeled examples' classification loss, per labeled
            example (the loss is a mean over examples). Kingma et al.'s 0.1 * N on
            their summed objective is 0.1 / (labeled fraction) here, 1.0 at 10 %
            labels; the default, 10, weights the labels more, so that the
            classifier rather than the latent z takes the class
            (tests/test_semi_supervised.py::test_ten_percent_of_labels_train_a_classifier_and_class_conditional_samples
            asserts > 90 % test accuracy with it on three Gaussian blobs, 10 % labelled).
        shared_noise: draw z for the ``num_classes`` copies of an example with the
            same noise (common random numbers; the default). Each ELBO(x, y) keeps its
            unbiased estimate, and their differences over y, which train q(y | x) on
            unlabeled examples, lose the noise of independent draws
            (tests/test_semi_supervised.py::test_shared_noise_keeps_each_elbo_and_removes_the_noise_of_its_differences_over_y).
            ``False`` draws each copy independently.
        **kwargs: the other :class:`~keras_vae.VAE` arguments (likelihood, prior,
            beta, seed, ...); ``condition`` is set by the model.

    Example:
        >>> import numpy as np, keras_vae as kv
        >>> m2 = kv.SemiSupervisedVAE("mlp", "mlp", latent_dim=2, num_classes=3,
        ...                           input_shape=(4,), likelihood="gaussian", seed=0)
        >>> x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
        >>> y = np.where(np.arange(32) % 4 == 0, np.arange(32) % 3, -1)   # a quarter labeled
        >>> m2.compile(optimizer="adam")
        >>> sorted(m2.fit({"x": x, "condition": y}, epochs=1, verbose=0).history)
        ['accuracy', 'classification_loss', 'elbo', 'loss']
        >>> m2.classify(x[:4]).shape          # q(y | x) of each example
        (4, 3)
        >>> int(m2.classify(x[:4]).argmax(-1)[0]) in (0, 1, 2)
        True

        A classifier of your own, e.g. a small network of your choice:

        >>> import keras
        >>> net = keras.Sequential([keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(3)])
        >>> kv.SemiSupervisedVAE("mlp", "mlp", latent_dim=2, num_classes=3, input_shape=(4,),
        ...                      classifier=net, likelihood="gaussian").classify(x[:2]).shape
        (2, 3)
    """

    def __init__(
        self,
        encoder: Any,
        decoder: Any,
        latent_dim: int,
        num_classes: int,
        input_shape: Sequence[int] | None = None,
        classifier: Any = None,
        classifier_units: Sequence[int] = (500,),
        alpha: float = 10.0,
        shared_noise: bool = True,
        name: str = "m2",
        **kwargs,
    ):
        if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 2:
            raise ValueError(f"num_classes must be an integer >= 2, got {num_classes!r}.")
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not (alpha >= 0 and math.isfinite(alpha)):
            raise ValueError(f"alpha must be a finite number >= 0, got {alpha!r}.")
        if not isinstance(shared_noise, (bool, np.bool_)):
            raise ValueError(f"shared_noise must be True or False, got {shared_noise!r}.")
        units = list(classifier_units)
        if not all(isinstance(u, (int, np.integer)) and not isinstance(u, bool) and u > 0 for u in units):
            raise ValueError(f"classifier_units must be positive integers, got {classifier_units!r}.")
        if isinstance(classifier, dict):  # a saved model's config
            classifier = keras.saving.deserialize_keras_object(classifier)
        if classifier is not None and not isinstance(classifier, keras.layers.Layer):
            raise ValueError(
                "classifier must be None (an MLP of classifier_units) or a Keras layer or model "
                f"from the input to {num_classes} logits, got {type(classifier).__name__}."
            )
        # The condition is the partial labels (a saved file gives it back as config).
        condition = kwargs.pop("condition", None) or {"name": "partial_label", "num_classes": int(num_classes)}
        # Built below, once the classifier exists (a built model takes no new layers).
        super().__init__(encoder, decoder, latent_dim, input_shape=None,
                         condition=condition, name=name, **kwargs)
        self.num_classes = int(num_classes)
        self.classifier_units = [int(u) for u in units]
        self.alpha = float(alpha)
        self.shared_noise = bool(shared_noise)
        # Set while _batch_loss evaluates its K class blocks (see _sample_posterior).
        self._noise_blocks = None
        self._own_classifier = classifier is not None
        self.classifier = classifier if classifier is not None else keras.Sequential(
            [keras.layers.Flatten()]
            + [keras.layers.Dense(u, activation="relu") for u in self.classifier_units]
            + [keras.layers.Dense(self.num_classes)],
            name="classifier",
        )
        if input_shape is not None:
            self.build((None, *input_shape))

    # The classifier is a part of the model: built with the rest.
    def _components_to_build(self) -> tuple:
        return (*super()._components_to_build(), self.classifier)

    def _forward_build(self, components, data_shape) -> None:
        *parts, classifier = components
        super()._forward_build(tuple(parts), data_shape)
        logits = classifier(tf.zeros((2, *data_shape), tf.float32))
        if tuple(logits.shape) != (2, self.num_classes):
            raise ValueError(
                f"The classifier must map a batch of inputs to [batch, num_classes={self.num_classes}] "
                f"logits; it gave shape {tuple(logits.shape)} for a batch of 2."
            )

    def _metric_names(self) -> tuple[str, ...]:
        return SEMI_SUPERVISED_METRICS

    # ------------------------------------------------------------- the classifier
    def class_logits(self, x, training: bool | None = False) -> tf.Tensor:
        """Logits of q(y | x), ``[batch, num_classes]`` (``x`` prepared)."""
        x = self.likelihood_layer.encoder_input(tf.cast(x, tf.float32))
        return tf.cast(self.classifier(x, training=training), tf.float32)

    def classify(self, x) -> np.ndarray:
        """q(y | x) for a batch of raw examples: class probabilities, float32
        ``(N, num_classes)``, each row summing to 1 (``.argmax(-1)`` gives the most
        probable class)."""
        x = self.prepare(np.asarray(x) if not isinstance(x, tf.Tensor) else x)
        return tf.nn.softmax(self.class_logits(x)).numpy()

    # ------------------------------------------------------------------ data
    def fit(self, x=None, y=None, *args, validation_data=None, **kwargs):
        """Keras' ``fit`` on ``{"x": x, "label": y}`` batches (see the class)."""
        if isinstance(validation_data, (tuple, list)) and validation_data:
            validation_data = (_labels_as_condition(validation_data[0]), *validation_data[1:])
        elif validation_data is not None:
            validation_data = _labels_as_condition(validation_data)
        return super().fit(_labels_as_condition(x), y, *args, validation_data=validation_data, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        return super().evaluate(_labels_as_condition(x), y, *args, **kwargs)

    # ---------------------------------------------------------------- the loss
    def _batch_loss(self, x, seed, step, training: bool):
        data, labels = x["x"], tf.reshape(tf.cast(x["condition"], tf.int32), [-1])
        k, rows = self.num_classes, tf.shape(data)[0]
        # Every example once per class: block c of K * B rows holds label c.
        tiled = tf.reshape(tf.tile(data[tf.newaxis], tf.concat([[k], tf.ones_like(tf.shape(data))], 0)),
                           tf.concat([[k * rows], tf.shape(data)[1:]], 0))
        classes = tf.repeat(tf.range(k, dtype=tf.int32), rows)
        self._noise_blocks = k if self.shared_noise else None
        try:
            per_class, values, terms = super()._batch_loss({"x": tiled, "condition": classes}, seed, step, training)
        finally:
            self._noise_blocks = None
        log_prior_y = -math.log(k)
        # [B, K]: L(x, y) and ELBO(x, y), with log p(y) in both.
        loss_y = tf.transpose(tf.reshape(per_class, [k, rows])) - log_prior_y
        elbo_y = tf.transpose(tf.reshape(tf.cast(values["elbo"], tf.float32), [k, rows])) + log_prior_y
        log_q_y = tf.nn.log_softmax(self.class_logits(data, training=training))
        q_y = tf.exp(log_q_y)
        entropy = -tf.reduce_sum(q_y * log_q_y, axis=-1)
        labeled = labels != UNLABELED
        known = tf.maximum(labels, 0)
        classification = -tf.gather(log_q_y, known, batch_dims=1)
        loss = tf.where(
            labeled,
            tf.gather(loss_y, known, batch_dims=1) + self.alpha * classification,
            tf.reduce_sum(q_y * loss_y, axis=-1) - entropy,
        )
        elbo = tf.where(
            labeled,
            tf.gather(elbo_y, known, batch_dims=1),
            tf.reduce_sum(q_y * elbo_y, axis=-1) + entropy,
        )
        zero = tf.zeros_like(classification)
        correct = tf.cast(tf.equal(tf.argmax(log_q_y, axis=-1, output_type=tf.int32), known), tf.float32)
        return loss, {
            "elbo": elbo,
            "classification_loss": tf.where(labeled, classification, zero),
            "accuracy": tf.where(labeled, correct, zero),
            "labeled": tf.cast(labeled, tf.float32),
        }, terms

    def _sample_posterior(self, q, num_samples: int, seed) -> tf.Tensor:
        # The K class blocks of one example share their noise (common random numbers):
        # each ELBO(x, y) keeps its own unbiased estimate, but their differences over y,
        # which are what train q(y | x) on an unlabeled example, lose the noise of
        # independent draws (single-draw ELBOs of one MNIST image differ by ~7 nats
        # from noise alone, more than the class changes them).
        if self._noise_blocks is None:
            return super()._sample_posterior(q, num_samples, seed)
        return _block_shared_sample(q, num_samples, self._noise_blocks, seed)

    def _update_metrics(self, per_example_loss, values, weights) -> None:
        # The classifier's metrics average over the labeled examples only (a batch
        # without one leaves them as they were).
        self.loss_tracker.update_state(per_example_loss, sample_weight=weights)
        labeled = values["labeled"] if weights is None else values["labeled"] * weights
        for tracker in self.objective_trackers:
            weight = labeled if tracker.name in _LABELED_METRICS else weights
            tracker.update_state(values[tracker.name], sample_weight=weight)

    def get_config(self):
        config = super().get_config()
        config.update(num_classes=self.num_classes, classifier_units=self.classifier_units, alpha=self.alpha,
                      shared_noise=self.shared_noise)
        if self._own_classifier:
            config["classifier"] = keras.saving.serialize_keras_object(self.classifier)
        return config


def _block_shared_sample(q, num_samples: int, blocks: int, seed) -> tf.Tensor:
    """``num_samples`` draws of ``q`` (batch ``[blocks * B]``) in which row ``b`` of
    every block uses the same standard-normal noise: ``loc + scale * eps`` for a
    diagonal or full Gaussian, the bijector of a flow applied to its base so drawn.
    Any other distribution draws independently."""
    tfd = tfp.distributions
    # (A full Gaussian is a TransformedDistribution of a batchless base: first.)
    if isinstance(q, tfd.MultivariateNormalLinearOperator):
        loc, scale = q.loc, q.scale
        apply = lambda eps: loc + scale.matvec(eps)  # noqa: E731
    elif isinstance(q, tfd.TransformedDistribution):
        base = _block_shared_sample(q.distribution, num_samples, blocks, seed)
        return q.bijector.forward(base)
    elif isinstance(q, tfd.Independent) and isinstance(q.distribution, tfd.Normal):
        loc, scale = q.distribution.loc, q.distribution.scale
        apply = lambda eps: loc + scale * eps  # noqa: E731
    else:
        return q.sample(num_samples, seed=seed)
    if loc.shape.rank is None or loc.shape.rank < 2:
        return q.sample(num_samples, seed=seed)
    shape = tf.shape(loc)
    eps = tf.random.stateless_normal(
        tf.concat([[num_samples, shape[0] // blocks], shape[1:]], 0), seed=seed, dtype=loc.dtype)
    return apply(tf.tile(eps, tf.concat([[1, blocks], tf.ones_like(shape[1:])], 0)))


def _labels_as_condition(data: Any) -> Any:
    """``{"x", "label"}`` batches (a dict of arrays, or a ``tf.data.Dataset`` of such
    dicts, alone or first in a tuple) with the key the model reads, ``"condition"``."""
    def renamed(batch):
        if not isinstance(batch, dict) or "label" not in batch:
            return batch
        if "condition" in batch:
            raise ValueError("Give the labels once: under 'label' or under 'condition', not both.")
        return {("condition" if key == "label" else key): value for key, value in batch.items()}

    if isinstance(data, tf.data.Dataset):
        spec = data.element_spec
        first = spec[0] if isinstance(spec, tuple) else spec
        if not isinstance(first, dict) or "label" not in first:
            return data
        if isinstance(spec, tuple):
            return data.map(lambda *parts: (renamed(parts[0]), *parts[1:]))
        return data.map(renamed)
    return renamed(data)
