"""Training shared by every model: the train / test steps over the model's ``terms``
and its objective, metrics, ``compile`` and the XLA choice."""
from __future__ import annotations

import keras
import tensorflow as tf

from keras_vae import _seeds, _xla
from keras_vae._attributes import temporarily
from keras_vae.models import _fused_steps, _steps_per_execution
from keras_vae.models._mid_epoch_resume import SkippingTrainFunction
from keras_vae.objectives import ELBO, Objective, Terms


class TrainingMixin:
    """The seam a model class fills is ``terms(x, num_samples, seed, training)``:
    everything the objective needs about a batch. This mixin turns it into Keras'
    ``train_step`` / ``test_step`` (checks outside XLA, the update inside it), the
    loss and metric trackers, and ``compile``."""

    @property
    def beta(self) -> float:
        """The KL weight of the objective (1.0 if the objective has none).

        Settable between epochs (e.g. KL warm-up from a callback): the new value is
        validated, stored in the objective (so it is saved), and the compiled
        train / test functions are dropped so the next step uses it.
        """
        return float(getattr(self.objective, "beta", 1.0))

    @beta.setter
    def beta(self, value: float) -> None:
        if not hasattr(self.objective, "beta"):
            raise AttributeError(f"The objective {type(self.objective).__name__} has no beta.")
        self.objective = type(self.objective).from_config(
            {**self.objective.get_config(), "beta": value}
        )
        # beta is a Python constant in the traced step: retrace with the new value.
        # fit() calls self.train_function on every step, so a callback's change
        # takes effect at the next step; evaluate() remakes its function itself.
        retrace = getattr(self, "train_function", None) is not None
        self.train_function = self.test_function = None
        if retrace:
            self.make_train_function()

    def _metric_names(self) -> tuple[str, ...]:
        """The per-example metrics the model reports (its trackers)."""
        return self._objective_metric_names()

    def _objective_metric_names(self) -> tuple[str, ...]:
        """The per-example metrics the objective returns."""
        if isinstance(self.objective, Objective):
            return tuple(self.objective.metric_names)
        return ELBO.metric_names  # an older objective(log_likelihood, kl) callable

    def _objective_values(self, terms: Terms):
        """``(per-example loss, {metric: per-example value})`` from the objective."""
        if isinstance(self.objective, Objective):
            loss, values = self.objective(terms)
        else:  # an older callable objective(log_likelihood, kl): the ELBO's metrics
            reconstruction, kl = terms.reconstruction(), terms.kl()
            loss = self.objective(reconstruction, kl)
            values = {"elbo": reconstruction - kl, "reconstruction_loss": -reconstruction, "kl": kl}
        missing = [name for name in self._objective_metric_names() if name not in values]
        if missing:
            raise ValueError(
                f"{type(self.objective).__name__} declares metric_names "
                f"{self._objective_metric_names()} but returned no value for {missing}."
            )
        return tf.cast(loss, tf.float32), values

    def _update_metrics(self, per_example_loss, values, weights) -> None:
        self.loss_tracker.update_state(per_example_loss, sample_weight=weights)
        for tracker in self.objective_trackers:
            tracker.update_state(values[tracker.name], sample_weight=weights)

    def train_step(self, data):
        x, _, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        # The checks run here, outside any XLA cluster: XLA compiles asserts into nothing.
        x = self.prepare_inputs(x)
        weights = self._weights(sample_weight, self._batch_size(x))
        self._maybe_xla(self._update)(x, weights)
        return self._step_logs()

    def _maybe_xla(self, fn):
        """``fn`` compiled with XLA when the model trains with ``jit_compile``."""
        return tf.function(fn, jit_compile=True) if self.jit_compile and not self.run_eagerly else fn

    def _update(self, x, weights):
        """One optimizer step and metric update on a checked batch."""
        step = self.optimizer.iterations
        seed = self.noise_seed(stream=_seeds.TRAIN, counter=step)
        networks = self._objective_networks()
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        with tf.GradientTape(persistent=bool(networks)) as tape:
            per_example, values, terms = self._batch_loss(x, seed, step, training=True)
            weighted = per_example if weights is None else per_example * weights
            regularization = self._regularization()
            loss = tf.reduce_mean(weighted) + regularization
            # Gradients are summed over replicas: divide so the step is a global mean.
            loss = loss / replicas
            scaled = self.optimizer.scale_loss(loss)
            auxiliary = self._auxiliary_losses(terms, networks, replicas)
        variables = self._model_trainable_variables()
        gradients = tape.gradient(scaled, variables)
        auxiliary_gradients = {
            name: tape.gradient(aux_loss, networks[name].trainable_variables)
            for name, aux_loss in auxiliary.items()
        }
        del tape
        # x carries the input checks: no update (not even the step counter) runs
        # unless the batch passed them.
        with tf.control_dependencies(tf.nest.flatten(x)):
            self.optimizer.apply(gradients, variables)
            for name, aux_gradients in auxiliary_gradients.items():
                self.objective_optimizers[name].apply(aux_gradients, networks[name].trainable_variables)
        self._update_metrics(per_example + regularization, values, weights)

    # ------------------------------------------- objectives' auxiliary networks
    def _objective_networks(self) -> dict:
        """The objective's auxiliary networks, tracked by the model (see
        ``Objective.auxiliary_networks``); empty for most objectives."""
        return dict(getattr(self, "objective_networks", None) or {})

    def _model_trainable_variables(self) -> list:
        """The weights the model's own optimizer trains: every trainable weight
        except those of the objective's auxiliary networks (they have their own
        optimizers)."""
        networks = self._objective_networks()
        if not networks:
            return self.trainable_variables
        owned = {id(v) for network in networks.values() for v in network.trainable_variables}
        return [v for v in self.trainable_variables if id(v) not in owned]

    def _auxiliary_losses(self, terms: Terms, networks: dict, replicas: int) -> dict:
        """The objective's scalar loss per auxiliary network, each scaled for its optimizer."""
        if not networks:
            return {}
        losses = self.objective.auxiliary_losses(terms)
        unknown = sorted(set(losses) - set(networks))
        if unknown:
            raise ValueError(
                f"{type(self.objective).__name__}.auxiliary_losses returned losses for {unknown}, "
                f"which are not among its auxiliary networks {sorted(networks)}."
            )
        return {
            name: self.objective_optimizers[name].scale_loss(tf.cast(value, tf.float32) / replicas)
            for name, value in losses.items()
        }

    def _track_objective_networks(self) -> None:
        """Track the objective's auxiliary networks and optimizers as the model's
        attributes ``objective_networks`` / ``objective_optimizers`` (so ``.keras``
        files hold their weights and optimizer state). Called before the build; a
        model whose objective has none gets neither attribute (its files are
        unchanged)."""
        if not isinstance(self.objective, Objective):
            return
        networks = dict(self.objective.auxiliary_networks())
        if not networks:
            return
        optimizers = dict(self.objective.auxiliary_optimizers())
        if set(optimizers) != set(networks):
            raise ValueError(
                f"{type(self.objective).__name__} must give one optimizer per auxiliary network: "
                f"networks {sorted(networks)}, optimizers {sorted(optimizers)}."
            )
        self.objective_networks = networks
        self.objective_optimizers = optimizers

    def _regularization(self) -> tf.Tensor:
        """Sum of the layers' regularization losses (0 when there are none)."""
        if not self.losses:
            return tf.constant(0.0, tf.float32)
        return tf.cast(tf.add_n(self.losses), tf.float32)

    def test_step(self, data):
        x, _, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        x = self.prepare_inputs(x)
        self._maybe_xla(self._evaluate)(x, self._weights(sample_weight, self._batch_size(x)))
        return self._step_logs()

    def _evaluate(self, x, weights):
        seed = self.noise_seed(stream=_seeds.EVAL, counter=0)
        optimizer = getattr(self, "optimizer", None)
        step = None if optimizer is None else optimizer.iterations
        loss, values, _ = self._batch_loss(x, seed, step, training=False)
        self._update_metrics(loss + self._regularization(), values, weights)

    def _batch_loss(self, x, seed, step, training: bool):
        """``(per-example loss, {metric: per-example value}, terms)`` of a checked batch:
        the model's ``terms`` given to its objective. A model whose loss is not one
        objective over one ``terms`` (the semi-supervised M2 sums over the labels)
        overrides this."""
        terms = self.terms(x, self._num_samples(), seed, training=training)
        # What batch-level objectives read (the step, their own noise); a model whose
        # terms take no attributes (a plain dict or tuple) has no such objective.
        objective_seed = self.noise_seed(stream=_seeds.OBJECTIVE, counter=0 if step is None or not training else step)
        for name, value in (("step", step), ("objective_seed", objective_seed)):
            try:
                setattr(terms, name, value)
            except AttributeError:
                pass
        per_example, values = self._objective_values(terms)
        return per_example, values, terms

    def _num_samples(self) -> int:
        return int(getattr(self.objective, "num_samples", 1))

    @property
    def metrics(self):
        return [self.loss_tracker, *self.objective_trackers]

    def compile(
        self, optimizer="adam", loss=None, metrics=None, jit_compile="auto", steps_per_execution="auto", **kwargs
    ):
        """Configure training. Only the optimizer and Keras' run options apply: the
        VAE computes its own loss and metrics, so ``loss`` and ``metrics`` must be None.

        ``jit_compile="auto"`` compiles the training step with XLA where that is
        faster: always on a GPU, and on a CPU for models without convolutions that are
        built from Keras and keras_vae layers only (see ``keras_vae._xla.resolve``;
        ``benchmarks/throughput.py`` measures it). ``vae.jit_compile`` tells what was
        chosen (for a model built lazily from its first data, once that data has been
        seen); pass ``True`` or ``False`` to decide yourself. Either way the input
        checks run outside the compiled step, so bad batches are still refused.

        ``steps_per_execution="auto"`` runs 32 training steps per call of the
        compiled function (fused into one XLA program where the step is compiled
        with XLA) when no callback of the fit acts on single batches and the fit
        plans 1,024 steps or more, and one otherwise, so a batch-level callback still
        sees every batch and a short fit does not pay for compiling it (see
        ``keras_vae.models._steps_per_execution``); an integer is Keras' own option.

        Example:
            >>> import keras_vae as kv
            >>> vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(4,), likelihood="gaussian")
            >>> vae.compile(optimizer="adam")
            >>> vae.steps_per_execution_request
            'auto'
        """
        steps_per_execution = _steps_per_execution.check_request(steps_per_execution)
        if loss is not None:
            raise ValueError(
                "VAE computes its own loss (the negative ELBO); do not pass loss=. To "
                "change the objective use VAE(beta=...) or VAE(objective=...)."
            )
        if metrics:
            raise ValueError(
                "VAE reports the loss and its objective's metrics itself; do not pass "
                "metrics=. Add metrics through the objective (metric_names) or a callback."
            )
        resolved = _xla.resolve(self, jit_compile, kwargs.get("run_eagerly", False))
        super().compile(
            optimizer=optimizer, jit_compile=resolved,
            steps_per_execution=1 if steps_per_execution == "auto" else steps_per_execution, **kwargs,
        )
        # Save what was asked for, so "auto" is decided again where the file is loaded.
        self._jit_compile_request = jit_compile
        self._compile_config.config["jit_compile"] = jit_compile
        self.steps_per_execution_request = steps_per_execution
        self._compile_config.config["steps_per_execution"] = steps_per_execution
        self._build_optimizer()

    # Keras would compile the whole step, data checks included, with XLA, which drops
    # the checks; the VAE compiles only the update inside the step (_maybe_xla).
    def _make_without_outer_xla(self, attribute: str, make, force: bool):
        if getattr(self, attribute) is not None and not force:
            return getattr(self, attribute)
        if getattr(self, "_jit_compile_request", None) == "auto":
            # Decided again now that the model may be built (a generator builds it only
            # while tracing: no XLA then, as the optimizer must create its slots).
            self.jit_compile = _xla.resolve(self, "auto", self.run_eagerly)
        self._jit_compile_of_step = self.jit_compile  # what the step will use (see _fused_steps)
        with temporarily(self, jit_compile=False):
            return make(force=force)

    def _use_steps_per_execution(self, callbacks, planned_steps: int | None = None) -> None:
        """Set the steps per call for this fit (``"auto"`` decided from its
        callbacks and length); the compiled functions are remade when it changes."""
        request = getattr(self, "steps_per_execution_request", None)
        if request is None:  # not compiled through this class's compile()
            return
        steps = _steps_per_execution.resolve(self, request, callbacks, planned_steps)
        if steps != self.steps_per_execution:
            self.steps_per_execution = steps
            self.train_function = self.test_function = None

    def make_train_function(self, force=False):
        def make(force):
            # Passes over the batches a mid-epoch backup had trained on (exact resume).
            made = super(TrainingMixin, self).make_train_function(force=force)
            made = made if made is not None else self.train_function
            if _fused_steps.can_fuse(self):  # several steps: one XLA program for them
                made = _fused_steps.fused_train_function(self, made)
            return SkippingTrainFunction(made, self)

        function = self._make_without_outer_xla("train_function", make, force)
        self.train_function = function
        return function

    def make_test_function(self, force=False):
        return self._make_without_outer_xla("test_function", super().make_test_function, force)

    def make_predict_function(self, force=False):
        return self._make_without_outer_xla("predict_function", super().make_predict_function, force)

    def _build_optimizer(self) -> None:
        """Create optimizer slots now, outside any traced step: an XLA-compiled step
        cannot create variables, and a reloaded file needs the slots to load into."""
        if self.built and getattr(self, "optimizer", None) is not None and not self.optimizer.built:
            with self.distribute_strategy.scope():
                self.optimizer.build(self._model_trainable_variables())
        if self.built:
            for name, network in self._objective_networks().items():
                optimizer = self.objective_optimizers[name]
                if not optimizer.built:
                    with self.distribute_strategy.scope():
                        optimizer.build(network.trainable_variables)

    def compile_from_config(self, config):
        # Keras skips compile on load when compile() is overridden; ours only
        # validates, so restore the optimizer (and its slots) here.
        self.compile(**keras.saving.deserialize_keras_object(config))

