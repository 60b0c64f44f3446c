"""MCMC beside variational inference on a small trained MNIST model: log p(x) by
importance sampling and by AIS against their cost, the BDMC sandwich on data
simulated from the model, the inference gaps (Cremer et al., 2018), HMC's R-hat,
and AIS throughput.

Trains a small MLP VAE (784-300-20 / 20-300-784, Bernoulli) for ``--epochs`` on
dynamically binarized MNIST, then on ``--limit`` statically binarized test images:

1. estimates vs cost: importance sampling at K in ``--iwae-k`` and AIS (from the
   prior) at ``--ais-steps``; each mean log p(x) with its wall time;
2. BDMC on ``--limit`` examples simulated from the model, at the largest AIS
   setting: lower and upper bounds, and where the K = max importance-sampled
   estimate falls on the same simulated data;
3. the gaps table: log p(x) (the largest AIS run), ELBO of the optimized and of
   the amortized q, approximation and amortization gaps;
4. HMC posterior samples of a few test images: R-hat, acceptance, and how far the
   amortized q's mean is from the true posterior mean;
5. AIS throughput: examples x chains x steps per second (leapfrog steps per step
   printed beside it).

Usage::

    python benchmarks/inference_gaps.py                       # a few minutes on 2 CPU cores
    python benchmarks/inference_gaps.py --epochs 10 --limit 200 --ais-steps 100 1000 5000

Data: ``--data DIR``, else $KERAS_VAE_DATA, else ../shared/data/mnist beside the
repository, else the Keras cache / download.
"""
from __future__ import annotations

import argparse
import time

from _common import data_path, machine_line  # noqa: E402  (sets sys.path)

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_vae as kv  # noqa: E402
from keras_vae import datasets, evaluation  # noqa: E402


