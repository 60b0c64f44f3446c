"""Export a trained VAE as a TensorFlow SavedModel that TF Serving can serve.

``export_vae(vae, "models/vae")`` writes ``models/vae/<version>/`` with five
signatures, plus ``serving_default``:

==============  ===================================  =====================================
signature       inputs                               outputs (all float32)
==============  ===================================  =====================================
``encode``      ``x``: (batch, *data_shape) float32  the posterior's natural parameters
                                                     (``mean``, ``stddev`` for the diagonal
                                                     Gaussian; ``point``, the posterior's
                                                     representative z, when it has no
                                                     natural_parameters)
                                                     and ``z``: one sample of q(z|x),
                                                     fresh noise on every call
``decode``      ``z``: (batch, latent_dim) float32   ``x_mean`` (mean of p(x|z)) and
                                                     ``x_sample`` (a sample, fresh noise)
``reconstruct`` ``x``                                ``reconstruction``: mean of p(x|z) at
                                                     z = the posterior's point (its mean)
``sample``      ``seed``: (batch,) int64             ``x``: z ~ p(z), then the mean of
                                                     p(x|z); one example per seed
``score``       ``x``                                ``log_px`` (importance-weighted
                                                     log p(x), K = ``score_samples``),
                                                     ``elbo``, ``reconstruction_log_prob``,
                                                     ``kl``: per example, in nats
==============  ===================================  =====================================

Design decisions
----------------
* **Tooling.** The archive is built with ``keras.export.ExportArchive``: it tracks
  the model's variables and turns each endpoint into a signature, and it expresses
  everything needed here (named ``tf.TensorSpec`` inputs, dict outputs, several
  signatures). A bare ``tf.Module`` + ``tf.saved_model.save`` is not needed.
  ExportArchive traces with ``autograph=False``, so the endpoints use only TF ops
  (``tf.map_fn``, no Python control flow on tensors).
* **Nothing from keras_vae or TFP at serving time.** The TFP distributions are
  only used while tracing; the graph holds core TF ops and the model's variables.
* **serving_default = reconstruct.** It is what ``vae.predict`` / ``vae(x)`` return
  (the same numbers a Keras user already knows), it takes the model's natural input
  ``x``, and it is deterministic, so a client that names no signature gets a stable,
  cacheable answer. Pass ``serving_default="encode"`` (or any other signature) to
  change it.
* **Noise.** ``encode``'s ``z`` and ``decode``'s ``x_sample`` draw a fresh stateless
  seed on every call from a stateful random op whose op seeds are pinned to
  ``(0, 0)`` ("nondeterministic"): nothing is frozen in the graph, even if
  ``tf.random.set_seed`` / ``keras.utils.set_random_seed`` was called before export
  (a plain ``tf.random.uniform`` would then bake its op seed into the graph and every
  server restart would replay the same noise).
* **sample is a pure function of each seed.** Row ``i`` uses the stateless seed
  ``[seed_i mod (2**31 - 1), 3]``, the seed ``vae.sample(1, seed=seed_i)`` uses, so
  the exported ``sample`` reproduces ``vae.sample(1, seed=s)``. z is drawn per row
  (``tf.map_fn``), so a seed gives the same z whatever else is in the batch, in any
  process (Philox on CPU and GPU). Seeds congruent modulo ``2**31 - 1`` coincide.
* **score is the importance-weighted log p(x) with fixed noise.** ``log_px`` is
  ``log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x)`` with K = ``score_samples`` (64 by
  default), the estimate of ``vae.log_likelihood``, computed for the whole batch in
  one pass (``K * batch`` decoder rows, no per-row loop). Every row is reparameterized
  from the same K standard-normal draws, fixed at export from the model's ``seed``
  (``keras_vae.evaluation.shared_noise``), so ``score`` is a deterministic function
  of ``x`` alone: the same example gets the same score alone or in any batch, on
  every replica and after every restart. That is what thresholds (anomaly
  detection), caching and A/B comparisons need. Row i equals
  ``vae.log_likelihood(x[i:i+1], num_samples=K, seed=vae.seed)`` (the same draws);
  ``elbo`` / ``reconstruction_log_prob`` are K-sample averages under the same draws,
  and the KL is analytic where TFP registers it. The graph holds the draws as a
  constant: no random op.
* **Checks travel with the graph.** A client may feed any shape (TF Serving does
  not enforce the signature's), so ``encode``, ``reconstruct`` and ``score`` check
  the example shape in the graph, the model's own checks (NaN / inf, the
  likelihood's support) run inside it, and ``decode`` refuses NaN / inf latents: a
  bad request gets ``INVALID_ARGUMENT`` with a ``keras_vae:`` message, never a
  plausible-looking answer.
* **Atomic versions.** The SavedModel is written to a hidden temporary directory
  next to the version directory and renamed into place, so a TF Serving instance
  polling the base path never sees a half-written version; folders and files get the
  usual permissions (``0755`` / ``0644`` under umask 022) so a server running as
  another user can read them (``keras_vae.export.versions``).
"""
from __future__ import annotations

