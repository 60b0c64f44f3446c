"""AIS beside importance sampling on a small trained MNIST model: log p(x) estimates
against their cost, and AIS throughput with and without XLA.

Trains the small MLP VAE of the MCMC benchmarks (784-300-20 / 20-300-784,
Bernoulli; ``_common.small_vae``) for ``--epochs`` on dynamically binarized MNIST
(or loads ``--load``), then on ``--limit`` statically binarized test images:

1. estimates vs cost: importance sampling at K in ``--iwae-k`` and AIS (from the
   prior, ``--chains`` chains, 10 leapfrog steps) at ``--ais-steps``: each mean
   log p(x) with its wall time (tracing / XLA compiling included) and its decoder
   passes per example;
2. AIS throughput, XLA on and off: examples x chains x steps per second (the
   second call of each, so tracing and compiling are left out), and the decoder
   gradient passes per second that makes.

Usage::

    python benchmarks/ais.py                                  # about 2 minutes on 2 CPU cores
    python benchmarks/ais.py --save /tmp/mnist_small.keras    # then: inference_gaps.py --load /tmp/mnist_small.keras
    python benchmarks/ais.py --epochs 10 --limit 200 --ais-steps 100 1000 5000 --plot cost.png

Data: ``--data DIR``, else $KERAS_VAE_DATA, else ../shared/data/mnist beside the
repository, else the Keras cache / download.
"""
from __future__ import annotations

import argparse
import time

from _common import add_small_vae_arguments, binarized_test_images, machine_line, trained_small_vae  # noqa: E402

from keras_vae import evaluation  # noqa: E402
from keras_vae.evaluation._mcmc import PILOT_CHAINS  # noqa: E402

LEAPFROG = 10  # ais_log_likelihood's default num_leapfrog_steps


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_small_vae_arguments(parser)
    parser.add_argument("--limit", type=int, default=50, help="test images")
    parser.add_argument("--iwae-k", type=int, nargs="+", default=[1, 10, 100, 1000, 5000])
    parser.add_argument("--ais-steps", type=int, nargs="+", default=[100, 300])
    parser.add_argument("--chains", type=int, default=8, help="AIS chains per example")
    parser.add_argument("--no-jit", action="store_true", help="the estimates-vs-cost AIS runs without XLA")
    parser.add_argument("--throughput-examples", type=int, default=16)
    parser.add_argument("--throughput-steps", type=int, default=100)
    parser.add_argument("--plot", default=None, help="save the estimates-vs-cost figure here (PNG)")
    args = parser.parse_args(argv)
    started = time.perf_counter()

    print(machine_line())
    vae, line = trained_small_vae(args)
    x_test = binarized_test_images(args, args.limit)
    jit = not args.no_jit
    print(f"{line}; {len(x_test)} test images; AIS from the prior, {args.chains} chains "
          f"(+{min(PILOT_CHAINS, args.chains)} pilot), {LEAPFROG} leapfrog steps, XLA {'on' if jit else 'off'}")

    # 1. estimates vs cost
    print("\n1. log p(x) estimates vs cost (nats/example; seconds include tracing / XLA compiling)")
    points = evaluation.estimates_vs_cost(vae, x_test, iwae_samples=args.iwae_k, ais_steps=args.ais_steps,
                                          ais={"num_chains": args.chains, "jit_compile": jit}, seed=args.seed)
    print(f"   {'estimator':<24}{'log p(x)':>10}{'seconds':>9}{'decoder passes/example':>24}")
    for p in points:
        name = f"IS K={p['setting']}" if p["method"] == "iwae" else f"AIS {p['setting']} steps"
        print(f"   {name:<24}{p['log_px']:>10.2f}{p['seconds']:>9.1f}{p['decoder_passes']:>24,}")
    if args.plot:
        evaluation.plot_estimates_vs_cost(points).savefig(args.plot, dpi=120)
        print(f"   figure: {args.plot}")

    # 2. AIS throughput, with and without XLA: the second call of each (traced / compiled)
    n, c, steps = min(len(x_test), args.throughput_examples), args.chains, args.throughput_steps
    pilots = min(PILOT_CHAINS, c)
    print(f"\n2. AIS throughput, {n} examples x {c} chains (+{pilots} pilot) x {steps} steps; each step is "
          f"{LEAPFROG + 1} decoder gradient passes + 1 forward")
    for xla in (True, False):
        run = dict(num_steps=steps, num_chains=c, seed=args.seed, jit_compile=xla)
        t0 = time.perf_counter()
        evaluation.ais_log_likelihood(vae, x_test[:n], **run)
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        evaluation.ais_log_likelihood(vae, x_test[:n], **run)
        seconds = time.perf_counter() - t0
        rate = n * (c + pilots) * steps / seconds
        print(f"   XLA {'on ' if xla else 'off'}: {rate:8,.0f} example-chain-steps/s = "
              f"{rate * (LEAPFROG + 1):10,.0f} gradient passes/s ({seconds:.1f} s; first call {first:.1f} s)")
    print(f"\ntotal wall time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
