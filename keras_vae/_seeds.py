"""The seed streams of a VAE, named once.

Every random draw a VAE makes is a stateless function of a seed pair
``[base, stream]``. The stream numbers below are part of the saved-model contract:
a model saved today must draw the same noise when loaded by a later version, so the
values never change (add new streams at the end).

Nothing here imports the model: the model, the export and the evaluation tools all
import this module.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_vae._random import INT32_MAX, fresh_seed

#: training noise: ``fold_in([model seed, TRAIN], optimizer step)``.
TRAIN = 0
#: evaluation noise (``test_step``, the ``score`` signature): ``fold_in([seed, EVAL], 0)``.
EVAL = 1
#: ``decode(sample=True)``: x ~ p(x|z).
DECODE = 2
#: ``sample``: z ~ p(z) (also each row of the exported ``sample`` signature).
SAMPLE_Z = 3
#: ``sample(sample_x=True)``: x ~ p(x|z) after z ~ p(z).
SAMPLE_X = 4
#: ``evaluation.log_likelihood``: the K importance samples.
LOG_LIKELIHOOD = 5
#: ``evaluation.kl_per_dimension``: Monte Carlo KL samples.
KL_PER_DIMENSION = 6
#: ``evaluation.ais_log_likelihood``: annealed importance sampling.
AIS = 7
#: ``evaluation.bdmc``: simulated data and both AIS directions.
BDMC = 8
#: ``evaluation.posterior_samples(method="hmc")``.
HMC = 9
#: ``evaluation.inference_gaps``: the per-example optimized posteriors.
GAPS = 10
#: an objective's own noise (``Terms.objective_seed``; FactorVAE's permutations):
#: ``fold_in([seed, OBJECTIVE], optimizer step)`` in training, step 0 in evaluation.
#: (23, not 11: a number no other stream will take.)
OBJECTIVE = 23


def stateless_seed(model_seed: int, seed=None, stream: int = TRAIN, counter=None) -> tf.Tensor:
    """A stateless seed (int32, shape ``[2]``) on one stream, distinct per replica.

    Args:
        model_seed: the VAE's own seed (used only with ``counter``).
        seed: ``None`` (fresh noise on every execution, also inside saved graphs),
            an int, an int scalar tensor, or a stateless seed pair.
        stream: one of the stream constants of this module.
        counter: with ``seed=None``, a step counter: ``fold_in([model_seed,
            stream], counter)`` — reproducible noise that moves with the step.

    Returns:
        ``tf.Tensor`` of shape ``[2]`` and dtype int32. Under a ``tf.distribute``
        strategy with several replicas, the replica id is folded in, so every
        replica draws its own noise.

    Example:
        >>> import keras_vae._seeds as seeds
        >>> seeds.stateless_seed(0, seed=7, stream=seeds.SAMPLE_Z).numpy().tolist()
        [7, 3]
    """
    if seed is None and counter is None:
        base = fresh_seed()
    elif seed is None:
        base = tf.random.experimental.stateless_fold_in(
            tf.constant([int(model_seed), stream], tf.int32), tf.cast(counter, tf.int32)
        )
    elif isinstance(seed, (int, np.integer)):
        base = tf.constant([int(seed) % INT32_MAX, stream], tf.int32)
    else:
        seed = tf.convert_to_tensor(seed)
        if seed.shape.rank == 0:  # an integer seed given as a tensor: as the int path
            seed = tf.math.floormod(tf.cast(seed, tf.int64), tf.constant(INT32_MAX, tf.int64))
            base = tf.stack([tf.cast(seed, tf.int32), tf.constant(stream, tf.int32)])
        else:  # already a stateless seed pair
            base = tf.cast(seed, tf.int32)
    replica = tf.distribute.get_replica_context()
    if replica is not None and tf.distribute.get_strategy().num_replicas_in_sync > 1:
        base = tf.random.experimental.stateless_fold_in(
            base, tf.cast(replica.replica_id_in_sync_group, tf.int32)
        )
    return base
