"""``keras-vae disentanglement MODEL --data dsprites``: the disentanglement metrics
table and a latent-traversal picture (one row per latent, sorted by KL)."""
from __future__ import annotations

import argparse
import json
import os

from keras_vae.cli.errors import UsageError
from keras_vae.cli.output import say

DATASETS = ("dsprites", "dsprites_small")


def ground_truth_data(name: str):
    from keras_vae import datasets

    if name == "dsprites":
        return datasets.DSprites()
    if name == "dsprites_small":
        return datasets.DSprites.small()
    raise UsageError(f"--data {name!r}: unknown; use one of {', '.join(DATASETS)}.")


def traversal_figure(vae, data, path: str, seed: int = 0, steps: int = 9, limit: float = 2.5) -> list[int]:
    """Rows of decoded means, one per latent sorted by KL (largest first), each
    latent swept over [-limit, limit] from the code of one random image. Returns
    the order of the latents."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from keras_vae import evaluation

    x = data.sample_observations(256, seed).astype("float32")
    kl = evaluation.kl_per_dimension(vae, x, seed=seed)
    order = [int(i) for i in np.argsort(-kl)]
    values = np.linspace(-limit, limit, steps)
    fig, axes = plt.subplots(len(order), steps, figsize=(steps * 0.9, len(order) * 0.95), squeeze=False)
    for row, dim in enumerate(order):
        images = np.asarray(evaluation.traverse(vae, x[0], dim=dim, values=values))
        for col in range(steps):
            ax = axes[row, col]
            ax.imshow(images[col, ..., 0], cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[row, 0].set_ylabel(f"z{dim}\n{kl[dim]:.2f}", fontsize=7, rotation=0, labelpad=18)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return order


def run(args: argparse.Namespace) -> int:
    from keras_vae.cli.run_folder import load_model
    from keras_vae.evaluation.disentanglement.metrics import METRICS

    metrics = [m for m in args.metrics.split(",") if m]
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise UsageError(f"--metrics: unknown {unknown or metrics}; choose among {', '.join(METRICS)}.")
    data = ground_truth_data(args.data)
    vae, _ = load_model(args.model)
    if vae.data_shape != tuple(data.observation_shape):
        raise UsageError(
            f"{args.model} takes examples of shape {vae.data_shape}, but --data {args.data} has "
            f"{tuple(data.observation_shape)}; train on it first (or pick the other dSprites size)."
        )
    from keras_vae import evaluation

    scores = evaluation.disentanglement_metrics(vae, data, metrics=metrics, num_train=args.num_train,
                                                num_test=args.num_test, seed=args.seed)
    lines = [f"{args.model} on {data!r} ({args.num_train} / {args.num_test} points, seed {args.seed})"]
    for metric, values in scores.items():
        for key, value in values.items():
            lines.append(f"  {metric + '.' + key:42s} {value:.4f}")
    say(*lines)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"model": args.model, "data": args.data, "scores": scores}, f, indent=2)
        say(f"scores written to {args.json}")
    path = args.traversal or os.path.join(os.path.dirname(os.path.abspath(args.model)), "traversal.png")
    if path != "none":
        order = traversal_figure(vae, data, path, seed=args.seed)
        say(f"latent traversal (rows by KL: {order}) drawn to {path}")
    return 0
