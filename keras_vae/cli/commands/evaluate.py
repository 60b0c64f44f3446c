"""``keras-vae evaluate MODEL DATA``: ELBO, log-likelihood, bits/dim, active units."""
from __future__ import annotations

import argparse
import json

from keras_vae.cli.output import say, table


def run(args: argparse.Namespace) -> int:
    from keras_vae.cli.run_folder import load_model
    from keras_vae.cli.scoring import finite, score

    import numpy as np

    vae, standardizer = load_model(args.model)
    from keras_vae import datasets

    x, _ = datasets.load_dataset(args.data, split=args.split)
    if args.limit is not None:
        x = x[: args.limit]
    x = np.asarray(x, np.float32)
    if standardizer is not None:
        x = standardizer.transform(x)
    if args.binarize:
        x = datasets.binarize(x, seed=args.seed)
    vae.check_data(x, "DATA")
    scores = score(vae, x, args.num_samples, args.batch_size, args.seed, progress=not args.no_progress)
    scores = {"model": args.model, "data": args.data, "split": args.split} | scores
    if args.json:
        shown = {k: (finite(v) if isinstance(v, float) else v) for k, v in scores.items()}
        say(json.dumps(shown, indent=2))
        return 0
    say(
        f"{args.model} on {args.data!r} ({args.split} split, {scores['num_examples']} examples)",
        table(
            [
                ("ELBO", f"{scores['elbo']:.3f} nats"),
                ("log-likelihood", f"{scores['log_likelihood']:.3f} nats (K={args.num_samples})"),
                ("bits/dim", f"{scores['bits_per_dim']:.4f}"),
                ("active units", f"{scores['active_units']} / {scores['latent_dim']}"),
            ]
        ),
    )
    return 0
