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

TARGET = 1.6  # issue: a two-layer step costs at most 1.6x the one-layer step


def warm(model, x, batch: int) -> None:
    model.compile(optimizer="adam")
    model.fit(x[: batch * 5], batch_size=batch, epochs=1, verbose=0)  # trace and compile


def round_ms(model, x, steps: int, batch: int) -> float:
    start = time.perf_counter()
    model.fit(x[: batch * steps], batch_size=batch, epochs=1, verbose=0, shuffle=False)
    return (time.perf_counter() - start) * 1000 / steps


def measure(rounds: int = 5, steps: int = 40, batch_size: int = 100, objective="elbo",
            inference: str = "bottom_up") -> dict:
    """ms per step (median of ``rounds`` interleaved rounds) of Burda's one-layer model
    and kv.HierarchicalVAE's default two-layer model, and their XLA settings."""
    keras.utils.set_random_seed(0)
    x = (np.random.default_rng(0).uniform(size=(batch_size * steps, 28, 28, 1)) > 0.5).astype("float32")
    models = {
        "one": burda_vae(0, objective=objective),
        "two": kv.HierarchicalVAE(input_shape=(28, 28, 1), inference=inference, objective=objective, seed=0),
    }
    for model in models.values():
        warm(model, x, batch_size)
    # Rounds interleaved, so a change in the machine's load touches both alike.
    times = {name: [] for name in models}
    for _ in range(rounds):
        for name, model in models.items():
            times[name].append(round_ms(model, x, steps, batch_size))
    result = {name: statistics.median(t) for name, t in times.items()}
    result.update({f"xla_{name}": model.jit_compile for name, model in models.items()})
    result["ratio"] = result["two"] / result["one"]
    # The fastest round of each: what a busy machine's bursts of load touch least.
    result["ratio_of_fastest"] = min(times["two"]) / min(times["one"])
    return result


def report(r: dict, args: argparse.Namespace) -> None:
    label = args.objective if args.objective == "elbo" else f"iwae k={args.k}"
    print(f"Burda architecture, {label}, batch {args.batch_size}, median of {args.rounds} rounds x {args.steps} steps")
    print(f"one stochastic layer  (50)           : {r['one']:7.2f} ms/step (XLA {r['xla_one']})")
    print(f"two stochastic layers (100, 50) {args.inference:9}: {r['two']:7.2f} ms/step (XLA {r['xla_two']})")
    print(f"ratio two / one: {r['ratio']:.2f}x (target <= {TARGET}x; fastest rounds: {r['ratio_of_fastest']:.2f}x)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--objective", choices=("elbo", "iwae"), default="elbo")
    parser.add_argument("--k", type=int, default=5, help="samples of the IWAE objective")
    parser.add_argument("--inference", choices=("bottom_up", "ladder"), default="bottom_up")
    args = parser.parse_args(argv)
    objective = "elbo" if args.objective == "elbo" else {"name": "iwae", "num_samples": args.k}
    print(machine_line())
    report(measure(args.rounds, args.steps, args.batch_size, objective, args.inference), args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
