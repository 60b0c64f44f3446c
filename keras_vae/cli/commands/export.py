"""``keras-vae export MODEL BASE [--version N]``: a TF Serving SavedModel."""
from __future__ import annotations

import argparse

from keras_vae.cli.output import say
from keras_vae.cli.run_folder import load_model


def run(args: argparse.Namespace) -> int:
    vae, standardizer = load_model(args.model)
    path = vae.export(args.base, version=args.version, overwrite=args.overwrite)
    say(f"Exported {args.model} to {path}")
    if standardizer is not None:
        say(
            "note: this model was trained on standardized data; clients send "
            "(x - mean) / std with the statistics in standardization.json beside the model"
        )
    return 0
