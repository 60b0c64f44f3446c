"""The VAE: five components on the shared model core."""
from __future__ import annotations

from typing import Any, Sequence

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from keras_vae import _seeds, registry
from keras_vae.models._conditioning import ConditioningMixin, split_inputs
from keras_vae.models.base import LatentVariableModel
from keras_vae.objectives import KL_METHODS, Terms

tfd = tfp.distributions


# Registered as the model "vae" (and with Keras as "keras_vae>VAE", as since the
# first release, so old files find it).
@registry.register("model", "vae")
class VAE(ConditioningMixin, LatentVariableModel):
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
        condition: ``None`` (a model of p(x)) or a condition (``"one_hot"`` with
            ``num_classes``, ``"vector"`` with ``shape``, a config dict or a
            :class:`~keras_vae.conditions.Condition`): the model of p(x | c). Its
            features join the encoder's features before the posterior head
            (q(z | x, c)) and z before the decoder body (p(x | z, c)); the
            ``"conditional_gaussian"`` prior makes p(z | c). Data then arrive as
            ``{"x": x, "condition": c}`` (numpy dict or ``tf.data`` of dicts), and the
            inference methods take ``condition=``.
        standardize: own a :class:`keras_vae.preprocessing.Standardization` layer
            (a ``keras.layers.Normalization``) adapted on the first ``fit``'s data
            (or by ``vae.adapt(x)``): every method then takes and returns data in
            their own units (``encode``, ``decode``, ``sample``, ``reconstruct``,
            ``likelihood``, the exports), and the ELBO / log p(x) are densities of
            the raw data (``log p_std(x_std) - sum_d log std_d``). Saved in the
            ``.keras`` file. Real-valued likelihoods only (e.g. ``"gaussian"``).

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

    supports_standardize = True

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
        condition: Any = None,
        name: str = "vae",
        **kwargs,
    ):
        if isinstance(latent_dim, bool) or not isinstance(latent_dim, (int, np.integer)) or latent_dim < 1:
            raise ValueError(f"latent_dim must be an integer >= 1, got {latent_dim!r}.")
        if kl not in KL_METHODS:
            raise ValueError(f"kl must be one of {KL_METHODS}, got {kl!r}.")
        super().__init__(
            input_shape=input_shape, objective=objective, beta=beta, seed=seed,
            validate_inputs=validate_inputs, name=name, **kwargs,
        )
        self.latent_dim = int(latent_dim)
        self.kl_method = kl
        self.encoder = registry.get("encoder", encoder)
        self.decoder = registry.get("decoder", decoder)
        self.posterior_layer = registry.get("posterior", posterior)
        self.likelihood_layer = registry.get("likelihood", likelihood)
        self.prior_layer = registry.get("prior", prior)
        for component in (self.posterior_layer, self.prior_layer):
            component.configure(latent_dim=self.latent_dim)
        self.condition_layer = None if condition is None else registry.get("condition", condition)
        self.check_prior_takes_condition()
        self.check_likelihood_allows_standardize()
        self._finish_init(input_shape)

    # ------------------------------------------------------------------ build
    def _components_to_build(self) -> tuple:
        return (self.encoder, self.posterior_layer, self.decoder, self.likelihood_layer)

    def _forward_build(self, components, data_shape) -> None:
        encoder, posterior, decoder, likelihood = components
        for component in (encoder, decoder, likelihood):
            if hasattr(component, "configure"):
                component.configure(data_shape=data_shape, latent_dim=self.latent_dim)
        features = self._dummy_features()
        q = posterior.distribution(
            posterior(self.join_features(encoder(tf.zeros((1, *data_shape), tf.float32)), features))
        )
        if q.reparameterization_type != tfd.FULLY_REPARAMETERIZED:
            # The objectives differentiate through z ~ q: without the
            # reparameterization trick the encoder would get no (or a wrong) gradient.
            raise ValueError(
                f"The posterior {type(posterior).__name__} gives a {type(q).__name__}, which "
                "is not reparameterized (reparameterization_type="
                f"{q.reparameterization_type}), so the encoder would not train. Build "
                "its distribution from reparameterized parts (e.g. tfd.Normal, bijectors)."
            )
        likelihood(decoder(self.join_features(q.sample(seed=tf.constant([0, 0], tf.int32)), features)))

    def _finish_build(self, data_shape) -> None:
        self.prior_layer.configure(latent_dim=self.latent_dim, data_shape=data_shape)
        if self.condition_layer is not None and getattr(self.prior_layer, "takes_condition", False):
            self.prior_layer.build_for(self.condition_layer.feature_size)  # before build() locks it
        if not self.prior_layer.built:
            self.prior_layer.build((None, self.latent_dim))

    def _dummy_features(self):
        """Zero features of one condition (None without a condition), for the build."""
        if self.condition_layer is None:
            return None
        return tf.zeros((1, self.condition_layer.feature_size), tf.float32)

    # ----------------------------------------------------------- inference
    def posterior_parameters(self, x, training: bool | None = None, condition=None) -> tf.Tensor:
        """The posterior head's output for a (prepared) batch: the parameters that
        ``posterior_layer.distribution`` and ``posterior_layer.point`` take. ``x``
        may be a prepared ``{"x": ..., "condition": ...}``."""
        x, c = self._with_condition(x, condition)
        return self._posterior_parameters(x, self.condition_features(c, training), training)

    def _posterior_parameters(self, x, features, training):
        # The likelihood says what the encoder sees (log(1 + x) for counts); it scores x.
        x = self.likelihood_layer.encoder_input(x)
        encoded = self.join_features(self.encoder(x, training=training), features)
        return self.posterior_layer(encoded, training=training)

    def posterior(self, x, training: bool | None = None, condition=None):
        """q(z|x[, c]) as a TFP distribution (batch shape ``(batch,)``, event ``[latent_dim]``)."""
        return self.posterior_layer.distribution(self.posterior_parameters(x, training=training, condition=condition))

    def likelihood(self, z, training: bool | None = None, condition=None):
        """p(x|z[, c]) as a TFP distribution with event shape = the data shape, over
        the data in their own units (for a standardized model a
        ``TransformedDistribution`` of the head's distribution)."""
        features = self.decoder(self.join_features(z, self.condition_features(condition, training)), training=training)
        # In the user's units (a model made with standardize=True maps back).
        return self.to_data_distribution(
            self.likelihood_layer.distribution(self.likelihood_layer(features, training=training))
        )

    def prior(self, training: bool | None = None, condition=None):
        """p(z) (or p(z | c) for a conditional prior) as a TFP distribution with event
        shape ``[latent_dim]``.

        A prior built from the posterior (the VampPrior) is given the model's own
        encoder and posterior head here."""
        if getattr(self.prior_layer, "takes_condition", False):
            condition = self.prepare_condition(condition)
            return self._prior(self.condition_features(condition, training), training)
        return self._prior(None, training)

    def _prior(self, features, training):
        if features is not None and getattr(self.prior_layer, "takes_condition", False):
            return self.prior_layer.distribution(condition_features=features)
        return self.prior_layer.distribution(
            posterior_fn=lambda inputs: self.pseudo_input_posterior(inputs, training=training)
        )

    def _with_condition(self, x, condition):
        """``(x, condition)`` from x (or a dict batch) and a separate ``condition=``."""
        x, c = split_inputs(x)
        if condition is not None:
            if c is not None:
                raise ValueError("The condition was given twice: in the batch dict and as condition=.")
            c = condition
        return x, c

    def _prepared(self, x, condition=None):
        """Public entry points: ``(x, condition)`` checked and prepared."""
        x, c = self._with_condition(x, condition)
        if not isinstance(x, (tf.Tensor, tf.Variable)) or tf.executing_eagerly():
            self.check_condition(c, len(x) if hasattr(x, "__len__") else None)
        else:
            self._require_condition(c)
        return self.prepare(x), (None if c is None else self.prepare_condition(c))

    def prepare_inputs(self, inputs):
        """A training / evaluation batch (x, or ``{"x", "condition"}``) prepared."""
        x, c = self._prepared(inputs)
        return x if c is None else {"x": x, "condition": c}

    def encode(self, x, sample: bool = False, seed=None, condition=None) -> tf.Tensor:
        """Latent codes: the posterior's representative point (its mean where it has
        one; see ``Posterior.point``), or a reparameterized sample.

        Args:
            x: a batch of data.
            sample: draw z ~ q(z|x) instead of returning its mean.
            seed: int or stateless seed for the sample (fresh noise when None).
            condition: the examples' conditions (a conditioned model only).
        """
        x, c = self._prepared(x, condition)
        params = self._posterior_parameters(x, self.condition_features(c), None)
        if sample:
            return self.posterior_layer.distribution(params).sample(seed=self.noise_seed(seed))
        return self.posterior_layer.point(params)

    def decode(self, z, sample: bool = False, seed=None, condition=None) -> tf.Tensor:
        """Data from latents: the mean of p(x|z[, c]), or a sample from it (one
        condition per row of z for a conditioned model)."""
        self._require_condition(condition)
        z = tf.cast(z, tf.float32)
        c = None
        if condition is not None:
            c = self.prepare_condition(condition, z.shape[0])  # checked before anything runs, where both are known
            z = self.one_condition_per_row(z, c)
        p = self.likelihood(z, condition=c)
        return p.sample(seed=self.noise_seed(seed, stream=_seeds.DECODE)) if sample else p.mean()

    def reconstruct(self, x, condition=None) -> tf.Tensor:
        """The mean of p(x | z = the posterior's point[, c]): a deterministic reconstruction."""
        if condition is None and not isinstance(x, dict):
            return self.decode(self.encode(x))
        x, c = self._prepared(x, condition)
        features = self.condition_features(c)
        z = self.posterior_layer.point(self._posterior_parameters(x, features, None))
        return self.likelihood(z, condition=c).mean()

    def sample(self, n: int, seed=None, sample_x: bool = False, condition=None) -> tf.Tensor:
        """Generate ``n`` examples: z ~ p(z), then the mean of p(x|z) (or a sample).

        Args:
            n: number of examples.
            seed: int (or stateless seed tensor) for reproducible samples.
            sample_x: also sample x ~ p(x|z) instead of returning its mean.
            condition: for a conditioned model, one condition per example (``n`` of
                them) or a single condition for all ``n``, e.g. ``condition=7``.
        """
        if isinstance(n, (bool, float, np.floating)) or (isinstance(n, (int, np.integer)) and n < 1):
            raise ValueError(f"n must be an integer >= 1 (how many examples), got {n!r}.")
        self._require_condition(condition)
        if condition is None:
            z = self.prior().sample(n, seed=self.noise_seed(seed, stream=_seeds.SAMPLE_Z))
            x_seed = None if seed is None else self.noise_seed(seed, stream=_seeds.SAMPLE_X)
            return self.decode(z, sample=sample_x, seed=x_seed)
        c = self.prepare_condition(self.one_condition_each(condition, n), int(n))
        z_seed = self.noise_seed(seed, stream=_seeds.SAMPLE_Z)
        if getattr(self.prior_layer, "takes_condition", False):
            z = self._prior(self.condition_features(c), None).sample(seed=z_seed)
        else:
            z = self.prior().sample(n, seed=z_seed)
        x_seed = None if seed is None else self.noise_seed(seed, stream=_seeds.SAMPLE_X)
        p = self.likelihood(z, condition=c)
        return p.sample(seed=self.noise_seed(x_seed, stream=_seeds.DECODE)) if sample_x else p.mean()

    def elbo(self, x, seed=None, num_samples: int = 1, condition=None) -> tf.Tensor:
        """Per-example ELBO ``E_q log p(x|z) - KL`` in nats (beta = 1; the KL analytic
        where TFP registers it, the expectation over ``num_samples`` samples); a
        bound on log p(x | c) for a conditioned model."""
        x, c = self._prepared(x, condition)
        inputs = x if c is None else {"x": x, "condition": c}
        terms = self.terms(inputs, num_samples=num_samples, seed=self.noise_seed(seed))
        return terms.reconstruction() - terms.kl()

    def call(self, x, training: bool | None = None):
        """The reconstruction (mean of p(x|z) at the posterior's point), for ``predict``."""
        x, c = self._prepared(x)
        features = self.condition_features(c, training)
        z = self.posterior_layer.point(self._posterior_parameters(x, features, training))
        return self.likelihood(z, training=training, condition=c).mean()

    # ------------------------------------------------------------ training
    def terms(self, x, num_samples: int = 1, seed=None, training: bool | None = False, condition=None) -> Terms:
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
            condition: the batch's conditions (or x given as ``{"x", "condition"}``).

        Returns:
            A :class:`keras_vae.objectives.Terms`.
        """
        x, c = self._with_condition(x, condition)
        if not (isinstance(x, tf.Tensor) and x.dtype == tf.float32):
            x, c = self._prepared(x, c)
        self._require_condition(c)
        k = int(num_samples)
        if k < 1:
            raise ValueError(f"num_samples must be >= 1, got {num_samples!r}.")
        if seed is None or isinstance(seed, (int, np.integer)):
            seed = self.noise_seed(seed)
        features = self.condition_features(c, training)
        params = self._posterior_parameters(x, features, training)
        q = self.posterior_layer.distribution(params)
        z = self._sample_posterior(q, k, seed)  # [K, B, L]; log_prob(z) reuses a flow's cache
        log_qz = tf.cast(q.log_prob(z), tf.float32)
        prior = self._prior(features, training)

        def joint_log_prob(z):
            return self._joint_log_prob(x, z, training, prior, None, features)

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

    def _sample_posterior(self, q, num_samples: int, seed) -> tf.Tensor:
        """``num_samples`` draws of ``q`` in :meth:`terms` (``[K, batch, latent_dim]``);
        a model that couples the draws of its rows (the semi-supervised M2) overrides it."""
        return q.sample(num_samples, seed=seed)

    def joint_log_prob(self, x, z, training: bool | None = False, prior=None, log_prob=None, condition=None):
        """``log p(x|z)`` and ``log p(z)`` at latents ``z`` ``[K, batch, latent_dim]``
        for a prepared batch ``x``, each ``[K, batch]`` (float32), with one decoder
        call on all ``K * batch`` latents. ``prior`` reuses a ``vae.prior()`` already
        built (a VampPrior runs the encoder to build it). ``log_prob(params, x)``
        replaces the likelihood head's own ``log_prob`` (the log-likelihood estimator
        passes it compiled with XLA). ``x`` may be a prepared ``{"x", "condition"}``
        batch (or give ``condition=``): then these are log p(x|z, c) and log p(z|c).
        A prepared batch of a standardized model is standardized; ``log p(x|z)`` is
        still the density of the data in their own units."""
        x, c = self._with_condition(x, condition)
        features = self.condition_features(c, training)
        if prior is None:
            prior = self._prior(features, training)
        return self._joint_log_prob(x, z, training, prior, log_prob, features)

    def _joint_log_prob(self, x, z, training, prior, log_prob, condition_features):
        k, batch = tf.shape(z)[0], tf.shape(x)[0]
        flat_z = self.join_features(tf.reshape(z, [k * batch, self.latent_dim]), condition_features)
        features = self.decoder(flat_z, training=training)
        params = self.likelihood_layer(features, training=training)
        params = tf.reshape(params, [k, batch, *params.shape[1:]])
        # x [batch, ...] broadcasts against the K samples' parameters: no K copies.
        log_px = (log_prob or self.likelihood_layer.log_prob)(params, x)
        if self.standardization is not None:
            # x is standardized: the density of the raw data has the Jacobian.
            log_px = log_px - self.standardization_log_scale()
        return log_px, tf.cast(prior.log_prob(z), tf.float32)

    # ---------------------------------------------------------------- config
    def get_config(self):
        config = super().get_config()
        config.update(
            encoder=keras.saving.serialize_keras_object(self.encoder),
            decoder=keras.saving.serialize_keras_object(self.decoder),
            latent_dim=self.latent_dim,
            posterior=keras.saving.serialize_keras_object(self.posterior_layer),
            likelihood=keras.saving.serialize_keras_object(self.likelihood_layer),
            prior=keras.saving.serialize_keras_object(self.prior_layer),
            kl=self.kl_method,
        )
        if self.condition_layer is not None:  # files without a condition stay as they were
            config["condition"] = keras.saving.serialize_keras_object(self.condition_layer)
        return config
