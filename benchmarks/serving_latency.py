"""Latency and throughput of the exported signatures vs the Keras model.

    python benchmarks/serving_latency.py [--iters 300] [--batch 256]

On the 784-400-20 MLP VAE (Bernoulli likelihood, untrained weights: the timings do
not depend on them) it measures, on the same inputs:

* p50 / p99 latency of one request of batch 1, and
* throughput (examples/s) at batch ``--batch`` (256),

for ``encode``, ``decode``, ``reconstruct`` and ``score`` (importance-weighted
log p(x) with ``--score-samples`` K, default 64; with the library of a commit
before ``score_samples`` existed it times that version's one-sample, per-row score:
``PYTHONPATH=<old checkout> python benchmarks/serving_latency.py``) through

* the SavedModel signature loaded with ``tf.saved_model.load`` (TF2),
* the SavedModel run in a ``tf.compat.v1.Session`` (how TF Serving executes it),
* the direct Keras calls ``vae.encode`` / ``vae.decode`` (eager), and
* ``vae.predict`` (the reconstruction; Keras' batch-inference path).

Every call materializes all its outputs as numpy arrays, as a server must to
answer. Timings are wall-clock ``time.perf_counter`` per call after warm-up calls.
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time

import numpy as np
import tensorflow as tf

import keras
import keras_vae as kv


def time_calls(fn, iters: int, warmup: int) -> np.ndarray:
    for _ in range(warmup):
        fn()
    times = np.empty(iters)
    for i in range(iters):
        start = time.perf_counter()
        fn()
        times[i] = time.perf_counter() - start
    return times


def signature_runner(loaded, name, feeds):
    fn = loaded.signatures[name]
    tensors = {k: tf.constant(v) for k, v in feeds.items()}
    return lambda: {k: v.numpy() for k, v in fn(**tensors).items()}


class Session:
    """The SavedModel loaded with the TF1 loader, as TF Serving loads it."""

    def __init__(self, directory):
        self.graph = tf.Graph()
        self.session = tf.compat.v1.Session(graph=self.graph)
        with self.graph.as_default():
            self.meta = tf.compat.v1.saved_model.loader.load(
                self.session, [tf.saved_model.SERVING], directory
            )

    def runner(self, name, feeds):
        sig = self.meta.signature_def[name]
        feed = {sig.inputs[k].name: v for k, v in feeds.items()}
        fetch = {k: t.name for k, t in sig.outputs.items()}
        return lambda: self.session.run(fetch, feed)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iters", type=int, default=300, help="batch-1 calls timed")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--batch-iters", type=int, default=30, help="large-batch calls timed")
    parser.add_argument("--score-samples", type=int, default=64, help="K of the score signature")
    parser.add_argument("--only", nargs="*", default=None, help="signatures to time (default all)")
    args = parser.parse_args(argv)
    tf.get_logger().setLevel("ERROR")  # the TF1 loader's deprecation notice

    vae = kv.VAE(
        encoder=kv.encoders.MLPEncoder([400]),
        decoder=kv.decoders.MLPDecoder([400]),
        latent_dim=20,
        input_shape=(28, 28, 1),
        likelihood="bernoulli",
        seed=0,
    )
    rng = np.random.default_rng(0)
    x1 = rng.uniform(size=(1, 28, 28, 1)).astype("float32")
    xb = rng.uniform(size=(args.batch, 28, 28, 1)).astype("float32")
    z1 = rng.normal(size=(1, 20)).astype("float32")
    zb = rng.normal(size=(args.batch, 20)).astype("float32")

    with tempfile.TemporaryDirectory() as base:
        t0 = time.perf_counter()
        try:
            directory = vae.export(base, warmup=False, score_samples=args.score_samples)
            score_note = f"score: importance-weighted log p(x), K={args.score_samples}"
        except TypeError:  # a version before score_samples: the one-sample score
            directory = vae.export(base, warmup=False)
            score_note = "score: one-sample ELBO per row (tf.map_fn), the version before K"
        export_s = time.perf_counter() - t0
        loaded = tf.saved_model.load(directory)
        session = Session(directory)

        cases = []  # (operation, path, batch-1 runner, batch-N runner)
        for op, name, small, big in [
            ("encode", "x", x1, xb), ("decode", "z", z1, zb), ("reconstruct", "x", x1, xb),
            ("score", "x", x1, xb),
        ]:
            cases.append((op, "SavedModel signature (TF2 load)",
                          signature_runner(loaded, op, {name: small}),
                          signature_runner(loaded, op, {name: big})))
            cases.append((op, "SavedModel in TF1 Session (as TF Serving)",
                          session.runner(op, {name: small}), session.runner(op, {name: big})))
        cases.insert(2, ("encode", "vae.encode (eager Keras)",
                         lambda: vae.encode(x1).numpy(), lambda: vae.encode(xb).numpy()))
        cases.insert(5, ("decode", "vae.decode (eager Keras)",
                         lambda: vae.decode(z1).numpy(), lambda: vae.decode(zb).numpy()))
        cases.append(("reconstruct", "vae.reconstruct (eager Keras)",
                      lambda: vae.reconstruct(x1).numpy(), lambda: vae.reconstruct(xb).numpy()))
        cases.append(("reconstruct", "vae.predict (Keras)",
                      lambda: vae.predict(x1, verbose=0),
                      lambda: vae.predict(xb, batch_size=args.batch, verbose=0)))

        print(f"VAE 784-400-20 MLP, Bernoulli likelihood | TF {tf.__version__}, Keras "
              f"{keras.__version__}, {platform.processor() or platform.machine()}, "
              f"{os.cpu_count()} CPUs, devices: "
              f"{[d.device_type for d in tf.config.list_physical_devices()]}")
        print(score_note)
        if args.only:
            cases = [case for case in cases if case[0] in args.only]
        print(f"export: {export_s:.1f} s | batch-1: {args.iters} calls after {args.warmup} "
              f"warm-up | batch {args.batch}: {args.batch_iters} calls\n")
        header = (f"{'signature':<12} {'path':<42} {'p50 ms':>8} {'p99 ms':>8} "
                  f"{'ex/s @' + str(args.batch):>12}")
        print(header)
        print("-" * len(header))
        previous = None
        for op, path, small, big in cases:
            lat = time_calls(small, args.iters, args.warmup) * 1e3
            batch = time_calls(big, args.batch_iters, max(2, args.warmup // 5))
            throughput = args.batch / np.median(batch)
            if previous and previous != op:
                print()
            previous = op
            print(f"{op:<12} {path:<42} {np.percentile(lat, 50):8.3f} "
                  f"{np.percentile(lat, 99):8.3f} {throughput:12,.0f}")
        print("\nex/s = batch / median time of one batch call. The signatures also compute"
              "\nwhat vae.encode/decode skip: encode returns stddev and a sample z, decode"
              "\nalso samples x ~ p(x|z).")


if __name__ == "__main__":
    main()
