"""MCMC beside variational inference on a small trained MNIST model: AIS against
importance sampling checked by the BDMC sandwich on data simulated from the model,
the inference gaps (Cremer et al., 2018), and HMC's R-hat.

Trains the small MLP VAE of the MCMC benchmarks (784-300-20 / 20-300-784,
Bernoulli; ``_common.small_vae``) for ``--epochs`` on dynamically binarized MNIST
(or loads ``--load``, e.g. the model ``benchmarks/ais.py --save`` wrote), then on
``--limit`` statically binarized test images:

1. log p(x) on the test images by AIS (from the prior, ``--ais-steps`` steps,
   ``--chains`` chains, 10 leapfrog steps) and by importance sampling at
   K = ``--iwae-k``;
2. BDMC on ``--limit`` examples simulated from the model at the same AIS setting:
   lower and upper bounds, and where the importance-sampled estimate falls on them;
3. the check of issue 10: do AIS and importance sampling agree on the test images
   to within the BDMC sandwich, |mean AIS - mean IS| <= mean (upper - lower)?
4. the gaps table: log p(x) (the AIS run of 1), ELBO of the per-example optimized
   and of the amortized q, approximation and amortization gaps;
5. HMC posterior samples of ``--hmc-examples`` test images (4 chains x 500 samples
   after 500 burn-in, 10 leapfrog steps) with the defaults (preconditioned by q's
   spreads, step size jittered) and without them: R-hat, ESS, acceptance, and how
   far the amortized q is from the true posterior.

Estimates vs cost and AIS throughput are ``benchmarks/ais.py``.

Usage::

    python benchmarks/inference_gaps.py                       # about 2 minutes on 2 CPU cores
    python benchmarks/inference_gaps.py --load /tmp/mnist_small.keras   # the model ais.py --save wrote
    python benchmarks/inference_gaps.py --epochs 10 --limit 200 --ais-steps 1000

Data: ``--data DIR``, else $KERAS_VAE_DATA, else ../shared/data/mnist beside the
repository, else the Keras cache / download.
"""
from __future__ import annotations

import argparse
import time

from _common import add_small_vae_arguments, binarized_test_images, machine_line, trained_small_vae  # noqa: E402

import numpy as np  # noqa: E402

from keras_vae import evaluation  # noqa: E402

# 4 chains x 500 samples: at 250 per chain the largest R-hat of the 160 example-
# dimensions scattered from 1.03 to 1.06 over seeds and trainings (see hmc.py).
HMC = dict(num_samples=2000, num_chains=4, num_burnin_steps=500, num_leapfrog_steps=10)


