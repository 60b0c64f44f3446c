"""Importance-sampled log p(x) with one set of noise shared by every example.

``evaluation.log_likelihood`` draws fresh samples for each batch, so an example's
estimate depends on what it is batched with. The exported ``score`` signature must
be a deterministic function of x alone, so it reparameterizes every example's
q(z|x) with the *same* K standard-normal draws ``eps`` (``[K, latent_dim]``, fixed at
export): ``z_k = loc + scale * eps_k`` for a diagonal Gaussian, the bijector applied
to that for a flow or a full-covariance Gaussian. These are exactly the draws
``q.sample(K, seed)`` makes for a batch of one example, so for every example ``x_i``::

    shared_noise_log_likelihood(vae, x, K, seed=s)[i]
        == vae.log_likelihood(x[i:i + 1], num_samples=K, seed=s)[0]

up to float32 rounding (the log-weights are the same function,
``objectives._log_weights``). Across examples the estimates share their noise
(common random numbers), which is what a threshold or a ranking of examples wants.

Example:
    >>> import numpy as np, keras_vae as kv
    >>> from keras_vae.evaluation.shared_noise import shared_noise_log_likelihood
    >>> vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(8,), seed=0)
    >>> x = np.random.default_rng(0).integers(0, 2, (4, 8)).astype("float32")
    >>> alone = shared_noise_log_likelihood(vae, x[:1], num_samples=16, seed=3)
    >>> batched = shared_noise_log_likelihood(vae, x, num_samples=16, seed=3)
    >>> bool(np.allclose(alone[0], batched[0], atol=1e-4))
    True
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf
from tensorflow_probability import distributions as tfd

from keras_vae import _seeds
from keras_vae._random import INT32_MAX
from keras_vae.objectives._log_weights import importance_bound, log_weights
from keras_vae.objectives.kl import kl_divergence

__all__ = ["noise_seed", "standard_noise", "noise_layout", "normal_stream", "stream_noise",
           "reparameterize", "shared_noise_scores", "shared_noise_log_likelihood"]


def noise_seed(seed: int) -> np.ndarray:
    """The stateless seed (int32 ``[2]``) of the shared draws for an int ``seed``:
    the seed ``evaluation.log_likelihood(..., seed=seed)`` gives its first batch."""
    base = tf.constant([int(seed) % INT32_MAX, _seeds.LOG_LIKELIHOOD], tf.int32)
    with tf.init_scope():
        return tf.random.experimental.stateless_fold_in(base, 0).numpy().astype(np.int32)


def standard_noise(num_samples: int, latent_dim: int, seed: int) -> np.ndarray:
    """``eps``: ``[num_samples, latent_dim]`` float32 standard-normal draws from ``seed``."""
    with tf.init_scope():
        return tf.random.stateless_normal(
            [int(num_samples), int(latent_dim)], seed=noise_seed(seed)
        ).numpy()


@tf.autograph.experimental.do_not_convert
def noise_layout(q) -> str | None:
    """How ``q.sample`` lays out its standard-normal draws, or ``None`` if
    :func:`reparameterize` does not take ``q``.

    ``"BL"``: a ``[K, B, L]`` draw (``Independent(Normal)``, and a flow of it);
    ``"LB"``: a ``[K, L, B]`` draw moved to ``[K, B, L]`` (``Sample(Normal)``, the base
    of a full-covariance Gaussian). Either way the draws of sample ``k`` are the
    ``B * L`` numbers after the first ``k * B * L`` of the stateless stream, which is
    what lets :func:`normal_stream` produce any range of samples on its own.
    """
    if isinstance(q, tfd.TransformedDistribution):
        return noise_layout(q.distribution)
    if isinstance(q, (tfd.Independent, tfd.Sample)) and isinstance(q.distribution, tfd.Normal):
        if q.distribution.dtype != tf.float32:
            return None
        rank = q.distribution.batch_shape.rank
        if q.event_shape.rank != 1 or q.batch_shape.rank != 1:
            return None
        if isinstance(q, tfd.Independent):
            return "BL" if rank == 2 else None
        return "LB" if rank == 1 else None
    return None


def normal_stream(seed: tf.Tensor, start: tf.Tensor, size: int) -> tf.Tensor:
    """``size`` float32 standard-normal numbers: elements ``[start, start + size)`` of
    the stream ``tf.random.stateless_normal([n], seed)`` makes (for any ``n`` past
    them), without drawing the ones before ``start``.

    TensorFlow's Philox generator (the one stateless ops choose on CPU and GPU) makes
    four float32 normals per step of its 128-bit counter, so the stream is resumed by
    advancing the counter ``start // 4`` steps and dropping ``start % 4`` numbers.

    Args:
        seed: an int32 ``[2]`` stateless seed.
        start: int64 scalar, the index of the first number.
        size: how many (an int or an int32 scalar).

    Example:
        >>> seed = tf.constant([1, 2], tf.int32)
        >>> whole = tf.random.stateless_normal([10], seed)
        >>> bool(tf.reduce_all(normal_stream(seed, tf.constant(3, tf.int64), 5) == whole[3:8]))
        True
    """
    key, counter, alg = tf.raw_ops.StatelessRandomGetKeyCounterAlg(seed=seed)
    start = tf.cast(start, tf.int64)
    steps = tf.cast(start // 4, tf.uint64)
    skip = tf.cast(start % 4, tf.int32)
    low = counter[0] + steps
    high = counter[1] + tf.cast(low < counter[0], tf.uint64)  # the carry
    draws = tf.raw_ops.StatelessRandomNormalV2(
        shape=tf.reshape(size + skip, [1]), key=key, counter=tf.stack([low, high]), alg=alg, dtype=tf.float32
    )
    return draws[skip:]


def stream_noise(seed: tf.Tensor, first: tf.Tensor, num_samples: int, rows: tf.Tensor,
                 latent_dim: int, layout: str) -> tf.Tensor:
    """``eps`` ``[num_samples, rows, latent_dim]`` for samples ``first ..
    first + num_samples - 1`` of ``q.sample(K, seed)`` (for any ``K`` past them), ``q``
    a posterior over ``rows`` examples whose :func:`noise_layout` is ``layout``: the
    very draws ``q.sample`` makes, one block at a time. :func:`reparameterize` turns
    them into the samples."""
    per_sample = tf.cast(rows, tf.int64) * latent_dim
    size = num_samples * tf.cast(per_sample, tf.int32)
    flat = normal_stream(seed, tf.cast(first, tf.int64) * per_sample, size)
    if layout == "BL":
        return tf.reshape(flat, [num_samples, rows, latent_dim])
    return tf.transpose(tf.reshape(flat, [num_samples, latent_dim, rows]), [0, 2, 1])


def reparameterize(q, eps: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """z ``[K, B, L]`` and ``log q(z|x)`` ``[K, B]`` from standard-normal noise: ``eps``
    ``[K, L]`` (the same draws for every example, as the ``score`` signature uses) or
    ``[K, B, L]`` (each example its own, as ``q.sample`` draws them).

    Takes what a posterior's ``q.sample`` is made of in TFP: ``Independent(Normal)``,
    ``Sample(Normal)`` and a ``TransformedDistribution`` of either (a flow, a
    full-covariance Gaussian). ``log q`` comes from the change of variables, so a
    flow is never inverted.

    Raises:
        ValueError: for any other distribution (it names the class).
    """
    eps = tf.cast(eps, tf.float32)
    if eps.shape.rank == 2:
        eps = eps[:, tf.newaxis, :]  # [K, 1, L], broadcast over B
    return _reparameterize(q, eps)


def _reparameterize(q, eps: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    if isinstance(q, tfd.TransformedDistribution):
        base_z, base_log_q = _reparameterize(q.distribution, eps)
        z = q.bijector.forward(base_z)
        log_det = q.bijector.forward_log_det_jacobian(base_z, event_ndims=1)
        return z, base_log_q - tf.cast(log_det, tf.float32)
    if isinstance(q, tfd.Independent) and isinstance(q.distribution, tfd.Normal):
        normal = q.distribution
        z = tf.cast(normal.loc, tf.float32) + tf.cast(normal.scale, tf.float32) * eps
    elif isinstance(q, tfd.Sample) and isinstance(q.distribution, tfd.Normal):
        normal = q.distribution
        loc = tf.cast(normal.loc, tf.float32)[..., tf.newaxis]
        z = loc + tf.cast(normal.scale, tf.float32)[..., tf.newaxis] * eps
    else:
        raise ValueError(
            f"the posterior's distribution {type(q).__name__} cannot be drawn from shared "
            "standard-normal noise: the fixed-noise score takes Independent(Normal), "
            "Sample(Normal) and TransformedDistributions (flows) of them."
        )
    return z, tf.cast(q.log_prob(z), tf.float32)


def shared_noise_scores(vae, x: tf.Tensor, eps: tf.Tensor, condition=None) -> dict[str, tf.Tensor]:
    """Per-example scores (float32 ``[B]``) of a prepared batch under the shared
    noise ``eps`` (``[K, L]``), in one batched pass (``K * B`` decoder rows):

    * ``log_px``: ``log (1/K) sum_k w_k``, the importance-weighted estimate of log p(x);
    * ``reconstruction_log_prob``: ``(1/K) sum_k log p(x|z_k)``;
    * ``kl``: ``KL(q(z|x) || p(z))``, analytic where TFP registers it (the VAE's
      ``kl`` setting), else the mean of ``log q - log p`` over the K samples;
    * ``elbo``: ``reconstruction_log_prob - kl``.

    A conditioned model takes its (prepared) ``condition``: every density is then
    the one given c.
    """
    x = tf.cast(x, tf.float32)
    given = {} if condition is None else {"condition": condition}
    q = vae.posterior_layer.distribution(vae.posterior_parameters(x, training=False, **given))
    z, log_qz = reparameterize(q, eps)
    prior = vae.prior(training=False, **given)
    log_px, log_pz = vae.joint_log_prob(x, tf.cast(z, tf.float32), prior=prior, **given)
    reconstruction = tf.reduce_mean(log_px, axis=0)
    kl = tf.reduce_mean(log_qz - log_pz, axis=0)  # Monte Carlo, as Terms.kl
    if vae.kl_method != "mc":
        try:
            kl = tf.cast(kl_divergence(q, prior, method="analytic"), tf.float32)
        except ValueError:
            if vae.kl_method == "analytic":
                raise
    return {
        "log_px": importance_bound(log_weights(log_px, log_pz, log_qz), axis=0),
        "elbo": reconstruction - kl,
        "reconstruction_log_prob": reconstruction,
        "kl": kl,
    }


def shared_noise_log_likelihood(vae, x, num_samples: int = 64, seed: int | None = None,
                                batch_size: int = 256, condition=None) -> np.ndarray:
    """Importance-sampled log p(x) per example (float64 ``(N,)``, nats) with the same
    K draws for every example: what the exported ``score`` signature returns as
    ``log_px`` (its ``seed`` is the model's ``seed``); for a conditioned model
    log p(x | c), each example given its own ``condition``.

    Args:
        vae: a built :class:`keras_vae.VAE`.
        x: an array ``(N, *data_shape)``.
        num_samples: K.
        seed: int; default the VAE's own ``seed``.
        batch_size: examples per pass (memory only: the result does not depend on it).
        condition: a conditioned model's conditions, one per example (checked
            before anything runs; refused for an unconditioned model).
    """
    from keras_vae.evaluation._common import checked_condition

    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) or num_samples < 1:
        raise ValueError(f"num_samples must be an integer >= 1, got {num_samples!r}.")
    x, condition = checked_condition(vae, x, condition, "shared_noise_log_likelihood")
    seed = vae.seed if seed is None else seed
    eps = tf.constant(standard_noise(num_samples, vae.latent_dim, seed))
    out = []
    for i in range(0, len(x), batch_size):
        given = {} if condition is None else {"condition": vae.prepare_condition(condition[i : i + batch_size])}
        out.append(shared_noise_scores(vae, vae.prepare(x[i : i + batch_size]), eps, **given)["log_px"].numpy())
    return np.concatenate(out).astype(np.float64) if out else np.zeros((0,), np.float64)
