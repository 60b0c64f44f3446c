"""What Burda et al.'s released code (yburda/iwae) does differently at the start, one
setting at a time, over the first stages of the paper's schedule.

The paper's text gives Adam with epsilon 1e-4; the released code also

* starts the output layer's bias at the logit of each pixel's training mean
  (``datasets.py``, ``get_train_bias_np``; ours: ``vae.initialize_output_bias``);
* uses Adam's ``beta_1 = 0.99`` (``optimizers.py``'s default, not overridden);
* adds its ``epsilon = 1e-4`` to the root of the second moment of a gradient *summed*
  over the batch of 20, where keras_vae's loss is the batch mean: the same epsilon
  against the mean's gradient is 1e-4 / 20 = 5e-6.

Each variant trains Burda's one-layer model (784-200-200-50 tanh) on dynamically
binarized MNIST with the paper's learning rates for ``--epochs`` epochs (40 = the
first four stages) from the same seed, and prints the test ELBO (first 1,000 test
images) at each stage end and the active units at the end::

    python benchmarks/released_code_start.py --epochs 40 --batch-size 500   # ~10 min, 2 cores
"""
from __future__ import annotations

import argparse
import sys

from _common import burda_vae, data_path, machine_line  # noqa: E402  (sets sys.path)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_vae import datasets, evaluation  # noqa: E402
from paper_table import paper_learning_rate, stage_ends  # noqa: E402

# name: (Adam beta_1, Adam epsilon, output bias at the data's mean)
VARIANTS = {
    "keras_vae": (0.9, 1e-4, False),
    "epsilon_per_sum": (0.9, 1e-4 / 20, False),      # the released epsilon, for a mean loss
    "epsilon_and_beta1": (0.99, 1e-4 / 20, False),
    "all_three": (0.99, 1e-4 / 20, True),
    "output_bias": (0.9, 1e-4, True),
}


class StageEnds(keras.callbacks.Callback):
    """The test ELBO at the end of each of the paper's stages."""

    def __init__(self, x_test):
        super().__init__()
        self.x_test, self.points, self.ends = x_test, {}, stage_ends()

    def on_epoch_end(self, epoch, logs=None):
        if epoch in self.ends:
            self.points[epoch + 1] = float(np.mean(self.model.elbo(self.x_test, seed=0).numpy()))


def run_variant(name, args, x_train, x_test) -> tuple[dict, int]:
    beta_1, epsilon, bias = VARIANTS[name]
    keras.utils.set_random_seed(args.seed)
    vae = burda_vae(args.seed)
    if bias:
        vae.initialize_output_bias(x_train)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3, beta_1=beta_1, epsilon=epsilon),
                steps_per_execution=args.steps_per_execution)
    ends = StageEnds(x_test)
    vae.fit(datasets.dynamic_binarization(x_train, batch_size=args.batch_size, seed=args.seed),
            epochs=args.epochs, verbose=0, shuffle=False,
            callbacks=[ends, keras.callbacks.LearningRateScheduler(paper_learning_rate)])
    return ends.points, int(evaluation.active_units(vae, x_test))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None, help="directory with the MNIST IDX files")
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--epochs", type=int, default=40, help="epochs of the paper's schedule (40: four stages)")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--steps-per-execution", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-limit", type=int, default=None, help="train on the first N images (a smoke run)")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1:
        parser.error("--epochs and --batch-size must be >= 1")
    path = data_path(args.data)
    x_train, _ = datasets.load_mnist("train", path=path)
    x_train = x_train[: args.train_limit]
    x_test, _ = datasets.load_mnist("test", path=path)
    x_test = datasets.binarize(x_test[:1000], seed=args.seed)
    print(machine_line())
    print(f"batch {args.batch_size}, the paper's learning rates for {args.epochs} epochs; "
          "test ELBO on the first 1,000 test images (nats)", flush=True)
    results = {name: run_variant(name, args, x_train, x_test) for name in args.variants}
    epochs = sorted({e for points, _ in results.values() for e in points})
    print(f"{'variant':18} {'beta_1':>6} {'epsilon':>8} {'bias':>5} "
          + " ".join(f"{'ep ' + str(e):>8}" for e in epochs) + f" {'AU':>4}")
    for name, (points, active) in results.items():
        beta_1, epsilon, bias = VARIANTS[name]
        print(f"{name:18} {beta_1:6g} {epsilon:8.0e} {'mean' if bias else 'zero':>5} "
              + " ".join(f"{points.get(e, float('nan')):8.2f}" for e in epochs) + f" {active:4d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