def _timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_small_vae_arguments(parser)
    parser.add_argument("--limit", type=int, default=50, help="test images (and simulated examples)")
    parser.add_argument("--iwae-k", type=int, default=5000, help="importance samples K")
    parser.add_argument("--ais-steps", type=int, default=300, help="AIS steps (test images and BDMC)")
    parser.add_argument("--chains", type=int, default=8, help="AIS chains per example")
    parser.add_argument("--optimize-steps", type=int, default=300, help="Adam steps of the optimized q")
    parser.add_argument("--hmc-examples", type=int, default=8)
    parser.add_argument("--no-jit", action="store_true", help="AIS / HMC without XLA")
    args = parser.parse_args(argv)
    jit = not args.no_jit
    started = time.perf_counter()

    print(machine_line())
    vae, line = trained_small_vae(args)
    x_test = binarized_test_images(args, args.limit)
    steps, k = args.ais_steps, args.iwae_k
    ais = dict(num_steps=steps, num_chains=args.chains, seed=args.seed, jit_compile=jit)
    print(f"{line}; {len(x_test)} test images; AIS from the prior, {steps} steps, {args.chains} chains, "
          f"10 leapfrog steps, XLA {'on' if jit else 'off'}")

    # 1. log p(x) of the test images, two ways
    ais_test, ais_seconds = _timed(evaluation.ais_log_likelihood, vae, x_test, **ais)
    is_test, is_seconds = _timed(evaluation.log_likelihood, vae, x_test, num_samples=k, seed=args.seed)
    print(f"\n1. log p(x) of the {len(x_test)} test images (nats/example; seconds include tracing / compiling)")
    print(f"   AIS, {steps} steps x {args.chains} chains: {ais_test.mean():9.3f}  ({ais_seconds:.1f} s)")
    print(f"   importance sampling, K={k}: {is_test.mean():9.3f}  ({is_seconds:.1f} s)")

    # 2. BDMC on simulated data, and where the importance-sampled estimate falls
    print(f"\n2. BDMC on {args.limit} examples simulated from the model (AIS {steps} steps each way)")
    result = evaluation.bdmc(vae, num_examples=args.limit, **ais)
    is_sim = evaluation.log_likelihood(vae, result.x, num_samples=k, seed=args.seed)
    print(f"   {result.summary()}")
    print(f"   (forward {result.seconds['forward']:.1f} s, reverse {result.seconds['reverse']:.1f} s)")
    inside = np.mean((is_sim >= result.lower - 1e-6) & (is_sim <= result.upper + 1e-6))
    print(f"   importance sampling K={k} on the same data: {is_sim.mean():.3f}; mean IS - lower = "
          f"{np.mean(is_sim - result.lower):.3f}, upper - IS = {np.mean(result.upper - is_sim):.3f}; "
          f"per example inside the sandwich: {inside:.0%}")

    # 3. the check: AIS and IS agree on the test images to within the sandwich width
    difference = abs(ais_test.mean() - is_test.mean())
    width = float(np.mean(result.gap()))
    se = np.std(ais_test - is_test, ddof=1) / np.sqrt(len(x_test))
    print(f"\n3. AIS vs importance sampling on the test images: |{ais_test.mean():.2f} - ({is_test.mean():.2f})| = "
          f"{difference:.3f} nats (standard error {se:.3f}); BDMC sandwich width on simulated data at the same "
          f"AIS setting: {width:.3f} nats")
    print(f"   agree within the sandwich: {'yes' if difference <= width else 'no'}")

    # 4. the gaps, with log p(x) from the AIS run of step 1
    gaps = evaluation.inference_gaps(vae, x_test, log_px=ais_test, optimize_steps=args.optimize_steps,
                                     seed=args.seed)
    gaps.seconds["log_px"] = ais_seconds
    gaps.settings["log_px"] = f"AIS T={steps} C={args.chains}"
    print("\n4. " + gaps.summary())

    # 5. HMC on the true posterior vs the amortized q, with the defaults and without them
    x_hmc = x_test[: args.hmc_examples]
    q = evaluation.posterior_samples(vae, x_hmc, num_samples=HMC["num_samples"], method="q", seed=args.seed)
    print(f"\n5. HMC on {len(x_hmc)} test images, {HMC['num_chains']} chains x "
          f"{HMC['num_samples'] // HMC['num_chains']} samples after {HMC['num_burnin_steps']} burn-in, "
          f"{HMC['num_leapfrog_steps']} leapfrog steps (seconds include tracing / compiling)")
    for name, options in (("defaults (preconditioned by q's spreads, step size jittered ±50%)", {}),
                          ("neither (one scalar step size per example)",
                           dict(precondition=False, step_size_jitter=0.0))):
        hmc, seconds = _timed(evaluation.posterior_samples, vae, x_hmc, seed=args.seed, jit_compile=jit,
                              **HMC, **options)
        print(f"   {name}: max R-hat {hmc.max_r_hat():.3f}, min ESS {hmc.effective_sample_size.min():.0f} "
              f"of {HMC['num_samples']}, acceptance {hmc.acceptance_rate.mean():.2f} ({seconds:.1f} s)")
        if not options:
            shift = np.linalg.norm(hmc.mean() - q.mean(), axis=1)
            spread = np.sqrt(np.trace(q.covariance(), axis1=1, axis2=2) / np.trace(hmc.covariance(), axis1=1, axis2=2))
            print(f"      |E_q[z] - E_p[z|x]| = {shift.mean():.3f} (mean over images); "
                  f"q's total std / true posterior's = {spread.mean():.2f}")
    print(f"\ntotal wall time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
