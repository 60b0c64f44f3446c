"""Importance-sampled log-likelihood (Burda et al., 2015) and bits per dimension.

Example:
    >>> import numpy as np, keras_vae as kv
    >>> from keras_vae import evaluation
    >>> vae = kv.VAE(encoder=kv.encoders.MLPEncoder([16]), decoder=kv.decoders.MLPDecoder([16]),
    ...              latent_dim=2, input_shape=(8,), seed=0)
    >>> x = np.random.default_rng(0).integers(0, 2, (5, 8)).astype("float32")
    >>> evaluation.log_likelihood(vae, x, num_samples=100, seed=0).shape
    (5,)
"""
from __future__ import annotations

import math
import random
import time

import numpy as np
import tensorflow as tf

from keras_vae import _seeds, _xla
from keras_vae.evaluation._common import (
    _INT32_MAX,
    _as_array,
    _batches,
    _check_positive,
    _num_examples,
    check_jit_compile,
    traced,
)
from keras_vae.evaluation.shared_noise import noise_layout, reparameterize, stream_noise
from keras_vae.objectives._log_weights import log_weights

_LL_STREAM = _seeds.LOG_LIKELIHOOD
# Budgets, in float32 elements. The default batch holds at most this many latent
# numbers over its K samples (K * batch * latent_dim); they are never all in memory
# at once, but a batch is one call, so this bounds its work and sets the batching.
_SAMPLE_BUDGET = 2**25
# One chunk's decoder output (chunk * batch * data size) or latents (chunk * batch
# * latent_dim), whichever is larger: what the estimator holds at any time.
_CHUNK_BUDGET = 2**22
# And at most this many decoder rows (chunk * batch): a model with few numbers per
# example (small data, small latent) still holds a dozen such tensors per chunk
# (noise, samples, hidden layers, densities), each as wide as its layer.
_CHUNK_ROWS = 2**16

# How a chunk of samples is scored: all of it compiled with XLA, none of it, or the
# likelihood's log_prob alone (the decoder on TensorFlow's own kernels).
WHOLE, PLAIN, LIKELIHOOD = "whole", "plain", "likelihood"


def _fold(model_ref, mode: str, chunk: int):
    # One call per batch of examples, the loop over its chunks of samples inside the
    # graph: no Python round trip per chunk, and nothing larger than one chunk is ever
    # held, so memory does not grow with K. The likelihood's element-wise tail (the
    # density at every data element and its sum) is where XLA pays: fused, it is one
    # pass over each chunk's [chunk * batch, D] decoder output instead of a dozen
    # (benchmarks/log_likelihood.py measures the modes). The samples are always drawn
    # outside XLA (whose Philox differs from TensorFlow's), so every mode scores the
    # same samples.
    log_prob = None
    if mode == LIKELIHOOD:
        log_prob = tf.function(model_ref().likelihood_layer.log_prob, jit_compile=True, reduce_retracing=True)

    @tf.function(reduce_retracing=True)
    def fold(x, seed, num_samples):
        """log sum_k w_k (float64 ``[batch]``) over ``num_samples`` importance samples
        of the batch ``x``, drawn from the stateless ``seed`` and scored ``chunk`` at a
        time; each chunk's log-weights are folded into a running log-sum-exp. The last
        chunk is filled up with further draws of the same stream, whose log-weights
        are set to -inf (weight 0), whatever the model computes at them."""
        vae = model_ref()
        x = vae.prepare(x)
        q = vae.posterior(x, training=False)
        prior = vae.prior(training=False)  # built once (a VampPrior runs the encoder)
        rows = tf.shape(x)[0]
        layout = noise_layout(q)

        def score(z, log_q):
            log_px, log_prior = vae.joint_log_prob(x, z, prior=prior, log_prob=log_prob)  # [chunk, batch] each
            return log_weights(log_px, log_prior, log_q)

        if mode == WHOLE:
            score = tf.function(score, jit_compile=True)

        def draw(i):
            if layout is None:  # a posterior TFP samples some other way: its own sample()
                z = q.sample(chunk, seed=tf.random.experimental.stateless_fold_in(seed, tf.cast(i, tf.int32)))
                return z, q.log_prob(z)  # at the very samples (a flow reads its bijector cache)
            # The draws q.sample(K, seed) makes, chunk i's share of them alone.
            eps = stream_noise(seed, i * chunk, chunk, rows, vae.latent_dim, layout)
            return reparameterize(q, eps)

        def body(i, running):
            z, log_q = draw(i)
            log_w = tf.cast(score(tf.cast(z, tf.float32), tf.cast(log_q, tf.float32)), tf.float64)
            real = i * chunk + tf.range(chunk, dtype=tf.int64) < num_samples  # False past K
            log_w = tf.where(real[:, None], log_w, tf.constant(-np.inf, tf.float64))
            chunk_sum = tf.reduce_logsumexp(log_w, axis=0)
            return i + 1, tf.reduce_logsumexp(tf.stack([running, chunk_sum]), axis=0)

        n = (num_samples + chunk - 1) // chunk
        running = tf.fill([rows], tf.constant(-np.inf, tf.float64))
        # One chunk at a time (parallel iterations would hold several chunks at once).
        _, running = tf.while_loop(
            lambda i, _: i < n, body, (tf.constant(0, tf.int64), running), parallel_iterations=1
        )
        return running

    return fold


