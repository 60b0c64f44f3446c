"""The shared core of every latent-variable model: construction checks, the build,
the seed streams, ``fit`` / ``evaluate`` / ``predict``, atomic save, export and config.

A model class (``VAE``, and the families on it) subclasses
:class:`LatentVariableModel` and fills the seam:

- ``terms(x, num_samples, seed, training)``: what its objective needs about a batch;
- ``_components_to_build()`` and ``_forward_build(components, data_shape)``: the
  layers a dummy forward pass builds (tried first on copies, so a shape they reject
  leaves the model usable), and ``_finish_build(data_shape)`` for the rest;
- a ``likelihood_layer`` (the data's checks come from it);
- ``get_config`` chained to this one.

Training (``TrainingMixin``), input checks (``InputChecksMixin``), the evaluation
pass-throughs (``EvaluationMixin``) and the multi-worker workarounds
(``MultiWorkerMixin``) come with it.
"""
from __future__ import annotations

import random
from typing import Any, Sequence

import keras
import numpy as np
import tensorflow as tf

from keras_vae import _data_checks, _errors, _seeds, registry
from keras_vae._random import INT32_MAX
from keras_vae.models._evaluation import EvaluationMixin
from keras_vae.models._finite import NonFiniteGuard, check_finite_weights
from keras_vae.models._fit_checks import FitChecksMixin
from keras_vae.models import _steps_per_execution
from keras_vae.models._mid_epoch_resume import mid_epoch_backup
from keras_vae.models._inputs import InputChecksMixin
from keras_vae.models._multiworker import MultiWorkerMixin
from keras_vae.models._output_bias import OutputBiasMixin
from keras_vae.models._standardizing import StandardizingMixin
from keras_vae.models._training import TrainingMixin
from keras_vae.saving import save_model


