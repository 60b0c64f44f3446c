"""The VAE model: wires the five components and owns training and inference."""
from __future__ import annotations

import random
from typing import Any, Sequence

import keras
import numpy as np
import tensorflow as tf

from keras_vae import _data_checks, _errors, _seeds, _xla, registry
from keras_vae._random import INT32_MAX
from keras_vae.objectives import ELBO, KL_METHODS, Objective, Terms

_INT32_MAX = INT32_MAX


def _multi_worker(strategy) -> bool:
    """Whether ``strategy`` is a MultiWorkerMirroredStrategy with several workers."""
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and bool(
        strategy.extended._in_multi_worker_mode()
    )


@keras.saving.register_keras_serializable(package="keras_vae")
class VAE(keras.Model):
    """A variational autoencoder trained with ``fit`` and saved with ``save``.

    The data path is::

        x -> encoder -> posterior head -> q(z|x) -> z -> decoder -> likelihood head -> p(x|z)
                                 KL(q(z|x) || p(z)) <- prior

    and the per-example loss comes from the objective (default: the negative ELBO
    ``E_q[log p(x|z)] - beta * KL(q(z|x) || p(z))``, in nats, float32). For each batch
    the model draws the objective's ``num_samples`` reparameterized samples of z in
    one batched pass and hands the objective their densities (``VAE.terms``); the
    IWAE bound, for example, is ``objective="iwae"``. The KL is analytic
    (``tfd.kl_divergence``) where TFP registers it and a Monte Carlo estimate
    otherwise.

    Args:
        encoder: encoder body: a registered name (``"mlp"``, ``"conv"``), a config
            dict, or any Keras layer / functional model mapping x to features.
        decoder: decoder body, same forms, mapping z to features.
        latent_dim: size of z (>= 1).
        input_shape: shape of one example, e.g. ``(28, 28, 1)``. When given the
            model is built at once; otherwise on the first data it sees.
        posterior: posterior head (default ``"diagonal_gaussian"``).
        likelihood: likelihood head (default ``"bernoulli"``; ``"gaussian"`` for
            real-valued data).
        prior: prior (default ``"standard_normal"``).
        beta: KL weight of the default ELBO objective (β-VAE when > 1).
        kl: ``"auto"``, ``"analytic"`` or ``"mc"`` (see ``objectives.kl_divergence``).
        objective: an objective (``"elbo"``, ``"iwae"``, a config dict or an
            :class:`~keras_vae.objectives.Objective`); default ``ELBO(beta)``. Give
            either ``beta`` or ``objective``.
        seed: seed of the training noise; with the optimizer's step counter it fixes
            the noise of every step, so training resumed from a saved file is
            identical to uninterrupted training. Drawn at random when ``None``. It
            does not set the initial weights (Keras' initializers draw those): call
            ``keras.utils.set_random_seed(n)`` before building the model for that.
        validate_inputs: check data for NaN/inf, shape and likelihood support.

    Metrics reported by ``fit`` and ``evaluate`` (nats per example): ``loss`` and
    the objective's ``metric_names`` — for the ELBO ``elbo`` (with beta = 1),
    ``reconstruction_loss`` (``-E_q log p(x|z)``) and ``kl``; the IWAE adds
    ``iwae_bound``.

    Example:
        >>> import numpy as np, keras_vae as kv
        >>> vae = kv.VAE(encoder=kv.encoders.MLPEncoder([64]),
        ...              decoder=kv.decoders.MLPDecoder([64]),
        ...              latent_dim=2, input_shape=(28, 28, 1))
        >>> vae.compile(optimizer="adam")
        >>> x = np.random.default_rng(0).uniform(size=(64, 28, 28, 1)).astype("float32")
        >>> history = vae.fit(x, epochs=1, batch_size=32, verbose=0)
        >>> sorted(history.history)
        ['elbo', 'kl', 'loss', 'reconstruction_loss']
    """

    def __init__(
        self,
        encoder: Any,
        decoder: Any,
        latent_dim: int,
        input_shape: Sequence[int] | None = None,
        posterior: Any = "diagonal_gaussian",
        likelihood: Any = "bernoulli",
        prior: Any = "standard_normal",
        beta: float = 1.0,
        kl: str = "auto",
        objective: Any = None,
        seed: int | None = None,
        validate_inputs: bool = True,
        name: str = "vae",
        **kwargs,
    ):
        if isinstance(latent_dim, bool) or not isinstance(latent_dim, (int, np.integer)) or latent_dim < 1:
            raise ValueError(f"latent_dim must be an integer >= 1, got {latent_dim!r}.")
        if kl not in KL_METHODS:
            raise ValueError(f"kl must be one of {KL_METHODS}, got {kl!r}.")
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
            seed = random.randint(0, _INT32_MAX)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= _INT32_MAX:
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

        self.latent_dim = int(latent_dim)
        self.kl_method = kl
        self.objective = objective
        self.seed = int(seed)
        self.validate_inputs = bool(validate_inputs)
        self.data_shape: tuple[int, ...] | None = None

        self.encoder = registry.get("encoder", encoder)
        self.decoder = registry.get("decoder", decoder)
        self.posterior_layer = registry.get("posterior", posterior)
        self.likelihood_layer = registry.get("likelihood", likelihood)
        self.prior_layer = registry.get("prior", prior)
        for component in (self.posterior_layer, self.prior_layer):
            component.configure(latent_dim=self.latent_dim)

        # Metric trackers must exist before build() locks the model's state.
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.objective_trackers = [keras.metrics.Mean(name=name) for name in self._metric_names()]

        if input_shape is not None:
            self.build((None, *input_shape))

    # ------------------------------------------------------------------ build
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
        components = (self.encoder, self.posterior_layer, self.decoder, self.likelihood_layer)
        if not any(c.built for c in components):
            self._trial_build(data_shape)
        # Eager even when Keras calls build while tracing, and in the model's strategy
        # scope even when fit() builds it lazily, so variables are real and mirrored.
        with tf.init_scope(), self.distribute_strategy.scope():
            self._forward_build(components, data_shape)
            self.prior_layer.configure(latent_dim=self.latent_dim, data_shape=data_shape)
            if not self.prior_layer.built:
                self.prior_layer.build((None, self.latent_dim))
        self.data_shape = data_shape

    def _forward_build(self, components, data_shape) -> None:
        encoder, posterior, decoder, likelihood = components
        for component in (encoder, decoder, likelihood):
            if hasattr(component, "configure"):
                component.configure(data_shape=data_shape, latent_dim=self.latent_dim)
        q = posterior.distribution(posterior(encoder(tf.zeros((1, *data_shape), tf.float32))))
        likelihood(decoder(q.sample(seed=tf.constant([0, 0], tf.int32))))

    def _trial_build(self, data_shape) -> None:
        """Build copies first: a shape the components reject must not damage them."""
        try:
            copies = [
                keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(c))
                for c in (self.encoder, self.posterior_layer, self.decoder, self.likelihood_layer)
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

    # ------------------------------------------------------------ validation
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
            if self.data_shape is None:
                self.build((None, *array.shape[1:]))
                self._check_shape(array.shape, what)

    def prepare(self, x) -> tf.Tensor:
        """A batch as the model computes with it: float32, its static shape checked
        (``ValueError``) and in-graph checks for NaN / inf and the likelihood's
        support attached (``InvalidArgumentError`` when the values arrive). Every
        inference method and the exported signatures call it; an unbuilt model is
        built from the batch's shape."""
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
        return x

    # --------------------------------------------------------------- seeds
    def noise_seed(self, seed=None, stream: int = _seeds.TRAIN, counter=None) -> tf.Tensor:
        """The stateless seed (int32, shape ``[2]``) of one of the model's noise
        streams (``keras_vae._seeds``), distinct on every replica.

        ``seed=None`` with no counter draws a fresh seed on every call, also inside
        saved graphs; an int (or int tensor) gives reproducible noise; a counter
        (the optimizer step) gives the training noise, a function of the model's own
        ``seed``.
        """
        return _seeds.stateless_seed(self.seed, seed, stream, counter)

    # ----------------------------------------------------------- inference
    def posterior_parameters(self, x, training: bool | None = None) -> tf.Tensor:
        """The posterior head's output for a (prepared) batch: the parameters that
        ``posterior_layer.distribution`` and ``posterior_layer.point`` take."""
        return self.posterior_layer(self.encoder(x, training=training), training=training)

    def posterior(self, x, training: bool | None = None):
        """q(z|x) as a TFP distribution (batch shape ``(batch,)``, event ``[latent_dim]``)."""
        return self.posterior_layer.distribution(self.posterior_parameters(x, training=training))

    def likelihood(self, z, training: bool | None = None):
        """p(x|z) as a TFP distribution with event shape = the data shape."""
        features = self.decoder(z, training=training)
        return self.likelihood_layer.distribution(self.likelihood_layer(features, training=training))

    def prior(self, training: bool | None = None):
        """p(z) as a TFP distribution with event shape ``[latent_dim]``.

        A prior built from the posterior (the VampPrior) is given the model's own
        encoder and posterior head here."""
        return self.prior_layer.distribution(
            posterior_fn=lambda inputs: self.posterior(inputs, training=training)
        )

    def encode(self, x, sample: bool = False, seed=None) -> tf.Tensor:
        """Latent codes: the posterior's representative point (its mean where it has
        one; see ``Posterior.point``), or a reparameterized sample.

        Args:
            x: a batch of data.
            sample: draw z ~ q(z|x) instead of returning its mean.
            seed: int or stateless seed for the sample (fresh noise when None).
        """
        params = self.posterior_parameters(self.prepare(x))
        if sample:
            return self.posterior_layer.distribution(params).sample(seed=self.noise_seed(seed))
        return self.posterior_layer.point(params)

    def decode(self, z, sample: bool = False, seed=None) -> tf.Tensor:
        """Data from latents: the mean of p(x|z), or a sample from it."""
        p = self.likelihood(tf.cast(z, tf.float32))
        return p.sample(seed=self.noise_seed(seed, stream=_seeds.DECODE)) if sample else p.mean()

    def reconstruct(self, x) -> tf.Tensor:
        """The mean of p(x | z = the posterior's point): a deterministic reconstruction."""
        return self.decode(self.encode(x))

    def sample(self, n: int, seed=None, sample_x: bool = False) -> tf.Tensor:
        """Generate ``n`` examples: z ~ p(z), then the mean of p(x|z) (or a sample).

        Args:
            n: number of examples.
            seed: int (or stateless seed tensor) for reproducible samples.
            sample_x: also sample x ~ p(x|z) instead of returning its mean.
        """
        z = self.prior().sample(n, seed=self.noise_seed(seed, stream=_seeds.SAMPLE_Z))
        x_seed = None if seed is None else self.noise_seed(seed, stream=_seeds.SAMPLE_X)
        return self.decode(z, sample=sample_x, seed=x_seed)

    def elbo(self, x, seed=None, num_samples: int = 1) -> tf.Tensor:
        """Per-example ELBO ``E_q log p(x|z) - KL`` in nats (beta = 1; the KL analytic
        where TFP registers it, the expectation over ``num_samples`` samples)."""
        terms = self.terms(self.prepare(x), num_samples=num_samples, seed=self.noise_seed(seed))
        return terms.reconstruction() - terms.kl()

    def call(self, x, training: bool | None = None):
        """The reconstruction (mean of p(x|z) at the posterior's point), for ``predict``."""
        x = self.prepare(x)
        z = self.posterior_layer.point(self.posterior_parameters(x, training=training))
        return self.likelihood(z, training=training).mean()

    # ------------------------------------------------------------ training
    def terms(self, x, num_samples: int = 1, seed=None, training: bool | None = False) -> Terms:
        """Everything an objective needs about a batch, from one batched pass.

        Draws ``num_samples`` (K) reparameterized samples ``z ~ q(z|x)`` at once
        (``[K, batch, latent_dim]``), decodes all ``K * batch`` of them in one decoder
        call and evaluates ``log p(x|z)``, ``log p(z)`` and ``log q(z|x)`` at each.

        Args:
            x: a batch (checked by ``prepare`` first when it is not a float32
                tensor the model prepared).
            num_samples: K.
            seed: int or stateless seed for the samples (fresh noise when None).
            training: passed to the layers.

        Returns:
            A :class:`keras_vae.objectives.Terms`.
        """
        if not (isinstance(x, tf.Tensor) and x.dtype == tf.float32):
            x = self.prepare(x)
        k = int(num_samples)
        if k < 1:
            raise ValueError(f"num_samples must be >= 1, got {num_samples!r}.")
        if seed is None or isinstance(seed, (int, np.integer)):
            seed = self.noise_seed(seed)
        params = self.posterior_parameters(x, training=training)
        q = self.posterior_layer.distribution(params)
        z = q.sample(k, seed=seed)  # [K, B, L]; log_prob(z) reuses a flow's cache
        log_qz = tf.cast(q.log_prob(z), tf.float32)
        prior = self.prior(training=training)

        def joint_log_prob(z):
            return self.joint_log_prob(x, z, training=training, prior=prior)

        log_px, log_pz = joint_log_prob(z)
        return Terms(
            x=x,
            q=q,
            z=z,
            log_px=log_px,
            log_pz=log_pz,
            log_qz=log_qz,
            prior=prior,
            training=bool(training),
            kl_method=self.kl_method,
            stopped_posterior=lambda: self.posterior_layer.stopped_distribution(params),
            joint_log_prob=joint_log_prob,
        )

    def joint_log_prob(self, x, z, training: bool | None = False, prior=None, log_prob=None):
        """``log p(x|z)`` and ``log p(z)`` at latents ``z`` ``[K, batch, latent_dim]``
        for a prepared batch ``x``, each ``[K, batch]`` (float32), with one decoder
        call on all ``K * batch`` latents. ``prior`` reuses a ``vae.prior()`` already
        built (a VampPrior runs the encoder to build it). ``log_prob(params, x)``
        replaces the likelihood head's own ``log_prob`` (the log-likelihood estimator
        passes it compiled with XLA)."""
        prior = self.prior(training=training) if prior is None else prior
        k, batch = tf.shape(z)[0], tf.shape(x)[0]
        features = self.decoder(tf.reshape(z, [k * batch, self.latent_dim]), training=training)
        params = self.likelihood_layer(features, training=training)
        params = tf.reshape(params, [k, batch, *params.shape[1:]])
        # x [batch, ...] broadcasts against the K samples' parameters: no K copies.
        log_px = (log_prob or self.likelihood_layer.log_prob)(params, x)
        return log_px, tf.cast(prior.log_prob(z), tf.float32)

    def _metric_names(self) -> tuple[str, ...]:
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
        missing = [name for name in self._metric_names() if name not in values]
        if missing:
            raise ValueError(
                f"{type(self.objective).__name__} declares metric_names "
                f"{self._metric_names()} but returned no value for {missing}."
            )
        return tf.cast(loss, tf.float32), values

    @staticmethod
    def _weights(sample_weight, batch_size):
        if sample_weight is None:
            return None
        return tf.reshape(tf.cast(sample_weight, tf.float32), [batch_size])

    def _update_metrics(self, per_example_loss, values, weights) -> None:
        self.loss_tracker.update_state(per_example_loss, sample_weight=weights)
        for tracker in self.objective_trackers:
            tracker.update_state(values[tracker.name], sample_weight=weights)

    def train_step(self, data):
        x, _, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        # The checks run here, outside any XLA cluster: XLA compiles asserts into nothing.
        x = self.prepare(x)
        weights = self._weights(sample_weight, tf.shape(x)[0])
        self._maybe_xla(self._update)(x, weights)
        return self._step_logs()

    def _maybe_xla(self, fn):
        """``fn`` compiled with XLA when the model trains with ``jit_compile``."""
        return tf.function(fn, jit_compile=True) if self.jit_compile and not self.run_eagerly else fn

    def _update(self, x, weights):
        """One optimizer step and metric update on a checked batch."""
        seed = self.noise_seed(stream=_seeds.TRAIN, counter=self.optimizer.iterations)
        with tf.GradientTape() as tape:
            terms = self.terms(x, self._num_samples(), seed, training=True)
            per_example, values = self._objective_values(terms)
            weighted = per_example if weights is None else per_example * weights
            regularization = self._regularization()
            loss = tf.reduce_mean(weighted) + regularization
            # Gradients are summed over replicas: divide so the step is a global mean.
            loss = loss / tf.distribute.get_strategy().num_replicas_in_sync
            scaled = self.optimizer.scale_loss(loss)
        gradients = tape.gradient(scaled, self.trainable_variables)
        # x carries the input checks: no update (not even the step counter) runs
        # unless the batch passed them.
        with tf.control_dependencies([x]):
            self.optimizer.apply(gradients, self.trainable_variables)
        self._update_metrics(per_example + regularization, values, weights)

    def _regularization(self) -> tf.Tensor:
        """Sum of the layers' regularization losses (0 when there are none)."""
        if not self.losses:
            return tf.constant(0.0, tf.float32)
        return tf.cast(tf.add_n(self.losses), tf.float32)

    def test_step(self, data):
        x, _, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        x = self.prepare(x)
        self._maybe_xla(self._evaluate)(x, self._weights(sample_weight, tf.shape(x)[0]))
        return self._step_logs()

    # --------------------------------------- Keras 3.15 multi-worker workarounds
    def _step_logs(self) -> dict:
        """The logs a train / test step returns: the trackers' results."""
        logs = {m.name: m.result() for m in self.metrics}
        if _multi_worker(self.distribute_strategy):
            # Keras 3.15 fault (keras#20585; Keras has no multi-worker tests): under
            # MultiWorkerMirroredStrategy, one_step_on_data reduces the step's logs
            # with strategy.reduce("MEAN", v, axis=0), which fails on scalars with
            # "Invalid reduction dimension 0 for input with 0 dimensions". Rank-1
            # logs of one element reduce to the same scalar. Remove when Keras
            # reduces scalar logs.
            logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
        return logs

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        if iterator is not None and _multi_worker(self.distribute_strategy):
            # Keras 3.15 fault (keras#20585): under MultiWorkerMirroredStrategy,
            # Trainer._maybe_symbolic_build calls strategy.reduce("MEAN", batch) on
            # the first batch, which fails for an (x, y) or (x, y, sample_weight)
            # tuple of PerReplica values. The symbolic build needs only shapes, and
            # a VAE needs only x: hand it this worker's first x. Remove when Keras
            # builds from tuples under multi-worker strategies.
            for _, _, batches in iterator:
                x = keras.utils.unpack_x_y_sample_weight(next(batches))[0]
                data_batch = self.distribute_strategy.experimental_local_results(x)[0]
                break
            with self.distribute_strategy.scope():
                self._symbolic_build(data_batch=data_batch)
            return
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def _evaluate(self, x, weights):
        seed = self.noise_seed(stream=_seeds.EVAL, counter=0)
        terms = self.terms(x, self._num_samples(), seed, training=False)
        loss, values = self._objective_values(terms)
        self._update_metrics(loss + self._regularization(), values, weights)

    def _num_samples(self) -> int:
        return int(getattr(self.objective, "num_samples", 1))

    @property
    def metrics(self):
        return [self.loss_tracker, *self.objective_trackers]

    def compile(self, optimizer="adam", loss=None, metrics=None, jit_compile="auto", **kwargs):
        """Configure training. Only the optimizer and Keras' run options apply: the
        VAE computes its own loss and metrics, so ``loss`` and ``metrics`` must be None.

        ``jit_compile="auto"`` compiles the training step with XLA where that is
        faster: always on a GPU, and on a CPU for models without convolutions that are
        built from Keras and keras_vae layers only (see ``keras_vae._xla.resolve``;
        ``benchmarks/throughput.py`` measures it). ``vae.jit_compile`` tells what was
        chosen (for a model built lazily from its first data, once that data has been
        seen); pass ``True`` or ``False`` to decide yourself. Either way the input
        checks run outside the compiled step, so bad batches are still refused.
        """
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
        super().compile(optimizer=optimizer, jit_compile=resolved, **kwargs)
        # Save what was asked for, so "auto" is decided again where the file is loaded.
        self._jit_compile_request = jit_compile
        self._compile_config.config["jit_compile"] = jit_compile
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
        jit_compile = self.jit_compile
        self.jit_compile = False
        try:
            return make(force=force)
        finally:
            self.jit_compile = jit_compile

    def make_train_function(self, force=False):
        return self._make_without_outer_xla("train_function", super().make_train_function, force)

    def make_test_function(self, force=False):
        return self._make_without_outer_xla("test_function", super().make_test_function, force)

    def make_predict_function(self, force=False):
        return self._make_without_outer_xla("predict_function", super().make_predict_function, force)

    def _build_optimizer(self) -> None:
        """Create optimizer slots now, outside any traced step: an XLA-compiled step
        cannot create variables, and a reloaded file needs the slots to load into."""
        if self.built and getattr(self, "optimizer", None) is not None and not self.optimizer.built:
            with self.distribute_strategy.scope():
                self.optimizer.build(self.trainable_variables)

    def compile_from_config(self, config):
        # Keras skips compile on load when compile() is overridden; ours only
        # validates, so restore the optimizer (and its slots) here.
        self.compile(**keras.saving.deserialize_keras_object(config))

    # Validate numpy / dataset inputs up front, before Keras touches any state.
    @staticmethod
    def _placeholder_y(x, y, sample_weight):
        """Keras drops sample weights when y is None; y is unused, so fill it."""
        if y is None and sample_weight is not None and hasattr(x, "__len__"):
            return np.zeros((len(x),), "float32")
        return y

    def fit(self, x=None, y=None, *args, validation_data=None, sample_weight=None, **kwargs):
        if kwargs.get("class_weight") is not None:
            raise ValueError(
                "class_weight does not apply to a VAE (there are no classes); weight "
                "examples with sample_weight= instead."
            )
        _data_checks.check_x_given(x, "fit")
        _data_checks.check_sample_weight(sample_weight, x)
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
        self._build_optimizer()  # the model may have been built from x just now
        # A dataset's weights and magnitude are checked in its pipeline, before the
        # step that would use them.
        with _errors.own_message_first():
            return super().fit(
                _data_checks.with_pipeline_checks(x, self.validate_inputs), y, *args,
                validation_data=validation_data, sample_weight=sample_weight, **kwargs,
            )

    def evaluate(self, x=None, y=None, *args, sample_weight=None, **kwargs):
        _data_checks.check_x_given(x, "evaluate")
        _data_checks.check_sample_weight(sample_weight, x)
        self.check_data(x, "x")
        y = self._placeholder_y(x, y, sample_weight)
        with _errors.own_message_first():
            return super().evaluate(
                _data_checks.with_pipeline_checks(x, self.validate_inputs), y, *args,
                sample_weight=sample_weight, **kwargs,
            )

    def predict(self, x, *args, **kwargs):
        _data_checks.check_x_given(x, "predict")
        self.check_data(x, "x")
        with _errors.own_message_first():
            return super().predict(_data_checks.with_pipeline_checks(x, self.validate_inputs), *args, **kwargs)

    def save(self, filepath, overwrite=True, zipped=None, **kwargs):
        """Save to a ``.keras`` file, atomically (``keras_vae.saving.save_model``).

        The archive is written to a temporary file beside ``filepath``, fsynced and
        renamed over it, so a failed or killed save leaves the previous file intact
        and a concurrent ``kv.load_model`` reads either the old or the new model.
        ``overwrite=False`` raises ``FileExistsError`` instead of prompting. Remote
        paths and ``zipped=False`` use Keras' own (non-atomic) save.

        Example:
            >>> import os, tempfile, keras_vae as kv
            >>> vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(4,),
            ...              likelihood="gaussian")
            >>> path = os.path.join(tempfile.mkdtemp(), "vae.keras")
            >>> vae.save(path); kv.load_model(path).latent_dim
            2
        """
        if zipped is False or "://" in str(filepath):
            return super().save(filepath, overwrite=overwrite, zipped=zipped, **kwargs)
        from keras_vae.saving import save_model

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
        if format != "tf_saved_model":
            if version is not None:
                raise ValueError(f"version= applies to the SavedModel export, not format={format!r}.")
            from keras_vae.export import litert, onnx

            exporter = litert.export_litert if format == "litert" else onnx.export_onnx
            return exporter(self, path, **kwargs)
        from keras_vae.export import export_vae

        return export_vae(self, path, version=version, **kwargs)

    # ----------------------------------------------------------- evaluation
    def log_likelihood(self, x, num_samples: int | None = None, method: str = "iwae", **kwargs):
        """log p(x) per example, in nats.

        ``method="iwae"`` (default): the importance-sampled estimate of Burda et al.
        (2015) with ``num_samples`` (default 5000) samples from q(z|x); see
        ``keras_vae.evaluation.log_likelihood`` for ``batch_size``, ``chunk_size``,
        ``seed`` and ``return_bits_per_dim``. ``method="ais"``: annealed importance
        sampling with HMC transitions (``num_steps``, ``num_chains``,
        ``anneal_from``, ...; see ``keras_vae.evaluation.ais_log_likelihood``).
        """
        from keras_vae import evaluation

        if method == "ais":
            if num_samples is not None:
                raise ValueError(
                    "method='ais' takes num_chains= and num_steps=, not num_samples= "
                    "(that is the importance-sampling estimate, method='iwae')."
                )
            return evaluation.ais_log_likelihood(self, x, **kwargs)
        if method != "iwae":
            raise ValueError(f"method must be 'iwae' or 'ais', got {method!r}.")
        return evaluation.log_likelihood(
            self, x, num_samples=5000 if num_samples is None else num_samples, **kwargs
        )

    def posterior_samples(self, x, num_samples: int = 1000, method: str = "hmc", **kwargs):
        """Samples of the true posterior p(z|x) by HMC (``method="hmc"``, with R-hat
        and the step size reported), or of the amortized q(z|x) (``method="q"``)
        for comparison; see ``keras_vae.evaluation.posterior_samples``."""
        from keras_vae import evaluation

        return evaluation.posterior_samples(self, x, num_samples=num_samples, method=method, **kwargs)

    def kl_per_dimension(self, x, **kwargs):
        """Mean KL(q(z_i|x) || p(z_i)) per latent dimension (see ``keras_vae.evaluation``)."""
        from keras_vae import evaluation

        return evaluation.kl_per_dimension(self, x, **kwargs)

    def active_units(self, x, threshold: float = 0.01, **kwargs):
        """Latent units whose posterior mean varies with x (variance > threshold)."""
        from keras_vae import evaluation

        return evaluation.active_units(self, x, threshold=threshold, **kwargs)

    def interpolate(self, x1, x2, steps: int = 8, method: str = "linear", **kwargs):
        """Decoded means on a linear or slerp path between the posterior means of x1, x2."""
        from keras_vae import evaluation

        return evaluation.interpolate(self, x1, x2, steps=steps, method=method, **kwargs)

    def traverse(self, x, dim: int, values=None, **kwargs):
        """Decode x's posterior mean with latent ``dim`` set to each value (default -3..3)."""
        from keras_vae import evaluation

        values = np.linspace(-3.0, 3.0, 9) if values is None else values
        return evaluation.traverse(self, x, dim, values=values, **kwargs)

    # ---------------------------------------------------------------- config
    def get_config(self):
        config = super().get_config()
        config.update(
            encoder=keras.saving.serialize_keras_object(self.encoder),
            decoder=keras.saving.serialize_keras_object(self.decoder),
            latent_dim=self.latent_dim,
            input_shape=None if self.data_shape is None else list(self.data_shape),
            posterior=keras.saving.serialize_keras_object(self.posterior_layer),
            likelihood=keras.saving.serialize_keras_object(self.likelihood_layer),
            prior=keras.saving.serialize_keras_object(self.prior_layer),
            objective=keras.saving.serialize_keras_object(self.objective),
            kl=self.kl_method,
            seed=self.seed,
            validate_inputs=self.validate_inputs,
        )
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)

    def get_build_config(self):
        return None if self.data_shape is None else {"input_shape": [None, *self.data_shape]}

    def build_from_config(self, config):
        if config and self.data_shape is None:
            self.build(config["input_shape"])
