"""``keras-vae evaluate MODEL DATA``: ELBO, log-likelihood (importance-sampled, or AIS
with ``--method ais``), bits/dim (discrete likelihoods), active units; for a
conditioned model given each row's condition, read from DATA as train read it."""
from __future__ import annotations

import argparse
import json

from keras_vae.cli.errors import UsageError
from keras_vae.cli.output import say, table


def _ais_settings(args: argparse.Namespace) -> None:
    """Refuse AIS flags without ``--method ais`` (they would be ignored); fill defaults."""
    from keras_vae.cli.parser import AIS_DEFAULTS

    given = [f"--{key.replace('_', '-')}" for key in AIS_DEFAULTS if getattr(args, key) is not None]
    if given and args.method != "ais":
        raise UsageError(
            f"{', '.join(given)} only apply to AIS, which runs with --method ais: add "
            "--method ais, or drop them."
        )
    for key, value in AIS_DEFAULTS.items():
        if getattr(args, key) is None:
            setattr(args, key, value)


def run(args: argparse.Namespace) -> int:
    _ais_settings(args)  # before the model or the data are read
    from keras_vae.cli import levels
    from keras_vae.cli.run_folder import load_model
    from keras_vae.cli.scoring import finite, score

    import numpy as np

    vae, standardizer = load_model(args.model)
    from keras_vae.cli import conditioning

    column = conditioning.column_of(vae, args.model)  # a conditioned model's: recorded by train
    from keras_vae import datasets

    from keras_vae.cli.splits import load_rows

    # Raw 0..255 levels for an integer-valued likelihood; the held-out rows of a file.
    x, c, rows_note, _ = load_rows(args.data, args.split, vae, args.model, condition_column=column)
    if args.limit is not None:
        x, c = x[: args.limit], (None if c is None else c[: args.limit])
    c = None if column is None else conditioning.model_input(vae, c, column)
    x = np.asarray(x, np.float32)
    if standardizer is not None:
        x = standardizer.transform(x)
    if args.binarize:
        x = datasets.binarize(x, seed=args.seed)
    vae.check_data(x if c is None else {"x": x, "condition": c}, "DATA")
    ais = args.method == "ais"
    # With AIS the importance-sampled estimate is not wanted: K=1 keeps its cost negligible.
    scores = score(vae, x, 1 if ais else args.num_samples, args.batch_size, args.seed,
                   progress=not args.no_progress, condition=c)
    scores["log_likelihood_method"] = args.method
    if ais:
        scores.update(ais_scores(vae, x, args, c))
    scores = {"model": args.model, "data": args.data, "split": args.split, "rows": rows_note} | scores
    if column is not None:
        scores["condition_column"] = column  # the scores are log p(x | c)
    if args.json:
        shown = {k: (finite(v) if isinstance(v, float) else v) for k, v in scores.items()}
        say(json.dumps(shown, indent=2))
        return 0
    start = "the prior" if args.anneal_from == "prior" else "q(z|x)"
    estimator = f"AIS, T={args.num_steps} C={args.num_chains} from {start}" if ais else f"K={args.num_samples}"
    say(
        f"{args.model} on {args.data!r} ({args.split} split, {scores['num_examples']} examples: {rows_note})"
        + ("" if column is None else f", given {column!r}: log p(x | c)"),
        table(
            [
                ("ELBO", f"{scores['elbo']:.3f} nats"),
                ("log-likelihood", f"{scores['log_likelihood']:.3f} nats ({estimator})"),
                ("bits/dim", levels.bits_text(vae, scores["bits_per_dim"])),
                ("active units", f"{scores['active_units']} / {scores['latent_dim']}"),
            ]
        ),
    )
    return 0


def ais_scores(vae, x, args: argparse.Namespace, condition=None) -> dict:
    """The AIS log-likelihood (mean nats/example; log p(x | c) given ``condition``)
    and bits/dim (``None`` for a continuous likelihood) with the command's settings."""
    import numpy as np

    from keras_vae import evaluation

    log_px, bits = evaluation.ais_log_likelihood(
        vae, x, num_steps=args.num_steps, num_chains=args.num_chains, anneal_from=args.anneal_from,
        seed=args.seed, return_bits_per_dim=True, **({} if condition is None else {"condition": condition}),
    )
    discrete = bool(vae.likelihood_layer.discrete)
    return {
        "log_likelihood": float(np.mean(log_px)),
        "log_likelihood_num_samples": None,
        "bits_per_dim": float(np.mean(bits)) if discrete else None,
        "ais_num_steps": args.num_steps,
        "ais_num_chains": args.num_chains,
        "ais_anneal_from": args.anneal_from,
    }