class LatentVariableModel(
    InputChecksMixin, StandardizingMixin, FitChecksMixin, TrainingMixin, MultiWorkerMixin, EvaluationMixin,
    OutputBiasMixin,
    keras.Model,
):
    """Base class of keras_vae's models: a ``keras.Model`` that computes its own loss
    from ``terms`` and an objective, trains with ``fit``, saves atomically and exports.

    Args (keyword-only, given by the subclass):
        input_shape: shape of one example, or ``None`` to build on the first data.
        objective: an objective (registered name, config dict or instance), or
            ``None`` for ``ELBO(beta)``.
        beta: the KL weight of the default objective (give it or ``objective``).
        seed: seed of the training noise (drawn at random when ``None``).
        validate_inputs: check data for NaN/inf, shape and likelihood support.
        standardize: own a :class:`keras_vae.preprocessing.Standardization` layer
            (adapted on the first ``fit``'s data, or by :meth:`adapt`): the model then
            takes and returns data in their own units and reports densities in them
            (for classes with ``supports_standardize``; continuous likelihoods only).
        name: the model's name.

    Example (a subclass needs only what makes it different; see ``VAE``)::

        @keras.saving.register_keras_serializable(package="my_package")
        class MyModel(kv.models.LatentVariableModel):
            def __init__(self, ..., **kwargs):
                super().__init__(**kwargs)
                ...                      # layers
                self._finish_init(input_shape)

            def terms(self, x, num_samples=1, seed=None, training=False): ...
    """

    # saving.load_model refuses a file whose compile config names a loss for such a class.
    computes_own_loss = True
    # Whether the class maps its outputs back through ``standardization`` (the VAE does).
    supports_standardize = False

    def __init__(
        self,
        *,
        input_shape: Sequence[int] | None = None,
        objective: Any = None,
        beta: float = 1.0,
        seed: int | None = None,
        validate_inputs: bool = True,
        standardize: bool = False,
        name: str | None = None,
        **kwargs,
    ):
        if not isinstance(standardize, (bool, np.bool_)):
            raise ValueError(f"standardize must be True or False, got {standardize!r}.")
        if standardize and not type(self).supports_standardize:
            raise ValueError(
                f"{type(self).__name__} does not support standardize=True; standardize the "
                "data yourself (keras_vae.datasets.Standardizer) or use keras_vae.VAE."
            )
        if objective is None:
            objective = registry.get("objective", "elbo", beta=beta)
        else:
            if beta != 1.0:
                raise ValueError(
                    "Give beta either to the VAE or to the objective, not both: "
                    f"got beta={beta} and objective={objective!r}."
                )
            objective = registry.get("objective", objective)
        if seed is None:
            seed = random.randint(0, INT32_MAX)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= INT32_MAX:
            raise ValueError(
                f"seed must be in [0, 2**31 - 1] (an integer, or None), got {seed!r} "
                f"(type {type(seed).__name__}), e.g. VAE(..., seed=42)."
            )
        if input_shape is not None:
            dims = list(input_shape) if isinstance(input_shape, (tuple, list, tf.TensorShape)) else None
            if not dims or any(
                isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1 for d in dims
            ):
                raise ValueError(
                    "input_shape must be a tuple of positive integers giving every dimension "
                    "of one example without the batch, e.g. (28, 28, 1) or (784,); got "
                    f"{input_shape!r} (type {type(input_shape).__name__})."
                )
        super().__init__(name=name, **kwargs)
        self.objective = objective
        self.seed = int(seed)
        self.validate_inputs = bool(validate_inputs)
        self.data_shape: tuple[int, ...] | None = None
        # Only models made with standardize=True own the layer, so other files' weight
        # paths stay as they were.
        self.standardization = None
        if standardize:
            from keras_vae.preprocessing import Standardization

            self.standardization = Standardization(name="standardization")

    def _finish_init(self, input_shape: Sequence[int] | None) -> None:
        """The subclass's last step of ``__init__``, once its layers exist: the metric
        trackers (they must exist before ``build`` locks the model's state), then the
        build when the example shape is known."""
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.objective_trackers = [keras.metrics.Mean(name=name) for name in self._metric_names()]
        self._track_objective_networks()
        if input_shape is not None:
            self.build((None, *input_shape))

    # ------------------------------------------------------------------ build
    def _components_to_build(self) -> tuple:
        """The layers a dummy forward pass builds (``_forward_build`` takes them)."""
        return ()

    def _forward_build(self, components, data_shape) -> None:
        """Build ``components`` (or copies of them) by a forward pass on zeros."""

    def _finish_build(self, data_shape) -> None:
        """Build what the forward pass does not reach (e.g. the prior)."""

    def build(self, input_shape):
        """Create every weight by one forward pass on a dummy example (idempotent).

        When the model was made without ``input_shape``, the pass is first tried on
        copies of the components, so data of a shape they cannot take raises a
        ``ValueError`` and leaves this model unbuilt and usable.
        """
        shape = tuple(input_shape)[1:]
        if self.data_shape is not None:
            if tuple(shape) != self.data_shape:
                raise ValueError(
                    f"{self.name} is built for examples of shape {self.data_shape}, "
                    f"not {tuple(shape)}."
                )
            return
        if not shape or any(d is None or int(d) < 1 for d in shape):
            raise ValueError(
                f"input_shape must give every dimension of one example, got {tuple(shape)}. "
                "For 1-D data use shape (n, features), e.g. x.reshape(-1, 1)."
            )
        data_shape = tuple(int(d) for d in shape)
        components = self._components_to_build()
        if not any(c.built for c in components):
            self._trial_build(components, data_shape)
        # Eager even when Keras calls build while tracing, and in the model's strategy
        # scope even when fit() builds it lazily, so variables are real and mirrored.
        with tf.init_scope(), self.distribute_strategy.scope():
            self._forward_build(components, data_shape)
            self._finish_build(data_shape)
            if self._objective_networks():
                self.objective.build_auxiliary(getattr(self, "latent_dim", None), data_shape)
            if self.standardization is not None and not self.standardization.built:
                self.standardization.build((None, *data_shape))
        self.data_shape = data_shape

    def _trial_build(self, components, data_shape) -> None:
        """Build copies first: a shape the components reject must not damage them."""
        if not components:
            return
        try:
            copies = [
                keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(c))
                for c in components
            ]
        except Exception:  # a component that cannot be copied is built directly
            return
        try:
            with tf.init_scope():
                self._forward_build(copies, data_shape)
        except Exception as exc:
            raise ValueError(
                f"{self.name} cannot be built for examples of shape {data_shape}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    # --------------------------------------------------------------- seeds
    def noise_seed(self, seed=None, stream: int = _seeds.TRAIN, counter=None) -> tf.Tensor:
        """The stateless seed (int32, shape ``[2]``) of one of the model's noise
        streams (``keras_vae._seeds``), distinct on every replica.

        ``seed=None`` with no counter draws a fresh seed on every call, also inside
        saved graphs; an int (or int tensor) gives reproducible noise; a counter
        (the optimizer step) gives the training noise, a function of the model's own
        ``seed``.
        """
        if isinstance(seed, (bool, float, np.floating)):
            raise ValueError(
                f"seed must be an integer (or a stateless seed tensor), got {seed!r} "
                f"(type {type(seed).__name__}); e.g. seed=0."
            )
        return _seeds.stateless_seed(self.seed, seed, stream, counter)


    def terms(self, x, num_samples: int = 1, seed=None, training: bool | None = False):
        """Everything the objective needs about a batch (the seam a subclass fills)."""
        raise NotImplementedError(f"{type(self).__name__} must define terms().")

    # ------------------------------------------------- fit / evaluate / predict
    @staticmethod
    def _check_batch_size(kwargs: dict) -> None:
        """Keras reads ``batch_size=0`` as "the default": refuse it (and any non-integer)."""
        size = kwargs.get("batch_size")
        if size is not None and (isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1):
            raise ValueError(f"batch_size must be an integer >= 1 (or None for 32), got {size!r}.")

    def fit(self, x=None, y=None, *args, validation_data=None, sample_weight=None, **kwargs):
        """Keras' ``fit``, with the data checked before anything changes and training
        that stops with :class:`TrainingDivergedError` when the loss or a weight turns
        NaN / inf (a callback put first, naming the epoch, the step and the likely
        cause). Data: arrays, tensors or a ``tf.data.Dataset`` of batches (x, or
        ``(x, y)`` / ``(x, y, sample_weight)``; y is ignored)."""
        self._check_batch_size(kwargs)
        if kwargs.get("class_weight") is not None:
            raise ValueError(
                "class_weight does not apply to a VAE (there are no classes); weight "
                "examples with sample_weight= instead."
            )
        _data_checks.check_x_given(x, "fit")
        _data_checks.check_sample_weight(sample_weight, x.get("x") if isinstance(x, dict) else x)
        self.check_data(x, "x")
        if validation_data is not None:
            val_x = validation_data[0] if isinstance(validation_data, (tuple, list)) else validation_data
            self.check_data(val_x, "validation_data")
            if isinstance(validation_data, (tuple, list)) and len(validation_data) == 3:
                val_x, val_y, val_w = validation_data
                _data_checks.check_sample_weight(val_w, val_x, "validation_data's sample_weight")
                validation_data = (val_x, self._placeholder_y(val_x, val_y, val_w), val_w)
            validation_data = _data_checks.with_pipeline_checks(validation_data, self.validate_inputs)
        y = self._placeholder_y(x, y, sample_weight)
        self._check_sample_budget(x, kwargs.get("batch_size"))
        self._bind_dataset_size(x)
        self._adapt_if_needed(x)  # after every check: a refused fit changes nothing
        self._scale_advice(x)
        self._build_optimizer()  # the model may have been built from x just now
        # First, so that no later callback (a checkpoint) sees a diverged step.
        callbacks = kwargs.pop("callbacks", None)
        # A BackupAndRestore(save_freq=N) resumes at the batch after its backup.
        self._mid_epoch_backup, self._batches_to_skip = mid_epoch_backup(callbacks), 0
        if callbacks is None or isinstance(callbacks, (list, tuple)):
            callbacks = [NonFiniteGuard(), *(callbacks or [])]
        positional = dict(zip(("batch_size", "epochs"), args))  # Keras' order after x, y
        planned = _steps_per_execution.planned_steps(
            x, kwargs.get("batch_size", positional.get("batch_size")), kwargs.get("steps_per_epoch"),
            kwargs.get("epochs", positional.get("epochs", 1)), kwargs.get("initial_epoch", 0),
        )
        self._use_steps_per_execution(getattr(callbacks, "callbacks", callbacks), planned)
        # A dataset's weights and magnitude are checked in its pipeline, before the
        # step that would use them.
        with _errors.own_message_first():
            return super().fit(
                _data_checks.with_pipeline_checks(x, self.validate_inputs), y, *args,
                validation_data=validation_data, sample_weight=sample_weight,
                callbacks=callbacks, **kwargs,
            )

    def evaluate(self, x=None, y=None, *args, sample_weight=None, **kwargs):
        self._check_batch_size(kwargs)
        _data_checks.check_x_given(x, "evaluate")
        _data_checks.check_sample_weight(sample_weight, x.get("x") if isinstance(x, dict) else x)
        self.check_data(x, "x")
        y = self._placeholder_y(x, y, sample_weight)
        with _errors.own_message_first():
            return super().evaluate(
                _data_checks.with_pipeline_checks(x, self.validate_inputs), y, *args,
                sample_weight=sample_weight, **kwargs,
            )

    def predict(self, x, *args, **kwargs):
        self._check_batch_size(kwargs)
        _data_checks.check_x_given(x, "predict")
        self.check_data(x, "x")
        # Under "auto" predict runs one batch per call: Keras unrolls a multi-step
        # predict into one graph N batches long, which costs more to trace than it saves.
        steps = self.steps_per_execution
        if getattr(self, "steps_per_execution_request", None) == "auto":
            self.steps_per_execution = 1
        try:
            with _errors.own_message_first():
                return super().predict(_data_checks.with_pipeline_checks(x, self.validate_inputs), *args, **kwargs)
        finally:
            self.steps_per_execution = steps

    def save(self, filepath, overwrite=True, zipped=None, **kwargs):
        """Save to a ``.keras`` file, atomically (``keras_vae.saving.save_model``).

        The archive is written to a temporary file beside ``filepath``, fsynced and
        renamed over it, so a failed or killed save leaves the previous file intact
        and a concurrent ``kv.load_model`` reads either the old or the new model.
        ``overwrite=False`` raises ``FileExistsError`` instead of prompting. Remote
        paths and ``zipped=False`` use Keras' own (non-atomic) save. A model whose
        weights are not finite (training diverged) is refused with ``ValueError``.

        Example:
            >>> import os, tempfile, keras_vae as kv
            >>> vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(4,),
            ...              likelihood="gaussian")
            >>> path = os.path.join(tempfile.mkdtemp(), "vae.keras")
            >>> vae.save(path); kv.load_model(path).latent_dim
            2
        """
        check_finite_weights(self, "save")
        if zipped is False or "://" in str(filepath):
            return super().save(filepath, overwrite=overwrite, zipped=zipped, **kwargs)
        keras_save = super().save
        save_model(filepath, lambda path: keras_save(path, overwrite=True, **kwargs), overwrite=overwrite)

    def export(self, path, version=None, format: str = "tf_saved_model", **kwargs):
        """Write a TF Serving SavedModel to ``<path>/<version>/`` and return that directory.

        ``format="litert"`` or ``"onnx"`` instead writes the deterministic parts
        (``encode``: posterior parameters and point; ``decode``: mean of p(x|z)) as
        ``<path>/encode.tflite``, ``<path>/decode.tflite`` (or ``.onnx``) through
        Keras' own exporters and returns ``{part: file}``; see
        ``keras_vae.export.litert`` / ``keras_vae.export.onnx`` (keyword arguments
        ``parts``, ``overwrite``).

        The SavedModel has the signatures ``encode``, ``decode``, ``reconstruct``
        (also ``serving_default``), ``sample`` and ``score`` and needs neither
        keras_vae nor TensorFlow Probability to be served. This replaces
        ``keras.Model.export``; see ``keras_vae.export.export_vae`` for the
        signatures and the keyword arguments (``warmup``, ``warmup_batch``,
        ``overwrite``, ``serving_default``, ``score_samples``: K of the ``score``
        signature's importance-weighted log p(x), default 64).

        Example:
            >>> import tempfile, keras_vae as kv
            >>> vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(4,),
            ...              likelihood="gaussian")
            >>> base = tempfile.mkdtemp()
            >>> vae.export(base).endswith("/1")       # next free version: 1
            True
            >>> vae.export(base).endswith("/2")
            True
        """
        formats = ("tf_saved_model", "litert", "onnx")
        if format not in formats:
            raise ValueError(f"format must be one of {formats}, got {format!r}.")
        check_finite_weights(self, "export")
        if format != "tf_saved_model":
            if version is not None:
                raise ValueError(f"version= applies to the SavedModel export, not format={format!r}.")
            from keras_vae.export import litert, onnx

            exporter = litert.export_litert if format == "litert" else onnx.export_onnx
            return exporter(self, path, **kwargs)
        from keras_vae.export import export_vae

        return export_vae(self, path, version=version, **kwargs)

    # ---------------------------------------------------------------- config
    def get_config(self):
        config = super().get_config()
        config.update(
            input_shape=None if self.data_shape is None else list(self.data_shape),
            objective=keras.saving.serialize_keras_object(self.objective),
            seed=self.seed,
            validate_inputs=self.validate_inputs,
        )
        if self.standardization is not None:  # files without one stay as they were
            config["standardize"] = True
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)

    def get_build_config(self):
        return None if self.data_shape is None else {"input_shape": [None, *self.data_shape]}

    def build_from_config(self, config):
        if config and self.data_shape is None:
            self.build(config["input_shape"])


registry.register_base("model", LatentVariableModel)
