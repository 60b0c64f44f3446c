"""keras_vae's disentanglement metrics beside disentanglement_lib's own code (issue 23).

disentanglement_lib's metric functions (vendored, Apache-2.0, in
tests/disentanglement_lib_reference.py: numpy + scikit-learn, gin removed) and
``kv.evaluation.disentanglement`` run on the same model (a small β-VAE trained for
``--epochs`` on ``DSprites.small()``), the same data object and the same seeds. Per
metric it prints both means over ``--seeds`` seeds, the largest difference between
the two on the same seed, and the Monte Carlo spread (std over seeds) that a
difference must stay within. Sample sizes are ``--points`` (train) and half of it
(test); the FactorVAE and β-VAE scores use a tenth / a twentieth of it as points.

    python benchmarks/disentanglement_reference.py                 # 2 seeds, 600 points
    python benchmarks/disentanglement_reference.py --seeds 3 --points 1000   # the docs' table
    python benchmarks/disentanglement_reference.py --points 10000 --seeds 5
"""
from __future__ import annotations

import argparse
import os
import sys
import time

from _common import ROOT, machine_line  # noqa: E402  (sets sys.path)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import sklearn  # noqa: E402

import keras_vae as kv  # noqa: E402

sys.path.insert(0, os.path.join(str(ROOT), "tests"))
import disentanglement_lib_reference as ref  # noqa: E402


def pairs(vae, data, points: int, seed: int):
    """(name, our scores, reference scores) of every metric on one seed."""
    dis = kv.evaluation.disentanglement
    fn = lambda x: np.asarray(vae.encode(np.asarray(x, np.float32)))  # noqa: E731
    rs = np.random.RandomState
    half, tenth, twentieth = points // 2, max(points // 10, 2), max(points // 20, 1)
    return [
        ("mig", dis.mig(fn, data, num_train=points, seed=rs(seed)), ref.compute_mig(data, fn, rs(seed), points)),
        ("dci", dis.dci(fn, data, num_train=half, num_test=half // 2, seed=rs(seed)),
         ref.compute_dci(data, fn, rs(seed), half, half // 2)),
        ("sap", dis.sap(fn, data, num_train=points, num_test=half, seed=rs(seed)),
         ref.compute_sap(data, fn, rs(seed), points, half)),
        ("factor_vae_score", dis.factor_vae_score(fn, data, num_train=tenth, num_eval=twentieth,
                                                  num_variance_estimate=points, seed=rs(seed)),
         ref.compute_factor_vae(data, fn, rs(seed), 64, tenth, twentieth, points)),
        ("beta_vae_score", dis.beta_vae_score(fn, data, num_train=tenth, num_eval=twentieth, seed=rs(seed)),
         ref.compute_beta_vae_sklearn(data, fn, rs(seed), 64, tenth, twentieth)),
        ("modularity", dis.modularity_explicitness(fn, data, num_train=points, num_test=half, seed=rs(seed)),
         ref.compute_modularity_explicitness(data, fn, rs(seed), points, half)),
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--num-train", type=int, default=5000)
    parser.add_argument("--points", type=int, default=600)
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args(argv)
    print(machine_line())
    print(f"scikit-learn {sklearn.__version__}, numpy {np.__version__}; disentanglement_lib at 86a644d (vendored)")
    data = kv.datasets.DSprites.small()
    x, _ = data.load(args.num_train, seed=1)
    keras.utils.set_random_seed(0)
    vae = kv.VAE(kv.encoders.MLPEncoder([256, 256]), kv.decoders.MLPDecoder([256, 256]), latent_dim=6,
                 input_shape=tuple(data.observation_shape), beta=4.0, seed=0)
    vae.compile(optimizer="adam")
    vae.fit(x, epochs=args.epochs, batch_size=64, verbose=0)
    start = time.time()
    table: dict = {}
    for seed in range(args.seeds):
        for name, ours, theirs in pairs(vae, data, args.points, seed):
            for key in theirs:
                table.setdefault(f"{name}.{key}", []).append((float(ours[key]), float(theirs[key])))
    print(f"\n{args.seeds} seeds, {args.points} points ({time.time() - start:.0f}s)")
    print(f"{'score':45s} {'keras_vae':>10s} {'dlib':>10s} {'max |diff|':>11s} {'MC std':>8s}  agree")
    worst = 0.0
    for key, rows in table.items():
        ours, theirs = np.array(rows).T
        diff = float(np.max(np.abs(ours - theirs)))
        spread = float(np.std(theirs))
        ok = diff <= max(3 * spread, 1e-9)
        worst = max(worst, diff)
        print(f"{key:45s} {ours.mean():10.4f} {theirs.mean():10.4f} {diff:11.2e} {spread:8.4f}  {'yes' if ok else 'NO'}")
    print(f"largest difference on the same seed: {worst:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
