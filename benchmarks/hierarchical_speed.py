"""Cost of a training step of Burda et al.'s two-stochastic-layer model against their
one-layer model (the target: at most 1.6x), batch 100, MNIST-shaped data.

One layer: 784-200-200-(50) / 50-200-200-784. Two layers (kv.HierarchicalVAE's
defaults): 784-200-200-(100) | 100-100-100-(50) and 50-100-100-(100) | 100-200-200-784,
tanh, Bernoulli. Each at the models' default compile settings (``jit_compile="auto"``);
the same objective for both (``--objective elbo`` or ``iwae`` with ``--k``). Prints
ms per step (median of ``--rounds`` rounds of ``--steps`` steps) and the ratio.

Usage::

    python benchmarks/hierarchical_speed.py                       # ~1-2 minutes on a CPU
    python benchmarks/hierarchical_speed.py --objective iwae --k 5 --inference ladder
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

from _common import burda_vae, machine_line  # noqa: E402  (sets sys.path)

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_vae as kv  # noqa: E402


def warm(model, x, batch: int) -> None:
    model.compile(optimizer="adam")
    model.fit(x[: batch * 5], batch_size=batch, epochs=1, verbose=0)  # trace and compile


def round_ms(model, x, steps: int, batch: int) -> float:
    start = time.perf_counter()
    model.fit(x[: batch * steps], batch_size=batch, epochs=1, verbose=0, shuffle=False)
    return (time.perf_counter() - start) * 1000 / steps


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--objective", choices=("elbo", "iwae"), default="elbo")
    parser.add_argument("--k", type=int, default=5, help="samples of the IWAE objective")
    parser.add_argument("--inference", choices=("bottom_up", "ladder"), default="bottom_up")
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(0)
    x = (np.random.default_rng(0).uniform(size=(args.batch_size * args.steps, 28, 28, 1)) > 0.5).astype("float32")
    objective = "elbo" if args.objective == "elbo" else {"name": "iwae", "num_samples": args.k}
    print(machine_line())
    one_model = burda_vae(0, objective=objective)
    two_model = kv.HierarchicalVAE(input_shape=(28, 28, 1), inference=args.inference, objective=objective, seed=0)
    for model in (one_model, two_model):
        warm(model, x, args.batch_size)
    # Rounds interleaved, so a change in the machine's load touches both alike.
    times = {"one": [], "two": []}
    for _ in range(args.rounds):
        times["one"].append(round_ms(one_model, x, args.steps, args.batch_size))
        times["two"].append(round_ms(two_model, x, args.steps, args.batch_size))
    one, two = statistics.median(times["one"]), statistics.median(times["two"])
    jit1, jit2 = one_model.jit_compile, two_model.jit_compile
    label = args.objective if args.objective == "elbo" else f"iwae k={args.k}"
    print(f"Burda architecture, {label}, batch {args.batch_size}, median of {args.rounds} rounds x {args.steps} steps")
    print(f"one stochastic layer  (50)           : {one:7.2f} ms/step (XLA {jit1})")
    print(f"two stochastic layers (100, 50) {args.inference:9}: {two:7.2f} ms/step (XLA {jit2})")
    print(f"ratio two / one: {two / one:.2f}x (target <= 1.6x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
