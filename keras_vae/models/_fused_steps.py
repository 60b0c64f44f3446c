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
end of the data) and data with sample weights or several inputs take Keras' own
step-by-step loop.
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
    )


def _training_step():
    from keras_vae.models._training import TrainingMixin

    return TrainingMixin.train_step


def _x_only(element_spec: Any) -> bool:
    """A batch that is x alone, or ``(x, y)`` with no sample weight, x one tensor."""
    spec = element_spec
    if isinstance(spec, tuple):
        if len(spec) == 3 and spec[2] is not None:
            return False
        spec = spec[0]
    return isinstance(spec, tf.TensorSpec)


def fused_train_function(model: Any, keras_function: Any):
    """A train function running ``model.steps_per_execution`` steps per call, fused
    under XLA when the batches allow it and by ``keras_function`` otherwise."""
    steps = int(model.steps_per_execution)

    @tf.function(jit_compile=True)
    def updates(xs):
        def body(i, _):
            model._update(xs[i], None)
            return i + 1, tf.constant(0)

        tf.while_loop(lambda i, _: i < steps, body, (tf.constant(0), tf.constant(0)))
        return model._step_logs()

    # One compiled single step for the calls that cannot fuse: every call site
    # below reuses it (a tf.function per site would compile the step N times).
    single = tf.function(model._update, jit_compile=True)

    def each(xs):
        for x in xs:
            single(x, None)
        return model._step_logs()

    def prepared(optional):
        return model.prepare_inputs(keras.utils.unpack_x_y_sample_weight(optional.get_value())[0])

    def one(optional):
        single(prepared(optional), None)
        return model._step_logs()

    @tf.function
    def fused(iterator):
        optionals = [iterator.get_next_as_optional() for _ in range(steps)]
        present = tf.reduce_all(tf.stack([o.has_value() for o in optionals]))

        def all_present():
            xs = [prepared(o) for o in optionals]
            sizes = tf.stack([tf.shape(x)[0] for x in xs])
            one_size = tf.reduce_all(tf.equal(sizes, sizes[0]))
            return tf.cond(one_size, lambda: updates(tf.stack(xs)), lambda: each(xs))

        def some_missing():
            logs = model._step_logs()
            for optional in optionals:
                logs = tf.cond(optional.has_value(), lambda o=optional: one(o), lambda logs=logs: logs)
            return logs

        return tf.cond(present, all_present, some_missing), optionals[0].has_value()

    def function(iterator):
        if not _x_only(iterator.element_spec):
            return keras_function(iterator)
        logs, any_data = fused(iterator)
        if not bool(any_data):
            raise StopIteration
        return logs

    return function

