"""``keras-vae score MODEL DATA -o scores.csv``: log p(x) per row, for anomaly detection.

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
    from keras_vae.cli.conditioning import refuse_conditioned

    refuse_conditioned(vae, args.model, "score")
    from keras_vae.evaluation import anomaly_scores

    x, _, rows_note, rows = load_rows(args.data, args.split, vae, args.model)
    x = np.asarray(x, np.float32)
    if standardizer is not None:  # a run folder of an older release
        x = standardizer.transform(x)
    scores = anomaly_scores(vae, x, num_samples=args.num_samples, batch_size=args.batch_size)
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
    say(
        f"Wrote log p(x) of {len(scores)} rows ({rows_note}) to {out}: K={args.num_samples} "
        "importance samples, the same draws for every row (the served score's estimate); "
        "rows counted from 1; lower = more anomalous. Pick a threshold with "
        "keras_vae.evaluation.anomaly_threshold on scores of normal rows."
    )
    return 0
