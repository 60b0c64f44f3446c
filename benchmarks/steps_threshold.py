"""Where several steps per call start to pay: ``steps_per_execution="auto"``'s threshold.

``"auto"`` runs :data:`keras_vae.models._steps_per_execution.AUTO_STEPS` (32) steps per
call of the compiled train function only for a fit that plans at least ``MIN_STEPS``
(1,024) steps: the 32-step function takes longer to trace and compile than the one-step
function, and a short fit does not win it back. This benchmark times whole fits —
each on a freshly built and compiled model, so tracing and compiling are inside the
time, as a user's first ``fit`` pays them — of N steps (one
epoch of N batches of 128 MNIST images, the MLP of ``throughput.py``) with 1 and with 32
steps per call, and prints the ratio for each N: the threshold belongs where it crosses 1.

Usage::

    python benchmarks/steps_threshold.py                      # N = 32 ... 1024, 3 rounds
    python benchmarks/steps_threshold.py --steps 64 256 --rounds 1
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

from _common import data_path, machine_line  # noqa: E402  (sets sys.path)
from throughput import load_images, ours  # noqa: E402

import keras  # noqa: E402

from keras_vae.models._steps_per_execution import AUTO_STEPS, MIN_STEPS  # noqa: E402

BATCH = 128


def fit_seconds(x, steps_per_execution: int, seed: int) -> float:
    """Wall time of one ``fit`` over ``x`` (one epoch) of a freshly built model."""
    keras.utils.set_random_seed(seed)
    model = ours("mlp")
    model.compile(optimizer=keras.optimizers.Adam(1e-3), steps_per_execution=steps_per_execution)
    start = time.perf_counter()
    model.fit(x, epochs=1, batch_size=BATCH, verbose=0, shuffle=False)
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="directory with the MNIST IDX files")
    parser.add_argument("--steps", type=int, nargs="*", default=[32, 64, 128, 256, 512, 1024],
                        help="the fits' lengths in steps")
    parser.add_argument("--rounds", type=int, default=3, help="fits of each kind per length (median)")
    args = parser.parse_args(argv)
    if not args.steps or min(args.steps) < 1 or args.rounds < 1:
        parser.error("--steps must be >= 1 and --rounds >= 1")

    x = load_images(data_path(args.data), max(args.steps) * BATCH)
    print(machine_line())
    print(f"whole fit, fresh model each time (tracing and compiling included), batch {BATCH}, "
          f"median of {args.rounds}; 'auto' uses {AUTO_STEPS} per call from {MIN_STEPS} steps")
    print(f"{'steps':>6}{'1 per call (s)':>16}{f'{AUTO_STEPS} per call (s)':>17}{'ratio':>8}")
    for steps in args.steps:
        part = x[: steps * BATCH]
        one, many = [], []
        for r in range(args.rounds):  # interleaved, so a slow spell of the machine hits both
            one.append(fit_seconds(part, 1, r))
            many.append(fit_seconds(part, AUTO_STEPS, r))
        a, b = statistics.median(one), statistics.median(many)
        print(f"{steps:>6}{a:>16.2f}{b:>17.2f}{b / a:>8.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
