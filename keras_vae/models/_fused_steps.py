"""Several training steps in one XLA program.

Keras' ``steps_per_execution=N`` loops N steps in a TensorFlow ``while_loop`` whose
body calls the XLA-compiled update once per step. Each such call reads every
weight and optimizer slot into the XLA program and writes them back: for the MLP
of ``benchmarks/throughput.py`` that traffic was ~30 % of the step. This train
function fetches the N batches first, runs the model's input checks on each (they
must stay outside XLA, which compiles asserts into nothing), and then runs the N
updates in one XLA-compiled loop, where the weights stay in place between steps.

The steps are the same steps: the same batches in the same order, each update
seeded by the optimizer's step counter as before (``tests/test_steps_per_execution.py``
compares the loss curves and weights against one step per call). Calls whose
batches are not all present and of one size (an epoch's last, smaller batch; the
end of the data) run their steps one by one, by one single-step function called
from a second loop (traced once, not once per step), and a call's batches are checked
as one (the 32-step MLP function builds in 4.0 s instead of 14.4); data with sample weights or several inputs, and models that override ``prepare`` or ``prepare_inputs`` (which may act on a batch as a whole), take Keras' own step-by-step loop.
"""
from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf


def can_fuse(model: Any) -> bool:
    """Whether ``model``'s train function may run its steps in one XLA loop."""
    return (
        int(getattr(model, "steps_per_execution", 1) or 1) > 1
        and bool(getattr(model, "_jit_compile_of_step", model.jit_compile))
        and not model.run_eagerly
        and getattr(model, "_distribute_strategy", None) is None
        and not tf.distribute.has_strategy()
        and not model._objective_networks()
        # A model with its own train step (e.g. a prior trainer) keeps it.
        and type(model).train_step is _training_step()
        # The fused call prepares its N batches as one concatenated batch: the same
        # values as batch by batch for our own preparation (elementwise), not for an
        # override that may act on the batch as a whole (e.g. centring it).
        and _prepares_as_ours(type(model))
    )


def _training_step():
    from keras_vae.models._training import TrainingMixin

    return TrainingMixin.train_step


def _prepares_as_ours(cls: type) -> bool:
    """Whether ``cls`` prepares its batches with keras_vae's own methods. (A method
    patched onto one instance, or an override of the helpers they call, is not seen.)"""
    from keras_vae.models._inputs import InputChecksMixin
    from keras_vae.models.vae import VAE

    return (cls.prepare is InputChecksMixin.prepare
            and cls.prepare_inputs in (InputChecksMixin.prepare_inputs, VAE.prepare_inputs))


def _x_only(element_spec: Any) -> bool:
    """A batch that is x alone, or ``(x, y)`` with no sample weight, x one tensor,
    every part's example shape known (an absent batch is made as an empty one)."""
    spec = element_spec
    if isinstance(spec, tuple):
        if len(spec) == 3 and spec[2] is not None:
            return False
        spec = spec[0]
    return isinstance(spec, tf.TensorSpec) and all(
        isinstance(s, tf.TensorSpec) and s.shape.rank is not None and s.shape[1:].is_fully_defined()
        for s in tf.nest.flatten(element_spec))


def fused_train_function(model: Any, keras_function: Any):
    """A train function running ``model.steps_per_execution`` steps per call: fused
    under XLA when the call's batches are all present and of one size, one by one when
    not, and by ``keras_function`` for data it does not take (see :func:`_x_only`)."""
    steps = int(model.steps_per_execution)

    @tf.function(jit_compile=True)
    def updates(xs):
        def body(i, _):
            model._update(xs[i], None)
            return i + 1, tf.constant(0)

        tf.while_loop(lambda i, _: i < steps, body, (tf.constant(0), tf.constant(0)))
        return model._step_logs()

    # One compiled single step for the calls that cannot fuse, called from one
    # while_loop: traced once, not once per step (tracing and optimizing ~100
    # step-sized call sites made the 32-step function 10 s slower to build).
    single = tf.function(model._update, jit_compile=True)

    def batch(optional):
        """x of one step's batch; an absent one (the data ended) is empty, of the same spec."""
        empty = tf.nest.map_structure(lambda s: tf.zeros([0, *s.shape[1:]], s.dtype), optional.element_spec)
        value = tf.cond(optional.has_value(), optional.get_value, lambda: empty)
        return keras.utils.unpack_x_y_sample_weight(value)[0]

    def one_by_one(prepared, sizes, present):
        """The present steps in order, each by the single-step function."""
        arrays = [
            tf.TensorArray(leaf.dtype, size=steps, infer_shape=False,
                           element_shape=tf.TensorShape([None]).concatenate(leaf.shape[1:])).split(leaf, sizes)
            for leaf in tf.nest.flatten(prepared)
        ]

        def body(i):
            def run():
                single(tf.nest.pack_sequence_as(prepared, [a.read(i) for a in arrays]), None)
                return tf.constant(0)

            tf.cond(present[i], run, lambda: tf.constant(0))
            return (i + 1,)

        tf.while_loop(lambda i: i < steps, body, (tf.constant(0),))
        return model._step_logs()

    def stacked(prepared):
        """[steps * batch, ...] -> [steps, batch, ...]."""
        return tf.nest.map_structure(
            lambda t: tf.reshape(t, tf.concat([[steps, -1], tf.shape(t)[1:]], 0)), prepared)

    @tf.function
    def fused(iterator):
        optionals = [iterator.get_next_as_optional() for _ in range(steps)]
        present = tf.stack([o.has_value() for o in optionals])
        xs = [batch(o) for o in optionals]
        sizes = tf.stack([tf.shape(x)[0] for x in xs])
        # The call's batches checked and prepared as one: the same checks and values
        # as batch by batch, traced once instead of once per step.
        prepared = model.prepare_inputs(tf.concat(xs, 0))
        fusable = tf.logical_and(tf.reduce_all(present), tf.reduce_all(tf.equal(sizes, sizes[0])))
        logs = tf.cond(fusable, lambda: updates(stacked(prepared)),
                       lambda: one_by_one(prepared, sizes, present))
        return logs, present[0]

    def function(iterator):
        if not _x_only(iterator.element_spec):
            return keras_function(iterator)
        logs, any_data = fused(iterator)
        if not bool(any_data):
            raise StopIteration
        return logs

    function.fused = fused  # the traced program, for inspection
    return function

