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

from keras_vae.objectives._log_weights import log_weights

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

_LL_STREAM = _seeds.LOG_LIKELIHOOD
# Memory budgets, in float32 elements: all K latent samples of one batch of
# examples (K * batch * latent_dim), and one chunk's decoder output
# (chunk * batch * data size).
_SAMPLE_BUDGET = 2**25
_CHUNK_BUDGET = 2**22


def _draw(model_ref):
    @tf.function(reduce_retracing=True)
    def draw(x, seed, num_samples):
        """One block of importance samples: z ``[k, batch, latent]`` and
        ``log q(z|x)`` ``[k, batch]``, evaluated at the very samples drawn (a flow
        posterior reads it from its bijector cache instead of inverting the flow)."""
        vae = model_ref()
        q = vae.posterior(vae.prepare(x), training=False)
        z = q.sample(num_samples, seed=seed)
        return tf.cast(z, tf.float32), tf.cast(q.log_prob(z), tf.float32)

    return draw


# How a block of samples is scored: all of it compiled with XLA, none of it, or the
# likelihood's log_prob alone (the decoder on TensorFlow's own kernels).
WHOLE, PLAIN, LIKELIHOOD = "whole", "plain", "likelihood"


def _fold(model_ref, mode: str, chunk: int):
    # One call per block of samples, the loop over its chunks inside the graph: no
    # Python round trip and no eager slicing per chunk. The likelihood's element-wise
    # tail (the density at every data element and its sum) is where XLA pays: fused,
    # it is one pass over each chunk's [chunk * batch, D] decoder output instead of a
    # dozen (benchmarks/log_likelihood.py measures the modes).
    log_prob = None
    if mode == LIKELIHOOD:
        log_prob = tf.function(model_ref().likelihood_layer.log_prob, jit_compile=True, reduce_retracing=True)

    @tf.function(reduce_retracing=True, jit_compile=mode == WHOLE)
    def fold(x, z, log_q, running):
        """Fold a block of samples (z ``[k, batch, latent]``, log q ``[k, batch]``)
        into the running log-sum-exp of the weights, ``chunk`` samples at a time.
        The block is padded to whole chunks; the padded samples' log-weights are
        set to -inf (weight 0), whatever the model computes at them."""
        vae = model_ref()
        prior = vae.prior(training=False)  # built once (a VampPrior runs the encoder)
        k = tf.shape(z)[0]
        n = (k + chunk - 1) // chunk
        pad = n * chunk - k
        # Padded with copies of the first samples: points the model handles.
        z = tf.concat([z, z[:pad]], 0)
        log_q = tf.concat([log_q, log_q[:pad]], 0)
        z = tf.reshape(z, tf.concat([[n, chunk], tf.shape(z)[1:]], 0))
        log_q = tf.reshape(log_q, tf.concat([[n, chunk], tf.shape(log_q)[1:]], 0))

        def body(i, running):
            log_px, log_prior = vae.joint_log_prob(x, z[i], prior=prior, log_prob=log_prob)  # [chunk, batch] each
            log_w = log_weights(log_px, log_prior, log_q[i])
            real = i * chunk + tf.range(chunk) < k  # False for the padding
            log_w = tf.where(real[:, None], log_w, tf.constant(-np.inf, log_w.dtype))
            return i + 1, tf.reduce_logsumexp(tf.stack([running, tf.reduce_logsumexp(log_w, axis=0)]), axis=0)

        _, running = tf.while_loop(lambda i, _: i < n, body, (tf.constant(0), running))
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
    gives the ELBO). Memory stays bounded for large K: examples are processed in
    batches; for each batch all K latent samples are drawn at once (``K * batch *
    latent_dim`` numbers, in blocks when that exceeds ~128 MB), then decoded in chunks of ``chunk_size`` samples whose
    log-weights are folded into a running ``tf.reduce_logsumexp``. The chunk size
    therefore changes only the memory used, never the samples: results for any
    ``chunk_size`` agree up to float32 rounding. The samples of batch ``b`` come from
    the stateless seed ``fold_in(seed, b)``, so a fixed ``seed`` and ``batch_size``
    give identical results on every run.

    Args:
        vae: a built :class:`keras_vae.VAE`.
        x: data, an array of shape ``(N, *data_shape)`` or a batched
            ``tf.data.Dataset`` (of x or ``(x, ...)``).
        num_samples: K, importance samples per example (5000 is the standard for
            MNIST results).
        batch_size: examples per batch; by default as many as keep the K samples
            of a batch under ~128 MB.
        chunk_size: samples decoded at once; by default as many as keep one
            chunk's decoder output under ~16 MB (small chunks stay in cache;
            measured fastest on CPU).
        seed: int for reproducible estimates (random when ``None``).
        return_bits_per_dim: also return ``-log p^(x) / (D ln 2)``, D the number of
            data dimensions.
        verbose: 1 prints progress per batch.
        jit_compile: where XLA is used. ``"auto"``: for the likelihood's
            ``log_prob`` alone, which XLA fuses into one pass over the decoder's
            output, while the decoder runs on TensorFlow's own matrix-product and
            convolution kernels (faster than XLA's on a CPU); the rule is
            ``keras_vae._xla.likelihood_compiles`` (a keras_vae or Keras likelihood
            head, float32). ``True``: the whole computation of a block of samples
            under XLA; ``False``: none. The estimate is the same up to float32
            rounding.

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
    draw = traced(vae, "log_likelihood.draw", _draw)
    log_k = math.log(num_samples)

    # The decoder's output holds num_params numbers per data element.
    params_per_example = dims * int(getattr(vae.likelihood_layer, "num_params", 1))
    results = []
    start = time.perf_counter()
    n_batches = None if n is None else -(-n // batch_size)
    for index, batch in enumerate(_batches(vae, x, batch_size)):
        batch = tf.convert_to_tensor(batch)
        rows = int(batch.shape[0])
        if rows == 0:
            continue
        # Checked once by draw (vae.prepare); the chunks take it as float32.
        prepared = vae.to_model_units(tf.cast(batch, tf.float32))
        # Sized for the full batch size (or a larger dataset batch), so a short last
        # batch reuses the same traced function.
        chunk = chunk_size or max(1, min(num_samples, _CHUNK_BUDGET // (max(rows, batch_size) * params_per_example)))
        seed_b = tf.random.experimental.stateless_fold_in(base, index)
        # Samples are drawn in blocks that fit the sample budget, so memory stays
        # bounded for any K; the block size depends only on the batch, never on
        # chunk_size (which therefore changes memory use only, not the samples).
        block = max(1, min(num_samples, _SAMPLE_BUDGET // (rows * vae.latent_dim)))
        running = tf.fill([rows], tf.constant(-np.inf, tf.float32))
        for block_index, b0 in enumerate(range(0, num_samples, block)):
            size = min(block, num_samples - b0)
            seed_block = seed_b if block_index == 0 else tf.random.experimental.stateless_fold_in(seed_b, block_index)
            z, log_q = draw(batch, seed_block, tf.constant(size, tf.int32))
            fold = traced(vae, ("log_likelihood.fold", mode, min(chunk, size)), lambda ref: _fold(ref, mode, min(chunk, size)))
            running = fold(prepared, z, log_q, running)
        results.append(running.numpy().astype(np.float64) - log_k)
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

