"""How Burda et al.'s two-layer model starts: the first stages of the paper's schedule.

``paper_table.py --schedule paper --rows h2_vae_k1`` trains the two-layer row over the
3,280 epochs; it starts 25-33 nats behind the one-layer row and closes the gap slowly
(docs/hierarchical.md). This benchmark trains the first stages only (by default the first
four: 1 + 3 + 9 + 27 = 40 epochs at the paper's learning rates) for a few variants of the
two-layer row, to see which choice changes its start: the batch size, PyTorch's
initialization (as pythae's layers) instead of Keras', the IWAE objective, and the
paper's learning rates times 5 (``paper_table.py --lr-scale 5``: the square-root rule
for batch 500 against the paper's 20), and the output bias started at the data's mean
(``initialize_output_bias``, as Burda et al.'s released code does). Each line:
the test ELBO on the first ``--limit`` test images (binarized once, as paper_table's
curves, so the numbers match its curve files), the KL per group and the active units per
group at the end.

Usage::

    python benchmarks/hierarchical_start.py                               # 6 variants, ~30 min CPU
    python benchmarks/hierarchical_start.py --variants vae_b500 --epochs 4
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from _common import data_path, machine_line  # noqa: E402  (sets sys.path)
from paper_table import scaled_learning_rate  # noqa: E402
from pythae_compare import torch_style_init  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_vae as kv  # noqa: E402
from keras_vae import datasets  # noqa: E402

# name: (batch size, initialization, objective, samples, learning-rate scale)
VARIANTS = {
    "vae_b500": (500, "keras", "elbo", 1, 1.0),          # paper_table's h2_vae_k1 at batch 500
    "vae_b500_torch_init": (500, "torch", "elbo", 1, 1.0),
    "vae_b100": (100, "keras", "elbo", 1, 1.0),
    "iwae_k5_b500": (500, "keras", "iwae", 5, 1.0),
    "vae_b500_lr5": (500, "keras", "elbo", 1, 5.0),
    # The output bias at the logit of each pixel's training mean (Burda et al.'s released
    # code; kv's initialize_output_bias): what lifted the one-layer row's start.
    "vae_b500_bias_mean": (500, "data_mean", "elbo", 1, 1.0),
}


def run_variant(name: str, args, x_train: np.ndarray, x_test: np.ndarray) -> dict:
    """Trains one variant for ``args.epochs`` epochs of the paper's schedule; its
    test ELBO, KL per group (training, last epoch) and active units per group."""
    batch_size, init, objective, samples, lr_scale = VARIANTS[name]
    keras.utils.set_random_seed(args.seed)
    vae = kv.HierarchicalVAE(input_shape=(28, 28, 1), seed=args.seed,
                             objective={"name": objective, "num_samples": samples})
    vae.compile(optimizer=keras.optimizers.Adam(1e-3, epsilon=1e-4), steps_per_execution=30)
    if init == "torch":
        torch_style_init(vae, args.seed)
    elif init == "data_mean":
        vae.initialize_output_bias(x_train)
    train = datasets.dynamic_binarization(x_train, batch_size=batch_size, seed=args.seed)
    start = time.perf_counter()
    history = vae.fit(train, epochs=args.epochs, verbose=0, shuffle=False,
                      callbacks=[keras.callbacks.LearningRateScheduler(scaled_learning_rate(lr_scale))]).history
    seconds = time.perf_counter() - start
    groups = len(vae.latent_dims)
    return {
        "variant": name,
        "test_elbo": float(np.mean(vae.elbo(x_test, seed=args.seed).numpy())),
        "kl_per_group": [float(history[f"kl_{g + 1}"][-1]) for g in range(groups)],
        "active_units_per_group": [int(a) for a in vae.active_units(x_test)["per_group"]],
        "train_seconds": round(seconds, 1),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="directory with the MNIST IDX files")
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--epochs", type=int, default=40, help="epochs of the paper's schedule (40: 4 stages)")
    parser.add_argument("--limit", type=int, default=1000, help="score the first N test images")
    parser.add_argument("--train-limit", type=int, default=None, help="train on the first N images")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error("--epochs must be >= 1")

    path = data_path(args.data)
    x_train, _ = datasets.load_mnist("train", path=path)
    x_test, _ = datasets.load_mnist("test", path=path)
    x_train = x_train[: args.train_limit]
    x_test = datasets.binarize(x_test[: args.limit], seed=args.seed)  # binarized once
    print(machine_line())
    print(f"two-layer model (kv.HierarchicalVAE defaults), {args.epochs} epochs of Burda et al.'s "
          f"schedule on {len(x_train)} images; test ELBO on {len(x_test)} test images", flush=True)
    print(f"{'variant':<22}{'test ELBO':>11}{'KL z1, z2':>15}{'active z1, z2':>15}{'seconds':>9}")
    for name in args.variants:
        r = run_variant(name, args, x_train, x_test)
        kl = ", ".join(f"{v:.2f}" for v in r["kl_per_group"])
        active = ", ".join(str(v) for v in r["active_units_per_group"])
        print(f"{name:<22}{r['test_elbo']:>11.2f}{kl:>15}{active:>15}{r['train_seconds']:>9.1f}", flush=True)
        print(json.dumps(r), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
