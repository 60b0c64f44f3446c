"""The TF Serving SavedModel of a hierarchical VAE.

Signatures (inputs are float32 batches; every output is float32):

=============== ===================== ==============================================
signature       inputs                outputs
=============== ===================== ==============================================
``encode``      ``x``                 ``z_1_mean`` .. ``z_L_mean`` (each group's mean
                                      given its parents' means) and ``z_1`` .. ``z_L``
                                      (one ancestral draw of q)
``decode``      ``z``: z_1 (conv      ``x_mean``, ``x_sample``
                hierarchy: all groups)
``reconstruct`` ``x``                 ``reconstruction``: mean of p(x | z = point)
``sample``      ``seed`` (int64, one  ``x``: the row ``vae.sample(1, seed)`` gives
                per example)
``score``       ``x``                 ``log_px``: importance-weighted log p(x) over all
                                      groups with ``score_samples`` draws of q (fixed
                                      noise: the same x always scores the same)
=============== ===================== ==============================================

``serving_default`` is ``reconstruct``. No warm-up records are written.

Example:
    >>> import tempfile, keras_vae as kv
    >>> h = kv.HierarchicalVAE(latent_dims=(3, 2), input_shape=(4,), seed=0,
    ...                        q_hidden=[[8], [8]], p_hidden=[[8], [8]])
    >>> h.export(tempfile.mkdtemp()).endswith("/1")
    True
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from keras_vae import _seeds
from keras_vae._random import fresh_seed
from keras_vae.export import versions
from keras_vae.export._signature_parts import _checked_input

SIGNATURES = ("encode", "decode", "reconstruct", "sample", "score")


def _endpoints(model, score_samples: int) -> dict:
    total = model.latent_dim
    score_seed = tf.constant([model.seed % (2**31 - 1), _seeds.LOG_LIKELIHOOD], tf.int32)

    def prepared(x):
        return model.prepare(_checked_input(x, model.data_shape, "x"))

    def encode(x):
        q = model._posterior_chain(prepared(x), False)
        outputs = {f"z_{g + 1}_mean": tf.cast(m, tf.float32) for g, m in enumerate(q.point())}
        _, groups, _ = q.sample_with_parts((), seed=fresh_seed())
        outputs.update({f"z_{g + 1}": tf.cast(z, tf.float32) for g, z in enumerate(groups)})
        return outputs

    def decode(z):
        z = _checked_input(z, [model.decode_width], "z", finite=True)
        p = model.likelihood_layer.distribution(model._likelihood_params(z, False))
        return {"x_mean": tf.cast(p.mean(), tf.float32), "x_sample": tf.cast(p.sample(seed=fresh_seed()), tf.float32)}

    def reconstruct(x):
        z = tf.concat(model._posterior_chain(prepared(x), False).point(), axis=-1)
        p = model.likelihood_layer.distribution(model._likelihood_params(z, False))
        return {"reconstruction": tf.cast(p.mean(), tf.float32)}

    def sample(seed):
        seeds = tf.reshape(tf.cast(seed, tf.int64), [-1])
        prior = model._prior_chain(False)
        z = tf.map_fn(
            lambda s: tf.cast(prior.sample(seed=model.noise_seed(s, stream=_seeds.SAMPLE_Z)), tf.float32),
            seeds,
            fn_output_signature=tf.TensorSpec([total], tf.float32),
        )
        p = model.likelihood_layer.distribution(model._likelihood_params(z, False))
        return {"x": tf.cast(p.mean(), tf.float32)}

    def score(x):
        x = prepared(x)
        q = model._posterior_chain(x, False)
        z = q.sample(score_samples, seed=score_seed)
        log_px, log_pz = model.joint_log_prob(x, z)
        log_w = log_px + log_pz - q.log_prob(z)
        return {"log_px": tf.reduce_logsumexp(log_w, axis=0) - tf.math.log(float(score_samples))}

    x_spec = tf.TensorSpec((None, *model.data_shape), tf.float32, name="x")
    return {
        "reconstruct": (reconstruct, [x_spec]),
        "encode": (encode, [x_spec]),
        "decode": (decode, [tf.TensorSpec((None, model.decode_width), tf.float32, name="z")]),
        "sample": (sample, [tf.TensorSpec((None,), tf.int64, name="seed")]),
        "score": (score, [x_spec]),
    }


def export_hierarchical(model, path, version: int | None = None, overwrite: bool = False,
                        score_samples: int = 64) -> str:
    """Write ``model`` (a built ``HierarchicalVAE``) to ``<path>/<version>/`` and
    return that directory (versions as in :func:`keras_vae.export.export_vae`)."""
    if getattr(model, "data_shape", None) is None:
        raise ValueError(f"{model.name} is not built; give it input_shape= or data before exporting.")
    if isinstance(score_samples, bool) or not isinstance(score_samples, (int, np.integer)) or score_samples < 1:
        raise ValueError(f"score_samples must be an integer >= 1, got {score_samples!r}.")
    base, version = versions._resolve_target(path, version, overwrite)
    archive = keras.export.ExportArchive()
    archive.track(model)
    for name, (fn, signature) in _endpoints(model, int(score_samples)).items():
        archive.add_endpoint(name, fn, input_signature=signature).get_concrete_function()
    return versions.publish(base, version, lambda staging: archive.write_out(staging, verbose=False), overwrite)
