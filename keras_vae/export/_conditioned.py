"""The SavedModel signatures of a conditioned model: each takes the condition beside
its usual input (``encode(x, condition)``, ``decode(z, condition)``,
``reconstruct(x, condition)``, ``sample(seed, condition)``, ``score(x, condition)``),
computed through the model's own conditioned methods, so the served numbers are
those of ``vae.encode(x, condition=c)``, ``vae.sample(1, seed=s, condition=c)``, ...
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_vae import _seeds
from keras_vae._random import fresh_seed
from keras_vae.evaluation import shared_noise
from keras_vae.export._signature_parts import _checked_input, _f32, encode_outputs


def conditioned_endpoints(vae, score_noise: np.ndarray) -> dict:
    """``{name: (function, input_signature)}`` for a model with a ``condition_layer``."""
    layer = vae.condition_layer
    latent_dim = vae.latent_dim
    posterior = vae.posterior_layer
    c_spec = tf.TensorSpec((None, *layer.example_shape), layer.input_dtype, name="condition")
    x_spec = tf.TensorSpec((None, *vae.data_shape), tf.float32, name="x")
    takes_condition = getattr(vae.prior_layer, "takes_condition", False)

    def inputs(x, condition):
        x = vae.prepare(_checked_input(x, vae.data_shape, "x"))
        return x, vae.prepare_condition(condition)

    def encode(x, condition):
        x, c = inputs(x, condition)
        return encode_outputs(posterior, vae.posterior_parameters(x, training=False, condition=c))

    def decode(z, condition):
        z = _f32(_checked_input(z, [latent_dim], "z", finite=True))
        c = vae.prepare_condition(condition)
        p = vae.likelihood(vae.one_condition_per_row(z, c), condition=c)
        return {"x_mean": _f32(p.mean()), "x_sample": _f32(p.sample(seed=fresh_seed()))}

    def reconstruct(x, condition):
        x, c = inputs(x, condition)
        z = _f32(posterior.point(vae.posterior_parameters(x, training=False, condition=c)))
        return {"reconstruction": _f32(vae.likelihood(z, condition=c).mean())}

    def sample(seed, condition):
        seeds = tf.reshape(tf.cast(seed, tf.int64), [-1])
        c = vae.prepare_condition(condition)

        # Row i is vae.sample(1, seed=seed[i], condition=condition[i:i + 1]).
        def one(args):
            s, row = args
            z_seed = vae.noise_seed(s, stream=_seeds.SAMPLE_Z)
            if takes_condition:
                return _f32(vae._prior(vae.condition_features(row[None]), None).sample(seed=z_seed))[0]
            return _f32(vae.prior().sample(seed=z_seed))

        z = tf.map_fn(one, (seeds, c), fn_output_signature=tf.TensorSpec([latent_dim], tf.float32))
        return {"x": _f32(vae.likelihood(z, condition=c).mean())}

    def score(x, condition):
        x, c = inputs(x, condition)
        scores = shared_noise.shared_noise_scores(vae, x, tf.constant(score_noise), condition=c)
        return {name: _f32(value) for name, value in scores.items()}

    return {
        "encode": (encode, [x_spec, c_spec]),
        "decode": (decode, [tf.TensorSpec((None, latent_dim), tf.float32, name="z"), c_spec]),
        "reconstruct": (reconstruct, [x_spec, c_spec]),
        "sample": (sample, [tf.TensorSpec((None,), tf.int64, name="seed"), c_spec]),
        "score": (score, [x_spec, c_spec]),
    }