def small_vae(seed: int) -> kv.VAE:
    return kv.VAE(
        encoder=kv.encoders.MLPEncoder([300]),
        decoder=kv.decoders.MLPDecoder([300]),
        latent_dim=20,
        input_shape=(28, 28, 1),
        likelihood="bernoulli",
        seed=seed,
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=None, help="directory with the MNIST IDX files")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--limit", type=int, default=50, help="test images (and simulated examples)")
    parser.add_argument("--iwae-k", type=int, nargs="+", default=[1, 10, 100, 1000, 5000])
    parser.add_argument("--ais-steps", type=int, nargs="+", default=[100, 300])
    parser.add_argument("--chains", type=int, default=8, help="AIS chains per example")
    parser.add_argument("--optimize-steps", type=int, default=300, help="Adam steps of the optimized q")
    parser.add_argument("--hmc-examples", type=int, default=8)
    parser.add_argument("--no-jit", action="store_true", help="AIS / HMC without XLA")
    parser.add_argument("--plot", default=None, help="save the estimates-vs-cost figure here (PNG)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    jit = not args.no_jit
    started = time.perf_counter()

    print(machine_line())
    x_train, _ = datasets.load_mnist("train", path=data_path(args.data))
    x_test, _ = datasets.load_mnist("test", path=data_path(args.data))
    x_test = datasets.binarize(x_test[: args.limit], seed=args.seed)
    vae = small_vae(args.seed)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    t0 = time.perf_counter()
    vae.fit(datasets.dynamic_binarization(x_train, batch_size=100, seed=args.seed), epochs=args.epochs, verbose=0)
    print(f"model: 784-300-20 / 20-300-784 Bernoulli, {args.epochs} epochs in {time.perf_counter() - t0:.0f} s; "
          f"{len(x_test)} test images; AIS from the prior, {args.chains} chains, 10 leapfrog steps, "
          f"XLA {'on' if jit else 'off'}")
    ais = {"num_chains": args.chains, "jit_compile": jit}

    # 1. estimates vs cost (each AIS setting is timed after a warm-up trace on 2 images)
    print("\n1. log p(x) estimates vs cost (nats/example; seconds include tracing / XLA compiling)")
    points = evaluation.estimates_vs_cost(vae, x_test, iwae_samples=args.iwae_k, ais_steps=args.ais_steps,
                                          ais=ais, seed=args.seed, verbose=1)
    if args.plot:
        evaluation.plot_estimates_vs_cost(points).savefig(args.plot, dpi=120)
        print(f"   figure: {args.plot}")

    # 2. BDMC on simulated data, and where the importance-sampled estimate falls
    steps = max(args.ais_steps)
    k = max(args.iwae_k)
    print(f"\n2. BDMC on {args.limit} examples simulated from the model (AIS {steps} steps each way)")
    result = evaluation.bdmc(vae, num_examples=args.limit, num_steps=steps, seed=args.seed, **ais)
    iwae_sim = evaluation.log_likelihood(vae, result.x, num_samples=k, seed=args.seed)
    print(f"   {result.summary()}")
    print(f"   importance sampling K={k} on the same data: {iwae_sim.mean():.3f}  "
          f"(forward {result.seconds['forward']:.1f} s, reverse {result.seconds['reverse']:.1f} s)")
    inside = np.mean((iwae_sim >= result.lower - 1e-6) & (iwae_sim <= result.upper + 1e-6))
    print(f"   mean IS - lower = {np.mean(iwae_sim - result.lower):.3f}, upper - IS = "
          f"{np.mean(result.upper - iwae_sim):.3f}; per example inside the sandwich: {inside:.0%}")

    # 3. the gaps, with log p(x) from the longest AIS run of step 1
    longest = [p for p in points if p["method"] == "ais" and p["setting"] == steps][0]
    log_px, ais_seconds = longest["values"], longest["seconds"]
    gaps = evaluation.inference_gaps(vae, x_test, log_px=log_px, optimize_steps=args.optimize_steps, seed=args.seed)
    gaps.seconds["log_px"] = ais_seconds
    gaps.settings["log_px"] = f"AIS T={steps} C={args.chains}"
    print("\n3. " + gaps.summary())

    # 4. HMC on the true posterior vs the amortized q
    x_hmc = x_test[: args.hmc_examples]
    t0 = time.perf_counter()
    hmc = evaluation.posterior_samples(vae, x_hmc, num_samples=1000, num_chains=4, num_burnin_steps=500,
                                       seed=args.seed, jit_compile=jit)
    hmc_seconds = time.perf_counter() - t0
    q = evaluation.posterior_samples(vae, x_hmc, num_samples=1000, method="q", seed=args.seed)
    shift = np.linalg.norm(hmc.mean() - q.mean(), axis=1)
    spread_ratio = np.sqrt(np.trace(q.covariance(), axis1=1, axis2=2) / np.trace(hmc.covariance(), axis1=1, axis2=2))
    print(f"\n4. HMC on {len(x_hmc)} test images (4 chains x 250 samples, 500 burn-in, {hmc_seconds:.1f} s): "
          f"max R-hat {hmc.max_r_hat():.3f}, acceptance {hmc.acceptance_rate.mean():.2f}, "
          f"min ESS {hmc.effective_sample_size.min():.0f}")
    print(f"   |E_q[z] - E_p[z|x]| = {shift.mean():.3f} (mean over images); "
          f"q's total std / true posterior's = {spread_ratio.mean():.2f}")

    # 5. AIS throughput, with and without XLA: the second call of each (traced / compiled)
    n, c, short = min(len(x_test), 16), args.chains, min(args.ais_steps)
    print(f"\n5. AIS throughput, {n} examples x {c} chains (+{min(4, c)} pilot) x {short} steps; each step is "
          "11 decoder gradient passes + 1 forward")
    for xla in (True, False):
        run = dict(num_steps=short, num_chains=c, seed=args.seed, jit_compile=xla)
        t0 = time.perf_counter()
        evaluation.ais_log_likelihood(vae, x_test[:n], **run)
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        evaluation.ais_log_likelihood(vae, x_test[:n], **run)
        seconds = time.perf_counter() - t0
        rate = n * (c + min(4, c)) * short / seconds
        print(f"   XLA {'on ' if xla else 'off'}: {rate:8,.0f} example-chain-steps/s = {rate * 11:10,.0f} gradient "
              f"passes/s ({seconds:.1f} s; first call {first:.1f} s)")
    print(f"\ntotal wall time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
