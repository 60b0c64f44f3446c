"""Mini-study (issue 23): VAE, β-VAE, β-TCVAE, FactorVAE and DIP-VAE (and the
capacity-annealed β-VAE with --models) at equal budget on dSprites-like data, several
seeds, the metric table and a figure of the spread per model (Locatello et al. 2019
show violins; with a few seeds this draws the points over a box).

Every model is the same MLP (1024-256-256-latent / latent-256-256-1024, ReLU,
Bernoulli), trained on ``--num-train`` random images of ``DSprites.small()``
(32 x 32) for ``--epochs`` epochs at batch 64 with Adam 1e-3, from the same initial
weights per seed; the metrics (disentanglement_lib's definitions, smaller sample
sizes than its study: ``--metric-points``) run on the encoder's mean. The default
budget is a smoke-sized study (minutes on two CPU cores), far below the papers'
300,000 steps: compare the rows with each other, not with published numbers.

    python benchmarks/disentanglement.py                         # 2 seeds, 2 epochs, ~5 min
    python benchmarks/disentanglement.py --epochs 3 --num-train 5000 --metric-points 2000  # docs' table
    python benchmarks/disentanglement.py --seeds 5 --epochs 30 --num-train 30000 \
        --metric-points 10000 --figure study.png                 # a longer run
"""
from __future__ import annotations

import argparse
import sys
import time

from _common import machine_line  # noqa: E402  (sets sys.path)

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_vae as kv  # noqa: E402

LATENT = 6


def objectives(steps: int) -> dict:
    return {
        "vae": {"name": "elbo"},
        "beta_vae": {"name": "elbo", "beta": 4.0},
        "beta_tcvae": {"name": "beta_tcvae", "beta": 6.0},
        "factor_vae": {"name": "factor_vae", "gamma": 10.0, "discriminator_units": [256, 256, 256]},
        "dip_vae_i": {"name": "dip_vae", "variant": "i", "lambda_od": 10.0, "lambda_d": 100.0},
        "annealed_vae": {"name": "capacity_elbo", "gamma": 100.0, "capacity_max": 10.0,
                         "capacity_steps": max(1, steps // 2)},
    }


def model(objective, seed: int, shape) -> kv.VAE:
    keras.utils.set_random_seed(seed)  # the same initial weights for every objective
    return kv.VAE(kv.encoders.MLPEncoder([256, 256]), kv.decoders.MLPDecoder([256, 256]),
                  latent_dim=LATENT, input_shape=tuple(shape), objective=objective, seed=seed)


SCORES = [("mig", "discrete_mig", "MIG"), ("dci", "disentanglement", "DCI-D"), ("sap", "SAP_score", "SAP"),
          ("factor_vae_score", "eval_accuracy", "FactorVAE"), ("beta_vae_score", "eval_accuracy", "betaVAE"),
          ("modularity", "modularity_score", "Modularity")]


def scores(vae, data, points: int, seed: int, metrics) -> dict:
    dis = kv.evaluation.disentanglement
    out = {}
    if "mig" in metrics:
        out["MIG"] = dis.mig(vae, data, num_train=points, seed=seed)["discrete_mig"]
    if "dci" in metrics:
        out["DCI-D"] = dis.dci(vae, data, num_train=points // 2, num_test=points // 4, seed=seed)["disentanglement"]
    if "sap" in metrics:
        out["SAP"] = dis.sap(vae, data, num_train=points, num_test=points // 2, seed=seed)["SAP_score"]
    if "factor_vae_score" in metrics:
        out["FactorVAE"] = dis.factor_vae_score(vae, data, num_train=points // 10, num_eval=points // 20,
                                                num_variance_estimate=points, seed=seed)["eval_accuracy"]
    if "beta_vae_score" in metrics:
        out["betaVAE"] = dis.beta_vae_score(vae, data, num_train=points // 10, num_eval=points // 20,
                                            seed=seed)["eval_accuracy"]
    if "modularity" in metrics:
        out["Modularity"] = dis.modularity_explicitness(vae, data, num_train=points, num_test=points // 2,
                                                        seed=seed)["modularity_score"]
    return out


def figure(results: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(next(iter(results.values()))[0])
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.4), squeeze=False)
    for ax, metric in zip(axes[0], names):
        values = [[run[metric] for run in runs] for runs in results.values()]
        if min(len(v) for v in values) >= 4:
            ax.violinplot(values, showmedians=True)
        else:
            ax.boxplot(values)
        for i, v in enumerate(values, start=1):
            ax.scatter(np.full(len(v), i) + np.linspace(-0.08, 0.08, len(v)), v, s=12, color="k", zorder=3)
        ax.set_xticks(range(1, len(results) + 1), list(results), rotation=45, ha="right", fontsize=8)
        ax.set_title(metric)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--num-train", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--metric-points", type=int, default=1000)
    parser.add_argument("--models", default="vae,beta_vae,beta_tcvae,factor_vae,dip_vae_i")
    parser.add_argument("--metrics", default="mig,sap,factor_vae_score,modularity",
                        help="among mig,dci,sap,factor_vae_score,beta_vae_score,modularity")
    parser.add_argument("--figure", default="disentanglement_study.png")
    args = parser.parse_args(argv)
    print(machine_line())
    data = kv.datasets.DSprites.small()
    x, _ = data.load(args.num_train, seed=12345)
    steps = args.epochs * int(np.ceil(args.num_train / args.batch_size))
    chosen = {name: spec for name, spec in objectives(steps).items() if name in args.models.split(",")}
    metrics = args.metrics.split(",")
    print(f"budget: {args.num_train} images of {data!r}, {args.epochs} epochs x batch {args.batch_size} "
          f"= {steps} steps per model; seeds 0..{args.seeds - 1}; metrics on {args.metric_points} points")
    results = {name: [] for name in chosen}
    start = time.time()
    for seed in range(args.seeds):
        for name, objective in chosen.items():
            t = time.time()
            vae = model(objective, seed, data.observation_shape)
            vae.compile(optimizer=keras.optimizers.Adam(1e-3))
            history = vae.fit(x, epochs=args.epochs, batch_size=args.batch_size, verbose=0)
            row = scores(vae, data, args.metric_points, seed, metrics)
            results[name].append(row)
            print(f"seed {seed} {name:13s} elbo {history.history['elbo'][-1]:8.2f} kl {history.history['kl'][-1]:6.2f} "
                  + " ".join(f"{k} {v:.3f}" for k, v in row.items()) + f"  ({time.time() - t:.0f}s)", flush=True)
    names = list(next(iter(results.values()))[0])
    print(f"\nmean ± std over {args.seeds} seeds ({time.time() - start:.0f}s in all)")
    print(f"{'model':13s} " + " ".join(f"{n:>15s}" for n in names))
    for name, runs in results.items():
        cells = [f"{np.mean([r[n] for r in runs]):.3f} ± {np.std([r[n] for r in runs]):.3f}" for n in names]
        print(f"{name:13s} " + " ".join(f"{c:>15s}" for c in cells))
    if args.figure:
        figure(results, args.figure)
        print(f"figure: {args.figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
