"""The densities of one batch over a ``[chains, batch, latent]`` state, and the
batches they are built from (model units, padded rows)."""
from __future__ import annotations

import tensorflow as tf

# Prior samples whose spread sets the first step size.
_SCALE_SAMPLES = 64
# The first step size, as a fraction of the prior's spread (the mean over latent
# dimensions of the standard deviation of prior samples).
INITIAL_STEP_FRACTION = 0.5


class Densities:
    """log p(x, z), log p(z) and log q(z|x) of one batch, on states ``[C, B, L]``.

    q(z|x) is built once on the data tiled to ``C * B`` rows (chain-major), so it
    sees a flat batch; this works for posteriors whose ``log_prob`` does not
    broadcast over extra sample dimensions (e.g. a flow conditioned on x). The
    likelihood scores the C chains against one copy of the batch
    (``VAE.joint_log_prob``).
    """

    def __init__(self, vae, x, num_chains: int):
        self.vae = vae
        # A conditioned model's batch is {"x": x, "condition": c}: every density
        # below is then the one given c (p(z | c), q(z | x, c), p(x | z, c)).
        x, condition = (x["x"], x["condition"]) if isinstance(x, dict) else (x, None)
        self.x = tf.cast(x, tf.float32)
        self.condition = condition
        self.num_chains = num_chains
        self.batch = tf.shape(self.x)[0]
        self.latent_dim = vae.latent_dim
        self.data_shape = tuple(vae.data_shape)
        self.rows = num_chains * self.batch
        self.tiled_x = self._tiled(self.x)
        given = {} if condition is None else {"condition": condition}
        self._given = given
        self.prior = vae.prior(**given)
        # p(z | c) has one distribution per example (batch shape [B]).
        self._prior_per_example = condition is not None and getattr(vae.prior_layer, "takes_condition", False)
        self._q = None

    def _tiled(self, t):
        """``[B, ...]`` -> ``[C * B, ...]``, chain-major."""
        tiled = tf.broadcast_to(t[tf.newaxis], tf.concat([[self.num_chains], tf.shape(t)], 0))
        return tf.reshape(tiled, tf.concat([[self.rows], tf.shape(t)[1:]], 0))

    @property
    def q(self):
        """q(z|x) with batch shape ``[C * B]``."""
        if self._q is None:
            given = {} if self.condition is None else {"condition": self._tiled(self.condition)}
            self._q = self.vae.posterior(self.tiled_x, training=False, **given)
        return self._q

    def _flat(self, z):
        return tf.reshape(z, [self.rows, self.latent_dim])

    def _unflat(self, values):
        return tf.reshape(tf.cast(values, tf.float32), [self.num_chains, self.batch])

    def log_likelihood(self, z):
        """log p(x|z), ``[C, B]``: the C chains' parameters scored against one copy of
        the batch, summed over the data as one axis (``Likelihood.log_prob``)."""
        return self.vae.joint_log_prob(self.x, z, prior=self.prior, **self._given)[0]

    def log_prior(self, z):
        return self._unflat(self.prior.log_prob(z))

    def log_joint(self, z):
        """log p(x, z) = log p(x|z) + log p(z), ``[C, B]``: the unnormalized posterior."""
        return self.log_likelihood(z) + self.log_prior(z)

    def log_q(self, z):
        return self._unflat(self.q.log_prob(self._flat(z)))

    def sample_q(self, seed) -> tf.Tensor:
        """z ~ q(z|x), ``[C, B, L]``."""
        z = tf.cast(self.q.sample(seed=seed), tf.float32)
        return tf.reshape(z, [self.num_chains, self.batch, self.latent_dim])

    def sample_prior(self, seed) -> tf.Tensor:
        shape = [self.num_chains] if self._prior_per_example else [self.num_chains, self.batch]
        z = self.prior.sample(shape, seed=seed)
        return tf.cast(z, tf.float32)

    def initial_step_size(self, seed, step_size: float | None) -> tf.Tensor:
        """The first HMC step size per example, ``[B, 1]``: where adaptation starts.

        Given: that value for every example. ``None``: ``INITIAL_STEP_FRACTION``
        (0.5) times the prior's spread, the mean over latent dimensions of the
        standard deviation of ``_SCALE_SAMPLES`` (64) prior samples (only ``sample``
        is used: a VampPrior or a mixture has no closed-form stddev). q(z|x) is not
        read: its spread is wrong by orders of magnitude exactly when MCMC is
        needed, and the adaptation moves the step to each distribution's scale.
        """
        if step_size is not None:
            return tf.fill([self.batch, 1], tf.constant(step_size, tf.float32))
        z = tf.cast(self.prior.sample(_SCALE_SAMPLES, seed=seed), tf.float32)  # [S, (B,) L]
        spread = tf.reduce_mean(tf.math.reduce_std(z, axis=0))
        return tf.fill([self.batch, 1], INITIAL_STEP_FRACTION * tf.maximum(spread, 1e-4))


def batch_spec(vae):
    """The ``tf.TensorSpec`` of one batch of any size: x, or for a conditioned model
    ``{"x": x, "condition": c}`` (the condition in its layer's dtype)."""
    x_spec = tf.TensorSpec([None, *vae.data_shape], tf.float32)
    layer = getattr(vae, "condition_layer", None)
    if layer is None:
        return x_spec
    return {"x": x_spec, "condition": tf.TensorSpec([None, *layer.example_shape], layer.input_dtype)}


def to_tensor(vae, batch):
    """A batch in the units the model computes in (standardized where it standardizes),
    float32; a conditioned batch: its x so, the condition as the model takes it."""
    if isinstance(batch, dict):
        return {"x": to_tensor(vae, batch["x"]), "condition": vae.prepare_condition(batch["condition"])}
    return vae.to_model_units(tf.cast(tf.convert_to_tensor(batch), tf.float32))


def pad_rows(batch: tf.Tensor, size: int) -> tf.Tensor:
    """A short batch padded to ``size`` rows by repeating its rows.

    Under XLA a function is compiled once per input shape: padding the last batch
    saves a second compilation. Each example's chains (and step size) are its own,
    so the copies do not change the other rows' computation; their results are
    dropped. (The random draws for a padded batch differ from an unpadded one, so a
    result depends on ``batch_size`` either way.)
    """
    if isinstance(batch, dict):
        return {key: pad_rows(value, size) for key, value in batch.items()}
    rows = int(batch.shape[0])
    return batch if rows >= size else tf.gather(batch, tf.range(size) % rows)