import warnings

import keras
import numpy as np
import tensorflow as tf

from keras_vae import _seeds
from keras_vae._random import fresh_seed
from keras_vae.evaluation import shared_noise
from keras_vae.export import versions, warmup as _warmup
from keras_vae.export._signature_parts import (
    _checked_input,
    _component,
    _ComponentTraceError,
    _f32,
    encode_outputs,
)

__all__ = ["export_vae"]

#: Bytes one input row of the served ``score`` may take (K decoded examples).
SCORE_MEMORY_BUDGET = 2 * 2**30

SIGNATURES = ("encode", "decode", "reconstruct", "sample", "score")



# ----------------------------------------------------------------- noise
def _score_seed(vae) -> np.ndarray:
    """The stateless seed of the ``score`` signature's draws (int32 ``[2]``): the
    seed ``vae.log_likelihood(x_i, seed=vae.seed)`` draws a single example with."""
    return shared_noise.noise_seed(vae.seed)


# ------------------------------------------------------------ endpoints
def _posterior_params(vae, x):
    x = _checked_input(x, vae.data_shape, "x")
    with _component("model input check (VAE.prepare)", vae):
        x = vae.prepare(x)
    with _component("encoder", vae.encoder):
        features = vae.encoder(vae.likelihood_layer.encoder_input(x), training=False)
    with _component("posterior", vae.posterior_layer):
        params = vae.posterior_layer(features, training=False)
    return x, params


def _likelihood(vae, z):
    with _component("decoder", vae.decoder):
        features = vae.decoder(z, training=False)
    with _component("likelihood", vae.likelihood_layer):
        params = vae.likelihood_layer(features, training=False)
        # In the user's units (a standardized model maps back).
        return vae.to_data_distribution(vae.likelihood_layer.distribution(params))


