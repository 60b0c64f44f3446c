"""What the paper's schedule costs on this machine, batch size by batch size.

Burda et al.'s one-layer VAE (784-200-200-50, tanh; ``_common.burda_vae``) trains for
3,280 epochs of the 60,000 MNIST training images (``paper_table.py --schedule
paper``). For each ``--batch-sizes`` value this prints the time per training step of

- **the matrix-product bound**: the step's forward and backward matrix products alone,
  looped inside one XLA graph (``throughput.matmul_bound`` with Burda's widths);
- **the step in one graph**: keras_vae's whole update (loss, gradients, Adam,
  metrics: ``_update``) on one batch, looped inside one XLA graph;
- **fit, pre-binarized**: ``vae.fit`` on a numpy array binarized once, with
  ``steps_per_execution`` 30 (as ``paper_table.py`` runs);
- **fit, dynamic binarization**: ``vae.fit`` on ``datasets.dynamic_binarization``,
  the pipeline ``paper_table.py`` trains on (a fresh draw of every pixel each epoch),

and each as the minutes that 3,280 epochs would take at that rate. The bound's
column is the floor for this machine: no change to the training loop makes the
schedule faster than it. Medians over ``--rounds`` (in-graph) and over the timed
epochs after a warm-up one (fit).

    python benchmarks/schedule_budget.py                       # batches 100 and 500, ~4 min on 2 cores
    python benchmarks/schedule_budget.py --batch-sizes 20 100 250 500 1000
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
import time

from _common import burda_vae, data_path, machine_line  # noqa: E402  (sets sys.path)

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_vae import datasets  # noqa: E402

import throughput  # noqa: E402

PAPER_EPOCHS = 3280
TRAIN_IMAGES = 60_000


class _EpochTimes(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.times, self.start = [], 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.start)


def fit_step_seconds(data, batch_size: int, epochs: int, images: int, seed: int,
                     steps_per_execution: int = 30) -> float:
    """Median seconds per step of ``vae.fit`` on ``data`` (a numpy array, batched here
    by ``batch_size``, or a dataset batched by it) over ``epochs`` epochs after a
    warm-up one (Burda's model, Adam as in ``paper_table.py``, 30 steps per call as
    ``paper_table.py`` is run)."""
    keras.utils.set_random_seed(seed)
    vae = burda_vae(seed)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3, epsilon=1e-4), steps_per_execution=steps_per_execution)
    timer = _EpochTimes()
    batching = {} if isinstance(data, tf.data.Dataset) else {"batch_size": batch_size}
    vae.fit(data, epochs=epochs + 1, verbose=0, callbacks=[timer], **batching)
    return statistics.median(timer.times[1:]) / math.ceil(images / batch_size)


def update_step_seconds(x, steps: int, rounds: int, seed: int) -> float:
    """Seconds per ``_update`` (the whole training step) looped inside one XLA graph."""
    vae = burda_vae(seed)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3, epsilon=1e-4))
    vae.optimizer.build(vae.trainable_variables)
    batch = tf.constant(x, tf.float32)

    def update(i, acc):
        vae._update(batch + acc, None)
        return acc

    return throughput.per_step_seconds(update, tf.constant(0.0), steps, rounds)


def schedule_minutes(step_seconds: float, batch_size: int, images: int = TRAIN_IMAGES) -> float:
    """Minutes for the paper's 3,280 epochs at ``step_seconds`` per step."""
    return step_seconds * math.ceil(images / batch_size) * PAPER_EPOCHS / 60.0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None, help="directory with the MNIST IDX files")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--epochs", type=int, default=2, help="timed fit epochs per batch size (after a warm-up)")
    parser.add_argument("--images", type=int, default=TRAIN_IMAGES, help="training images per fit epoch")
    parser.add_argument("--graph-steps", type=int, default=100, help="iterations of each in-graph loop")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps-per-execution", type=int, default=30, help="fit's, as paper_table.py is run")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if min(args.batch_sizes) < 1 or args.epochs < 1 or args.images < max(args.batch_sizes):
        parser.error("batch sizes and --epochs must be >= 1, --images at least the largest batch")

    x, _ = datasets.load_mnist("train", path=data_path(args.data))
    x = x[: args.images]
    fixed = datasets.binarize(x, seed=args.seed)
    print(machine_line())
    print(f"Burda et al.'s one-layer VAE, {len(x)} training images per epoch, minutes for "
          f"{PAPER_EPOCHS} epochs of {TRAIN_IMAGES} images at each rate", flush=True)
    header = f"{'batch':>5}  {'part':34} {'ms/step':>8} {'images/s':>9} {'schedule min':>13}"
    rows, spe = [], args.steps_per_execution
    for batch in args.batch_sizes:
        sample = fixed[:batch]
        parts = [
            ("matrix products (in-graph bound)", throughput.matmul_bound(
                sample, args.graph_steps, args.rounds, encoder=(200, 200), latent=50, decoder=(200, 200))),
            ("the step in one graph (_update)", update_step_seconds(sample, args.graph_steps, args.rounds, args.seed)),
            ("fit, pre-binarized array", fit_step_seconds(fixed, batch, args.epochs, len(x), args.seed, spe)),
            ("fit, dynamic binarization", fit_step_seconds(
                datasets.dynamic_binarization(x, batch_size=batch, seed=args.seed), batch, args.epochs, len(x),
                args.seed, spe)),
        ]
        for name, seconds in parts:
            rows.append(f"{batch:5d}  {name:34} {seconds * 1e3:8.3f} {batch / seconds:9.0f} "
                        f"{schedule_minutes(seconds, batch):13.0f}")
            print(rows[-1], flush=True)
    print()
    print(header)
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
