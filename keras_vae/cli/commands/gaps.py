"""``keras-vae gaps MODEL DATA``: log p(x) (AIS), the amortized and the optimized ELBO,
and the approximation and amortization gaps (kv.evaluation.inference_gaps); for a
conditioned model all given each row's condition, read from DATA as train read it."""
from __future__ import annotations

import argparse
import json

from keras_vae.cli.output import say


def run(args: argparse.Namespace) -> int:
    from keras_vae.cli.run_folder import load_model

    import numpy as np

    vae, standardizer = load_model(args.model)
    from keras_vae.cli import conditioning

    column = conditioning.column_of(vae, args.model)  # a conditioned model's: recorded by train
    from keras_vae import datasets, evaluation

    from keras_vae.cli.splits import load_rows

    # raw levels where integer-valued; each row's condition for a conditioned model
    x, c, _, _ = load_rows(args.data, args.split, vae, args.model, condition_column=column)
    x = np.asarray(x[: args.limit], np.float32)
    c = None if column is None else conditioning.model_input(vae, c[: args.limit], column)
    if standardizer is not None:
        x = standardizer.transform(x)
    if args.binarize:
        x = datasets.binarize(x, seed=args.seed)
    vae.check_data(x if c is None else {"x": x, "condition": c}, "DATA")
    given = {} if c is None else {"condition": c}
    ais = {"num_steps": args.num_steps, "num_chains": args.num_chains, "anneal_from": args.anneal_from}
    gaps = evaluation.inference_gaps(vae, x, ais=ais, optimize_steps=args.optimize_steps, seed=args.seed, **given)
    say(f"{args.model} on {args.data!r} ({args.split} split"
        + ("" if column is None else f", given {column!r}: log p(x | c)") + ")", gaps.summary())
    if args.json:
        record = {"model": args.model, "data": args.data, "split": args.split, "num_examples": int(len(x)),
                  **({} if column is None else {"condition_column": column}), **gaps.table(),
                  "unconverged_examples": gaps.num_unconverged, "seconds": gaps.seconds,
                  "settings": gaps.settings | {"ais": ais}}
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(record, f, indent=2)
        say(f"gaps table written to {args.json}")
    if args.plot:
        # AIS lengths up to the one asked for (the last point is the gaps' own log p(x) setting)
        steps = sorted({s for s in (10, 100, 1000) if s < args.num_steps} | {args.num_steps})
        points = evaluation.estimates_vs_cost(
            vae, x, ais_steps=steps, ais={"num_chains": args.num_chains, "anneal_from": args.anneal_from},
            seed=args.seed, **given,
        )
        figure = evaluation.plot_estimates_vs_cost(points)
        figure.savefig(args.plot)
        import matplotlib.pyplot as plt

        plt.close(figure)
        say(f"estimates vs cost drawn to {args.plot}")
    return 0