def log_likelihood(
    vae,
    x,
    num_samples: int = 5000,
    batch_size: int | None = None,
    chunk_size: int | None = None,
    seed: int | None = None,
    return_bits_per_dim: bool = False,
    verbose: int = 0,
    jit_compile: bool | str = "auto",
):
    """Importance-sampled estimate of log p(x) per example (Burda et al., 2015).

    With ``z_1..z_K ~ q(z|x)``::

        log p^(x) = log (1/K) sum_k exp(log p(x|z_k) + log p(z_k) - log q(z_k|x))

    a lower bound of log p(x) in expectation that rises with K to log p(x) (K = 1
    gives the ELBO).

    Memory does not grow with K: the estimator streams. Examples are processed in
    batches; for each batch one graph loops over chunks of ``chunk_size`` samples,
    drawing a chunk, decoding it and folding its log-weights into a running
    log-sum-exp (float64), so only one chunk is ever held, for any K. The draws are
    those ``q.sample(K, seed)`` would make for the whole batch at once, taken a chunk
    at a time from the same stateless stream (for the built-in posteriors: diagonal
    and full-covariance Gaussians and flows of them; another posterior's chunks are
    drawn by its own ``sample`` from seeds folded per chunk). The chunk size therefore
    changes only the memory used, never the samples: results for any ``chunk_size``
    agree up to rounding, and equal a ``logsumexp`` of the same log-weights. The
    samples of batch ``b`` come from the stateless seed ``fold_in(seed, b)``, so a
    fixed ``seed`` and ``batch_size`` give identical results on every run.

    Args:
        vae: a built :class:`keras_vae.VAE`.
        x: data, an array of shape ``(N, *data_shape)`` or a batched
            ``tf.data.Dataset`` (of x or ``(x, ...)``).
        num_samples: K, importance samples per example (5000 is the standard for
            MNIST results).
        batch_size: examples per batch (one call); by default as many as keep
            ``K * batch * latent_dim`` under 2**25 (the work of one call, not memory).
        chunk_size: samples decoded at once; by default as many as keep one
            chunk's decoder output (or latents) under 2**22 float32 numbers (16 MB;
            small chunks stay in cache; ``benchmarks/log_likelihood.py
            --chunk-size N`` times other sizes).
        seed: int for reproducible estimates (random when ``None``).
        return_bits_per_dim: also return ``-log p^(x) / (D ln 2)``, D the number of
            data dimensions.
        verbose: 1 prints progress per batch.
        jit_compile: where XLA is used. ``"auto"``: for the likelihood's
            ``log_prob`` alone, which XLA fuses into one pass over the decoder's
            output, while the decoder runs on TensorFlow's own matrix-product and
            convolution kernels (faster than XLA's on a CPU); the rule is
            ``keras_vae._xla.likelihood_compiles`` (a keras_vae or Keras likelihood
            head, float32). ``True``: the scoring of each chunk (decoder, likelihood,
            prior) under XLA; ``False``: none. The samples are drawn outside XLA in
            every mode, so the estimate is the same up to float32 rounding.

    Returns:
        float64 array ``(N,)`` of log p^(x) in nats, or ``(log_px, bits_per_dim)``.

    Example:
        >>> ll = vae.log_likelihood(x_test, num_samples=5000, seed=0)  # doctest: +SKIP
        >>> print(f"test NLL: {-ll.mean():.2f} nats")                      # doctest: +SKIP
    """
    num_samples = _check_positive(num_samples, "num_samples", allow_none=False)
    batch_size = _check_positive(batch_size, "batch_size")
    chunk_size = _check_positive(chunk_size, "chunk_size")
    if not isinstance(x, tf.data.Dataset):
        x = _as_array(vae, x)
    else:
        vae.check_data(x)
    if vae.data_shape is None:
        raise ValueError("The VAE is not built; give it input_shape= or data first.")
    dims = math.prod(vae.data_shape)
    n = _num_examples(x)
    if batch_size is None:
        batch_size = max(1, _SAMPLE_BUDGET // (num_samples * vae.latent_dim))
        if n:
            batch_size = min(batch_size, n)
    if seed is None:
        seed = random.randint(0, _INT32_MAX - 1)
    base = tf.constant([int(seed) % _INT32_MAX, _LL_STREAM], tf.int32)
    check_jit_compile(jit_compile)
    if jit_compile == "auto":
        mode = LIKELIHOOD if _xla.likelihood_compiles(vae) else PLAIN
    else:
        mode = WHOLE if _xla.resolve(vae, jit_compile) else PLAIN
    log_k = math.log(num_samples)

    # Numbers per sample of one example in a chunk: the decoder's output (num_params
    # per data element) or the latents, whichever is larger.
    per_sample = max(dims * int(getattr(vae.likelihood_layer, "num_params", 1)), vae.latent_dim)
    results = []
    start = time.perf_counter()
    n_batches = None if n is None else -(-n // batch_size)
    for index, batch in enumerate(_batches(vae, x, batch_size)):
        batch = tf.convert_to_tensor(batch)
        rows = int(batch.shape[0])
        if rows == 0:
            continue
        # Sized for the full batch size (or a larger dataset batch), so a short last
        # batch reuses the same traced function.
        width = max(rows, batch_size)
        chunk = chunk_size or max(1, min(_CHUNK_BUDGET // (width * per_sample), _CHUNK_ROWS // width))
        chunk = min(chunk, num_samples)
        fold = traced(vae, ("log_likelihood.fold", mode, chunk), lambda ref: _fold(ref, mode, chunk))
        seed_b = tf.random.experimental.stateless_fold_in(base, index)
        running = fold(batch, seed_b, tf.constant(num_samples, tf.int64))
        results.append(running.numpy() - log_k)
        if verbose:
            done = sum(len(r) for r in results)
            total = f"/{n}" if n is not None else ""
            print(
                f"log_likelihood: batch {index + 1}{'/' + str(n_batches) if n_batches else ''}, "
                f"{done}{total} examples, K={num_samples}, "
                f"{time.perf_counter() - start:.1f}s",
                flush=True,
            )
    log_px = np.concatenate(results) if results else np.zeros((0,), np.float64)
    if return_bits_per_dim:
        return log_px, bits_per_dim(log_px, dims)
    return log_px


def bits_per_dim(log_px, num_dims: int) -> np.ndarray:
    """``-log p(x) / (D ln 2)``: negative log-likelihood in bits per data dimension.

    Example:
        >>> float(bits_per_dim(np.array([-784 * np.log(2)]), 784)[0])
        1.0
    """
    return -np.asarray(log_px, np.float64) / (int(num_dims) * math.log(2.0))

