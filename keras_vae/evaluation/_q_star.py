"""The per-example optimization of q* (Cremer et al., 2018): each example's posterior
parameters, optimized by Adam on the ELBO from the better of two starts, with a
stopping rule per example; and the ELBO of given posterior parameters."""
from __future__ import annotations

import weakref

import keras
import numpy as np
import tensorflow as tf

from keras_vae.objectives._log_weights import log_weights

#: Steps between two checks of the stopping rule.
WINDOW = 100
#: Consecutive windows without gain before an example counts as converged.
PATIENCE = 2
#: Samples (fixed noise per batch) of the ELBO the stopping rule compares.
CHECK_SAMPLES = 64
#: Adam steps that move the prior-matched start from the amortized parameters.
PRIOR_MATCH_STEPS = 200


class _Optimizer:
    """One batch's per-example posterior parameters, their Adam optimizer and the
    traced functions: made once per (model, settings), reset for every batch.

    Adam's update is element-wise and the loss is a sum over examples, so every
    example is optimized on its own, as if alone."""

    def __init__(self, vae, batch_size: int, learning_rate: float, num_samples: int, example):
        """``example``: a batch (x, or ``{"x", "condition"}``) that sizes the parameters."""
        self.model_ref = weakref.ref(vae)
        self.batch_size = batch_size
        params = self.head_params(tf.nest.map_structure(lambda t: t[:1], example))
        self.params = keras.Variable(tf.zeros((batch_size, int(params.shape[-1]))), name="q_params")
        self.optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
        self.optimizer.build([self.params])
        self.num_samples = num_samples
        self.window = tf.function(self._window, reduce_retracing=True)
        self.check = tf.function(self._check, reduce_retracing=True)

    def head_params(self, x):
        """The encoder's posterior parameters of a batch (x or ``{"x", "condition"}``)."""
        return tf.cast(self.model_ref().posterior_parameters(x, training=False), tf.float32)

    def reset(self, params) -> None:
        self.params.assign(params)
        for variable in self.optimizer.variables:
            # The moments and the step count; a float learning rate is a variable too.
            if "learning_rate" not in variable.path:
                variable.assign(tf.zeros_like(variable))

    def _window(self, x, seed, first_step, num_steps, with_likelihood: bool):
        """``num_steps`` Adam steps on the ELBO (or, without the likelihood, on
        ``-KL(q || p(z))``, which moves q to the prior)."""
        for step in tf.range(num_steps):
            with tf.GradientTape() as tape:
                step_seed = tf.random.experimental.stateless_fold_in(seed, first_step + step)
                params = tf.convert_to_tensor(self.params)
                elbo = elbo_of_params(self.model_ref(), x, params, step_seed, self.num_samples,
                                      path_derivative=True, with_likelihood=with_likelihood)
                loss = -tf.reduce_sum(elbo)
            gradients = tape.gradient(loss, [self.params])
            self.optimizer.apply_gradients(zip(gradients, [self.params]))
        return tf.convert_to_tensor(self.params)

    def _check(self, x, params, seed):
        return elbo_of_params(self.model_ref(), x, params, seed, CHECK_SAMPLES)

    def run(self, x: tf.Tensor, seed, max_steps: int, tolerance: float):
        """Optimize each example's q from the better of two starts until its ELBO
        stops rising (see :func:`optimized_elbo`). Returns ``(params, converged,
        steps)`` for the rows of ``x``."""
        rows = int(tf.nest.flatten(x)[0].shape[0])
        # Pad a short last batch by repeating rows: each row has its own parameters
        # and gradient, so the copies change nothing; they are dropped after.
        padded = tf.nest.map_structure(lambda t: tf.gather(t, tf.range(self.batch_size) % rows), x)
        prior_seed, check_seed, seed = tf.unstack(tf.random.experimental.stateless_split(seed, 3))
        amortized = self.head_params(padded)
        # The prior's start is reached from all-zero parameters (a moderate q for the
        # usual heads), not from the encoder's: a scale 100x off is 60 units away in
        # the head's softplus parameter, thousands of Adam steps.
        self.reset(tf.zeros_like(amortized))
        matched = self.window(padded, prior_seed, 0, PRIOR_MATCH_STEPS, False)
        starts = tf.stack([amortized, matched])  # [2, B, P]
        start_elbo = tf.stack([self.check(padded, amortized, check_seed), self.check(padded, matched, check_seed)])
        start_elbo = tf.where(tf.math.is_nan(start_elbo), -np.inf, start_elbo)
        pick = tf.cast(start_elbo[1] > start_elbo[0], tf.int32)
        best = tf.gather(tf.transpose(starts, [1, 0, 2]), pick, batch_dims=1)
        self.reset(best)
        converged = np.zeros(self.batch_size, bool)
        quiet = np.zeros(self.batch_size, np.int64)  # consecutive windows without gain
        steps = np.zeros(self.batch_size, np.int64)
        done = 0
        while done < max_steps and not converged.all():
            num = min(WINDOW, max_steps - done)
            current = self.window(padded, seed, done, num, True)
            done += num
            steps[~converged] = done
            # The current and the best parameters on the same draws, fresh for each
            # window: fixed draws that favour one point would stop its search for good.
            window_seed = tf.random.experimental.stateless_fold_in(check_seed, done)
            elbo = self.check(padded, current, window_seed).numpy().astype(np.float64)
            best_elbo = self.check(padded, best, window_seed).numpy().astype(np.float64)
            gain = np.where(np.isfinite(elbo), elbo - best_elbo, -np.inf)
            improved = gain > 0
            best = tf.where(improved[:, None], current, best)
            # The relative rule: less than `tolerance` of |ELBO| (at least 1 nat's worth)
            # gained in PATIENCE windows running.
            quiet = np.where(gain <= tolerance * np.maximum(1.0, np.abs(best_elbo)), quiet + 1, 0)
            converged |= quiet >= PATIENCE
        return best[:rows], converged[:rows], steps[:rows]


