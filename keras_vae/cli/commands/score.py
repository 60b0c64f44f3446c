"""``keras-vae score MODEL DATA -o scores.csv``: log p(x) per row, for anomaly detection
(log p(x | c) for a conditioned model, each row's condition read from DATA as train
read it: ``keras_vae.cli.conditioning``).

Each row's estimate uses the same K standard-normal draws (the model's seed), the
estimate of the exported ``score`` signature: a row scores the same alone or in any
batch, so a threshold chosen on one set applies to another
(``keras_vae.evaluation.anomaly``).
"""
from __future__ import annotations

import argparse
import csv
import os

from keras_vae.cli.output import say


def run(args: argparse.Namespace) -> int:
    from keras_vae.cli.run_folder import load_model
    from keras_vae.cli.splits import load_rows

    import numpy as np

    vae, standardizer = load_model(args.model)
    from keras_vae.cli import conditioning

    column = conditioning.column_of(vae, args.model)  # a conditioned model's: recorded by train
    from keras_vae.evaluation import anomaly_scores

    x, c, rows_note, rows = load_rows(args.data, args.split, vae, args.model, condition_column=column)
    c = None if column is None else conditioning.model_input(vae, c, column)
    x = np.asarray(x, np.float32)
    if standardizer is not None:  # a run folder of an older release
        x = standardizer.transform(x)
    scores = anomaly_scores(vae, x, num_samples=args.num_samples, batch_size=args.batch_size, condition=c)
    if standardizer is not None:
        scores = scores - float(np.log(standardizer.std).sum())  # in the data's units
    out = args.output or os.path.join(os.path.dirname(os.path.abspath(args.model)), "scores.csv")
    directory = os.path.dirname(out)
    if directory:
        os.makedirs(directory, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["row", "log_px"])
        for row, value in zip(rows, scores):
            writer.writerow([int(row) + 1, f"{float(value):.6f}"])
    what = "log p(x)" if column is None else f"log p(x | c) (c: each row's {column!r})"
    say(
        f"Wrote {what} of {len(scores)} rows ({rows_note}) to {out}: K={args.num_samples} "
        "importance samples, the same draws for every row (the served score's estimate); "
        "rows counted from 1; lower = more anomalous. Pick a threshold with "
        "keras_vae.evaluation.anomaly_threshold on scores of normal rows."
    )
    return 0
