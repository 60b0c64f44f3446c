"""Throughput of the importance-sampled log-likelihood estimator, against the bound
the decoder's matrix products set on this machine.

The estimator's cost is K decoder passes per example; the matrix products of those
passes are its floor. This script times ``keras_vae.evaluation.log_likelihood`` in its
three ``jit_compile`` modes (no XLA; ``"auto"``, XLA for the likelihood's log-density
alone; XLA for all of it) and, in turns in the same run, the decoder's matrix products
alone (the same kernels, no bias, activation, likelihood or sampling), looped inside
one graph at several row counts: the fastest of those is the bound, and the
estimator's fraction of it is the figure of merit. The weights do not change the
cost, so the model is untrained unless ``--epochs`` is given.

Models: ``mlp400`` (784-400-20, ReLU, Bernoulli; the model the issue measured) and
``burda`` (784-200-200-50 tanh, Burda et al. 2015).

Usage::

    python benchmarks/log_likelihood.py                       # mlp400, K = 200, 1000 images
    python benchmarks/log_likelihood.py --flat                # the same data as 784-vectors
    python benchmarks/log_likelihood.py --model burda --num-samples 1000 --rounds 3
    python benchmarks/log_likelihood.py --per-element         # also the Bernoulli sum before grouping
    python benchmarks/log_likelihood.py --memory-samples 1e8  # peak memory of one image at K = 1e8

``--memory-samples K`` measures memory instead of speed: the growth of the process's
peak resident memory while one test image is scored with K samples (after a warm-up
at K = 1000), in a fresh process, at K / 100 and at K. The estimator streams, so both
are one chunk's worth (the issue's bound: 150 MB at K = 1e8 for an MNIST model). At
K = 1e8 the 784-400-20 model takes about an hour on two cores (0.64 MFLOP a sample).

Data: ``--data DIR``, else $KERAS_VAE_DATA, else ../shared/data/mnist beside the
repository.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import statistics
import subprocess
import sys
import textwrap
import time

from _common import burda_vae, data_path, machine_line, mlp_vae  # noqa: E402  (sets sys.path)

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_vae import datasets, evaluation  # noqa: E402
from keras_vae.likelihoods import bernoulli  # noqa: E402

# The module (the package re-exports its function under the same name).
ll_module = importlib.import_module("keras_vae.evaluation.log_likelihood")


def decoder_kernels(vae) -> list:
    """The decoder's Dense kernels in call order (the likelihood head's included)."""
    layers = [layer for layer in vae.decoder._flatten_layers() if isinstance(layer, keras.layers.Dense)]
    head = [layer for layer in vae.likelihood_layer._flatten_layers() if isinstance(layer, keras.layers.Dense)]
    return [layer.kernel for layer in layers + head]


def matmul_chain(vae, rows: int, samples: int):
    """``(run, flops per sample)``: the decoder's matrix products alone on ``samples``
    latents, ``rows`` at a time, looped inside one graph (no Python call per pass, so
    the bound is not lowered by dispatch costs the estimator does not pay either).
    ``run()`` blocks until done."""
    kernels = [tf.convert_to_tensor(k) for k in decoder_kernels(vae)]
    flops = sum(2 * int(k.shape[0]) * int(k.shape[1]) for k in kernels)
    passes = -(-samples // rows)
    # A few distinct inputs, indexed by the loop counter, so no pass can be hoisted
    # out of the loop as loop-invariant.
    inputs = tf.random.normal([min(passes, 8), rows, int(kernels[0].shape[0])])

    @tf.function
    def chain():
        def body(i, total):
            h = inputs[i % inputs.shape[0]]
            for k in kernels:
                h = tf.matmul(h, k)
            return i + 1, total + h[0, 0]

        return tf.while_loop(lambda i, _: i < passes, body, (tf.constant(0), tf.constant(0.0)))[1]

    chain()
    return (lambda: chain().numpy()), flops


@contextlib.contextmanager
def one_log_per_element():
    """The Bernoulli head summing its densities one ``log`` per element under XLA, as
    before ``summed_log_prob`` grouped them into products (for the comparison)."""
    grouped = bernoulli._FusedBernoulli.summed_log_prob
    bernoulli._FusedBernoulli.summed_log_prob = lambda self, event, size: None
    try:
        yield
    finally:
        bernoulli._FusedBernoulli.summed_log_prob = grouped


MEMORY_SCRIPT = textwrap.dedent(
    """
    import resource, sys, time
    sys.path.insert(0, sys.argv[1])
    from _common import burda_vae, mlp_vae
    from keras_vae import datasets
    x, _ = datasets.load_mnist("test", path=sys.argv[2] or None)
    x = datasets.binarize(x[:1], seed=0)
    vae = mlp_vae(400, 20, 0) if sys.argv[3] == "mlp400" else burda_vae(0)
    vae.log_likelihood(x, num_samples=1000, seed=0)  # warm: traces, TF's own allocations
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for k in map(int, sys.argv[4:]):
        start = time.perf_counter()
        ll = vae.log_likelihood(x, num_samples=k, seed=0)
        extra = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        print(f"K = {k:.0e}: peak memory +{extra:.0f} MiB over the warm-up, "
              f"{time.perf_counter() - start:.0f} s, log p(x) {ll[0]:.3f}", flush=True)
    """
)


def memory(args) -> int:
    """Peak-memory growth of one image at K / 100 and K samples, in a fresh process."""
    import os

    k = int(float(args.memory_samples))
    print(machine_line())
    print(f"model: {args.model}; one test image; peak resident memory (ru_maxrss)")
    here = os.path.dirname(os.path.abspath(__file__))
    command = [sys.executable, "-c", MEMORY_SCRIPT, here, str(data_path(args.data) or ""), args.model,
               str(max(1, k // 100)), str(k)]
    return subprocess.run(command).returncode


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Throughput of the log-likelihood estimator.")
    parser.add_argument("--data", default=None, help="directory with the MNIST IDX files")
    parser.add_argument("--model", choices=["mlp400", "burda"], default="mlp400")
    parser.add_argument("--num-samples", type=int, default=200, help="K importance samples")
    parser.add_argument("--limit", type=int, default=1000, help="number of test images")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--chunk-size", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=5, help="timed runs of each variant (median)")
    parser.add_argument("--epochs", type=int, default=0, help="train briefly first (0: untrained)")
    parser.add_argument("--flat", action="store_true", help="data as 784 numbers, not 28 x 28 x 1 images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-element", action="store_true",
                        help="also time the default with one log per element in the Bernoulli sum "
                             "(the form before the grouped products), in turns in the same run")
    parser.add_argument("--memory-samples", default=None, metavar="K",
                        help="measure peak memory for one image at K / 100 and K samples (e.g. 1e8) "
                             "instead of speed")
    args = parser.parse_args(argv)
    if args.memory_samples:
        return memory(args)

    x_test, _ = datasets.load_mnist("test", path=data_path(args.data))
    x_test = datasets.binarize(x_test[: args.limit], seed=args.seed)
    if args.flat:
        x_test = x_test.reshape(len(x_test), -1)
    def build():
        return mlp_vae(400, 20, args.seed, x_test.shape[1:]) if args.model == "mlp400" else burda_vae(args.seed)

    vae = build()
    if args.epochs:
        x_train, _ = datasets.load_mnist("train", path=data_path(args.data))
        vae.compile(optimizer=keras.optimizers.Adam(1e-3))
        vae.fit(datasets.dynamic_binarization(x_train, batch_size=100, seed=args.seed),
                epochs=args.epochs, verbose=2)

    print(machine_line())
    auto_batch = ll_module._SAMPLE_BUDGET // (args.num_samples * vae.latent_dim)
    rows = min(len(x_test), args.batch_size or auto_batch)
    per_chunk = min(args.num_samples, args.chunk_size or max(
        1, min(ll_module._CHUNK_BUDGET // (rows * 784), ll_module._CHUNK_ROWS // rows)))
    print(f"model: {args.model}; images: {len(x_test)}; K = {args.num_samples}; "
          f"batch_size = {args.batch_size or 'auto'}; chunk_size = {args.chunk_size or 'auto'} "
          f"({per_chunk} samples x {rows} images = {per_chunk * rows} decoder rows per chunk)")
    pairs = len(x_test) * args.num_samples
    kwargs = dict(num_samples=args.num_samples, batch_size=args.batch_size,
                  chunk_size=args.chunk_size, seed=args.seed)
    # The bound is the fastest of the decoder's matrix products over several row
    # counts (the estimator's own included), timed in turns with the estimator's modes,
    # round after round, so a slower moment of a shared machine falls on all alike.
    bound_rows = sorted({per_chunk * rows, 500, 1000, 2000, 5000})
    chains = {n: matmul_chain(vae, n, pairs) for n in bound_rows}
    flops = chains[bound_rows[0]][1]
    variants = {("bound", n): chain for n, (chain, _) in chains.items()}
    modes = (False, "auto", True)
    variants.update({
        jit: (lambda jit=jit: evaluation.log_likelihood(vae, x_test, jit_compile=jit, **kwargs)) for jit in modes
    })
    if args.per_element:
        # A second model with the same weights, so its traced functions are its own.
        twin = build()
        twin.set_weights(vae.get_weights())

        def per_element():
            with one_log_per_element():
                return evaluation.log_likelihood(twin, x_test, jit_compile="auto", **kwargs)

        variants["per-element"] = per_element
        modes = modes + ("per-element",)
    estimates = {jit: variants[jit]().mean() for jit in modes}  # warm-up: trace, compile
    times = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, run in variants.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    rates = {name: pairs / statistics.median(t) for name, t in times.items()}
    print("decoder matrix products alone: " + ", ".join(
        f"{n} rows {rates[('bound', n)]:,.0f}/s" for n in bound_rows))
    bound = max(rates[("bound", n)] for n in bound_rows)
    print(f"bound (the fastest of those): {bound:,.0f} image-samples/s "
          f"({bound * flops / 1e9:.0f} GFLOP/s; {flops / 1e6:.2f} MFLOP per sample)")
    described = {False: "no XLA", "auto": "XLA for the likelihood alone", True: "XLA for all of it",
                 "per-element": "as auto, one log per element"}
    for jit in modes:
        setting = "auto " if jit == "per-element" else f"{jit!s:5}"
        print(f"estimator, jit_compile={setting} ({described[jit]}): {rates[jit]:,.0f} image-samples/s, "
              f"{rates[jit] / bound:.0%} of the bound (median of {args.rounds}); "
              f"mean log p(x) {estimates[jit]:.3f} nats")
    return 0


if __name__ == "__main__":
    sys.exit(main())