def _make_endpoints(vae, score_noise: np.ndarray) -> dict:
    latent_dim = vae.latent_dim
    posterior = vae.posterior_layer

    if getattr(vae, "condition_layer", None) is not None:
        from keras_vae.export._conditioned import conditioned_endpoints

        return conditioned_endpoints(vae, score_noise)

    def encode(x):
        _, params = _posterior_params(vae, x)
        return encode_outputs(posterior, params)

    def decode(z):
        z = _checked_input(z, [latent_dim], "z", finite=True)
        p = _likelihood(vae, _f32(z))
        with _component("likelihood", vae.likelihood_layer):
            return {"x_mean": _f32(p.mean()), "x_sample": _f32(p.sample(seed=fresh_seed()))}

    def reconstruct(x):
        _, params = _posterior_params(vae, x)
        with _component("posterior", posterior):
            z = _f32(posterior.point(params))
        p = _likelihood(vae, z)
        with _component("likelihood", vae.likelihood_layer):
            return {"reconstruction": _f32(p.mean())}

    def sample(seed):
        seeds = tf.reshape(tf.cast(seed, tf.int64), [-1])
        with _component("prior", vae.prior_layer):
            prior = vae.prior()
            # Each row's seed maps to a stateless seed exactly as in vae.sample(1, seed).
            z = tf.map_fn(
                lambda s: _f32(prior.sample(seed=vae.noise_seed(s, stream=_seeds.SAMPLE_Z))),
                seeds,
                fn_output_signature=tf.TensorSpec([latent_dim], tf.float32),
            )
        p = _likelihood(vae, z)
        with _component("likelihood", vae.likelihood_layer):
            return {"x": _f32(p.mean())}

    def score(x):
        x = _checked_input(x, vae.data_shape, "x")
        with _component("model input check (VAE.prepare)", vae):
            x = vae.prepare(x)
        with _component("score (posterior, decoder, likelihood, prior)", posterior):
            scores = shared_noise.shared_noise_scores(vae, x, tf.constant(score_noise))
        return {name: _f32(value) for name, value in scores.items()}

    x_spec = tf.TensorSpec((None, *vae.data_shape), tf.float32, name="x")
    return {
        "encode": (encode, [x_spec]),
        "decode": (decode, [tf.TensorSpec((None, latent_dim), tf.float32, name="z")]),
        "reconstruct": (reconstruct, [x_spec]),
        "sample": (sample, [tf.TensorSpec((None,), tf.int64, name="seed")]),
        "score": (score, [x_spec]),
    }


# ---------------------------------------------------------------- export
def _score_bytes_per_sample(vae) -> int:
    """Bytes the served ``score`` holds per importance sample of one row, roughly:
    the decoded example (its parameters, density and a copy), z with its densities,
    and the decoder's activations (the widths of its dense layers; a conv layer
    counted as one example-sized map)."""
    data_size = int(np.prod(vae.data_shape))
    hidden = 0
    for weight in vae.decoder.weights:
        shape = tuple(weight.shape)
        if len(shape) == 2:
            hidden += int(shape[-1])
        elif len(shape) >= 3:
            hidden += data_size
    return 4 * (3 * data_size + 4 * vae.latent_dim + hidden)