def elbo_of_params(vae, x, params, seed, num_samples: int, path_derivative: bool = False,
                   with_likelihood: bool = True) -> tf.Tensor:
    """Monte Carlo ELBO per example of q = ``vae.posterior_layer.distribution(params)``.

    ``mean_m [log p(x|z_m) + log p(z_m) - log q(z_m)]`` over ``num_samples``
    reparameterized samples, ``(B,)``. With ``path_derivative`` the log q term sees
    the parameters through z only (Roeder et al., 2017), for optimization. Without
    the likelihood it is ``-KL(q || p(z))`` (estimated), whose maximum is the prior.
    ``x`` may be a conditioned batch ``{"x", "condition"}``: then the likelihood and
    the prior are p(x | z, c) and p(z | c).
    """
    if isinstance(x, dict):
        x = {"x": tf.cast(x["x"], tf.float32), "condition": x["condition"]}
        rows = tf.shape(x["x"])[0]
    else:
        x = tf.cast(x, tf.float32)
        rows = tf.shape(x)[0]
    tiled = lambda t: tf.reshape(  # noqa: E731  [B, ...] -> [M * B, ...]
        tf.broadcast_to(t[tf.newaxis], tf.concat([[num_samples], tf.shape(t)], 0)),
        tf.concat([[num_samples * rows], tf.shape(t)[1:]], 0),
    )
    # A model whose q is not one head's distribution (HierarchicalVAE) rebuilds it itself.
    distribution = getattr(vae, "posterior_from_parameters", None) or vae.posterior_layer.distribution
    params = tiled(params)
    z = tf.cast(distribution(params).sample(seed=seed), tf.float32)
    q = distribution(tf.stop_gradient(params) if path_derivative else params)
    log_q = tf.reshape(tf.cast(q.log_prob(z), tf.float32), [num_samples, rows])
    # The M samples' likelihoods are scored against one copy of x.
    log_px, log_pz = vae.joint_log_prob(x, tf.reshape(z, [num_samples, rows, vae.latent_dim]))
    if not with_likelihood:
        log_px = tf.zeros_like(log_pz)
    return tf.reduce_mean(log_weights(log_px, log_pz, log_q), axis=0)
