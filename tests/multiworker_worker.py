"""One process of the multi-worker tests (tests/test_multiworker.py); not a test.

    python tests/multiworker_worker.py --out DIR --data {x,xy} [--single]
        [--backup DIR] [--kill-after-step N]

With ``TF_CONFIG`` set it is one worker of a ``MultiWorkerMirroredStrategy`` job;
with ``--single`` it is the reference: one process, ``MirroredStrategy`` over two
logical CPUs, so the replicas, their noise (the replica id is folded into every
seed) and the split of each global batch are those of the two-worker job. It trains
a small ``kv.VAE`` on the first 256 examples of real MNIST (``$MNIST_DIR``, the
test split: the smaller file), as numpy ``x`` (``--data x``), a ``tf.data`` dataset
of ``(x, y)`` (``--data xy``) or ``(x, y, sample_weight)`` (``--data xyw``), or all
three in turn (``--data all``), then
writes its weights to ``DIR/weights-<task>.npz`` and the chief also ``DIR/run/``
(``vae.keras`` and an export): only the chief writes the run folder.
``--kill-after-step N`` makes the process SIGKILL itself after step N of the first
attempt (the fault-tolerance test); ``--backup`` trains with ``BackupAndRestore``.
"""
from __future__ import annotations

import argparse
import json
import os
import signal

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

GLOBAL_BATCH = 32
EXAMPLES = 256
EPOCHS = 2


def _mnist() -> tuple[np.ndarray, np.ndarray]:
    from keras_vae.datasets import load_mnist

    x, y = load_mnist("test", path=os.environ["MNIST_DIR"], download=False)
    return (x[:EXAMPLES] > 0.5).astype("float32"), y[:EXAMPLES].astype("float32")


class _StepTimer:
    """Wall-clock seconds of each training step (on_train_batch_begin -> end)."""

    def __init__(self):
        import time

        import keras

        times = self.times = []

        class Callback(keras.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                self.start = time.perf_counter()

            def on_train_batch_end(self, batch, logs=None):
                times.append(time.perf_counter() - self.start)

        self.callback = Callback()


class _KillAfter:
    """SIGKILL this process after training step ``step`` (counted over epochs)."""

    def __init__(self, step: int):
        import keras

        class Callback(keras.callbacks.Callback):
            seen = 0

            def on_train_batch_end(inner, batch, logs=None):  # noqa: N805
                inner.seen += 1
                if inner.seen == step:
                    os.kill(os.getpid(), signal.SIGKILL)

        self.callback = Callback()


def _train(strategy, data_kind, x, y, args, task, chief) -> None:
    import keras

    import keras_vae as kv

    keras.utils.set_random_seed(1)  # the same initial weights in every process
    with strategy.scope():
        vae = kv.VAE(
            encoder=kv.encoders.MLPEncoder([32]),
            decoder=kv.decoders.MLPDecoder([32]),
            latent_dim=4,
            input_shape=(28, 28, 1),
            seed=7,
        )
        vae.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=False)
    np.savez(os.path.join(args.out, f"initial-{data_kind}-{task}.npz"), *vae.get_weights())
    validation = (x[:64],)
    if data_kind == "x":
        data, kwargs = x, {"batch_size": GLOBAL_BATCH, "shuffle": False}
    elif data_kind == "xy":
        data, kwargs = tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH), {}
        validation = tf.data.Dataset.from_tensor_slices((x[:64], y[:64])).batch(GLOBAL_BATCH)
    else:  # (x, y, sample_weight): weights in [0.5, 1.5], a function of the example
        w = (0.5 + (np.arange(len(x)) % 7) / 6.0).astype("float32")
        data, kwargs = tf.data.Dataset.from_tensor_slices((x, y, w)).batch(GLOBAL_BATCH), {}
        validation = (x[:64], y[:64], w[:64])
    timer = _StepTimer()
    callbacks = [timer.callback]
    if args.backup:
        # Keras 3's BackupAndRestore is not multi-worker aware: every worker writes
        # its backup, so each gets a folder of its own (the states are identical).
        callbacks.append(keras.callbacks.BackupAndRestore(os.path.join(args.backup, task)))
    if args.kill_after_step and not chief:
        callbacks.append(_KillAfter(args.kill_after_step).callback)
    history = vae.fit(data, epochs=EPOCHS, verbose=0, callbacks=callbacks,
                      validation_data=validation, **kwargs)
    logs, reconstruction = {}, []
    if data_kind == "x":  # evaluate and predict once (they do not depend on the data kind)
        logs = vae.evaluate(x[:64], batch_size=GLOBAL_BATCH, verbose=0, return_dict=True)
        reconstruction = np.asarray(vae.predict(x[:8], batch_size=8, verbose=0))
    np.savez(os.path.join(args.out, f"weights-{data_kind}-{task}.npz"), *vae.get_weights())
    with open(os.path.join(args.out, f"logs-{data_kind}-{task}.json"), "w") as f:
        json.dump(
            {
                "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
                "evaluate": {k: float(v) for k, v in logs.items()},
                "predict": [r.ravel()[::16].tolist() for r in reconstruction],
                "steps": int(vae.optimizer.iterations.numpy()),
                # the first step of each fit traces the function: left out
                "median_step_seconds": float(np.median(timer.times[1:])) if len(timer.times) > 1 else None,
            },
            f,
        )
    if chief:  # only the chief writes the run folder
        run = os.path.join(args.out, f"run-{data_kind}")
        os.makedirs(run, exist_ok=False)  # a second writer would fail here
        vae.save(os.path.join(run, "vae.keras"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--data", choices=("x", "xy", "xyw", "all"), default="x")
    parser.add_argument("--single", action="store_true")
    parser.add_argument("--backup")
    parser.add_argument("--kill-after-step", type=int)
    args = parser.parse_args()

    if args.single:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        devices = [d.name for d in tf.config.list_logical_devices("CPU")]
        strategy = tf.distribute.MirroredStrategy(
            devices, cross_device_ops=tf.distribute.ReductionToOneDevice()
        )
        task, chief = "single", True
    else:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        task_info = json.loads(os.environ["TF_CONFIG"])["task"]
        task = f"{task_info['type']}{task_info['index']}"
        chief = task_info["type"] == "chief" or (
            task_info["type"] == "worker" and task_info["index"] == 0
        )
    x, y = _mnist()
    for data_kind in (("x", "xy", "xyw") if args.data == "all" else (args.data,)):
        _train(strategy, data_kind, x, y, args, task, chief)


if __name__ == "__main__":
    main()