def export_vae(
    vae,
    path,
    version: int | None = None,
    warmup: bool | str = "auto",
    warmup_batch=None,
    overwrite: bool = False,
    serving_default: str = "reconstruct",
    score_samples: int = 64,
) -> str:
    """Write ``vae`` as a TF Serving SavedModel to ``<path>/<version>/``.

    Args:
        vae: a built ``keras_vae.VAE``.
        path: the model's base directory (the one TF Serving's ``--model_base_path``
            or ``/models/<name>`` points at). A path whose last component is an
            integer, e.g. ``"models/vae/3"``, is taken as the version directory when
            ``version`` is None.
        version: integer version; default one more than the highest existing
            version (1 for a new base directory), so the new export is the one TF
            Serving serves.
        warmup: ``"auto"`` writes ``assets.extra/tf_serving_warmup_requests`` when
            ``tensorflow-serving-api`` is installed; ``True`` asks for it (a warning
            if the package is missing); ``False`` skips it.
        warmup_batch: examples for the warm-up requests (default one all-zeros
            example); ``sample`` is warmed up with seeds ``0..n-1``.
        overwrite: replace an existing, non-empty version directory.
        serving_default: which signature also serves as ``serving_default``.
        score_samples: K, the importance samples of the ``score`` signature (its
            cost grows as ``K * batch`` decoder rows).

    Returns:
        The absolute path of the version directory written.

    Raises:
        ValueError: the model is not built; the version directory already holds a
            model (without ``overwrite``); ``path`` is itself a SavedModel; or a
            component cannot be traced (the message names signature and component).

    Example:
        >>> import os, tempfile, keras_vae as kv
        >>> from keras_vae.export import export_vae
        >>> vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(4,),
        ...              likelihood="gaussian")
        >>> base = tempfile.mkdtemp()
        >>> version_dir = export_vae(vae, base)
        >>> os.path.basename(version_dir), os.path.isfile(f"{version_dir}/saved_model.pb")
        ('1', True)
    """
    if getattr(vae, "data_shape", None) is None:
        raise ValueError(
            f"{getattr(vae, 'name', 'The VAE')} is not built, so the shape of the serving "
            "inputs is unknown. Build it before exporting: pass input_shape=... to VAE(), "
            "call vae.build((None, *example_shape)), or fit it on data first."
        )
    if serving_default not in SIGNATURES:
        raise ValueError(
            f"serving_default must be one of {SIGNATURES}, got {serving_default!r}."
        )
    if warmup not in (True, False, "auto"):
        raise ValueError(f"warmup must be True, False or 'auto', got {warmup!r}.")
    if isinstance(score_samples, bool) or not isinstance(score_samples, (int, np.integer)) or score_samples < 1:
        raise ValueError(
            f"score_samples must be an integer >= 1 (K, the importance samples of the "
            f"score signature), got {score_samples!r}; e.g. score_samples=64."
        )
    # The served score holds K decoded examples per input row: refuse a K whose one-row
    # request would not fit in memory, before anything is written.
    per_sample = _score_bytes_per_sample(vae)
    per_row = int(score_samples) * per_sample
    if per_row > SCORE_MEMORY_BUDGET:
        largest = SCORE_MEMORY_BUDGET // per_sample
        raise ValueError(
            f"score_samples={score_samples} would make the served score hold about "
            f"{per_row / 2**30:.1f} GiB per input row (K decoded examples of shape "
            f"{vae.data_shape}); the budget is {SCORE_MEMORY_BUDGET / 2**30:.0f} GiB. Use "
            f"score_samples <= {largest} (64 is the default; the Monte Carlo error of "
            "log p(x) shrinks slowly beyond a few thousand)."
        )
    base, version = versions._resolve_target(path, version, overwrite)
    warmup_inputs = _warmup._warmup_inputs(vae, warmup_batch) if warmup is not False else None
    write_warmup = False
    if warmup is not False:
        write_warmup = _warmup._serving_api_available()
        if not write_warmup and warmup is True:
            warnings.warn(
                "warmup=True but tensorflow-serving-api is not installed, so no warm-up "
                "requests were written. Install it with `pip install "
                "tensorflow-serving-api` (or keras-vae[serving]).",
                stacklevel=2,
            )

    archive = keras.export.ExportArchive()
    archive.track(vae)
    endpoints = _make_endpoints(
        vae, shared_noise.standard_noise(score_samples, vae.latent_dim, vae.seed)
    )
    # The serving_default signature is registered first: ExportArchive aliases the
    # first endpoint as serving_default, so it shares that function (no second graph).
    order = [serving_default] + [name for name in SIGNATURES if name != serving_default]
    for name in order:
        fn, signature = endpoints[name]
        try:
            traced = archive.add_endpoint(name, fn, input_signature=signature)
            traced.get_concrete_function()
        except _ComponentTraceError as err:
            raise ValueError(
                f"Cannot export the '{name}' signature: the {err.component} "
                f"({type(err.obj).__name__}) failed while being traced: "
                f"{type(err.error).__name__}: {err.error}. Exported components must run "
                "in a tf.function with autograph=False: no Python if/for/while on tensor "
                "values (use tf.cond, tf.where, tf.while_loop) and no numpy on tensors."
            ) from err.error
        except Exception as err:  # noqa: BLE001
            raise ValueError(
                f"Cannot export the '{name}' signature: tracing failed with "
                f"{type(err).__name__}: {err}"
            ) from err

    def write(staging: str) -> None:
        archive.write_out(staging, verbose=False)
        if write_warmup:
            _warmup._write_warmup(staging, warmup_inputs, serving_default)

    return versions.publish(base, version, write, overwrite)
