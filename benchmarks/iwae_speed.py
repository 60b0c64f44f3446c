"""Cost of K importance samples per training step: IWAE k=5 against k=1.

The model draws all K samples of a batch in one batched pass and decodes the
K * batch latents with one decoder call, so a k = 5 step should cost far less than
five k = 1 steps (the target: at most 3x). 784-400-20 MLP, Bernoulli likelihood,
batch 128, MNIST-shaped data; each objective at the model's default compile
settings. Prints ms per step (median of ``--rounds`` rounds) and the ratio.

Usage::

    python benchmarks/iwae_speed.py --rounds 5 --steps 50
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

from _common import machine_line  # noqa: E402  (sets sys.path)

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_vae as kv  # noqa: E402


def step_ms(objective, x, steps: int, rounds: int, batch: int) -> tuple[float, bool]:
    vae = kv.VAE(
        encoder=kv.encoders.MLPEncoder([400]), decoder=kv.decoders.MLPDecoder([400]),
        latent_dim=20, input_shape=(28, 28, 1), objective=objective, seed=0,
    )
    vae.compile(optimizer="adam")
    vae.fit(x[: batch * 5], batch_size=batch, epochs=1, verbose=0)  # trace and compile
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        vae.fit(x[: batch * steps], batch_size=batch, epochs=1, verbose=0, shuffle=False)
        times.append((time.perf_counter() - start) * 1000 / steps)
    return statistics.median(times), vae.jit_compile


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--k", type=int, default=5)
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(0)
    x = (np.random.default_rng(0).uniform(size=(args.batch_size * args.steps, 28, 28, 1)) > 0.5).astype("float32")
    print(machine_line())
    one, jit1 = step_ms({"name": "iwae", "num_samples": 1}, x, args.steps, args.rounds, args.batch_size)
    elbo, jit_e = step_ms("elbo", x, args.steps, args.rounds, args.batch_size)
    many, jitk = step_ms({"name": "iwae", "num_samples": args.k}, x, args.steps, args.rounds, args.batch_size)
    print(f"784-400-20 MLP, batch {args.batch_size}, median of {args.rounds} rounds x {args.steps} steps")
    print(f"ELBO (analytic KL) : {elbo:7.2f} ms/step (XLA {jit_e})")
    print(f"IWAE k=1           : {one:7.2f} ms/step (XLA {jit1})")
    print(f"IWAE k={args.k:<2}          : {many:7.2f} ms/step (XLA {jitk})")
    print(f"ratio IWAE k={args.k} / k=1: {many / one:.2f}x (target <= 3x); / ELBO: {many / elbo:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
