"""``keras-vae export MODEL BASE [--version N]``: a TF Serving SavedModel."""
from __future__ import annotations

import argparse

from keras_vae.cli.output import say
from keras_vae.cli.run_folder import load_model


def run(args: argparse.Namespace) -> int:
    vae, standardizer = load_model(args.model)
    fmt = getattr(args, "format", "tf_saved_model")
    if fmt == "tf_saved_model":
        path = vae.export(args.base, version=args.version, overwrite=args.overwrite,
                          score_samples=getattr(args, "score_samples", 64))
    else:
        from keras_vae.cli.errors import UsageError

        if args.version is not None:
            raise UsageError(f"--version applies to the SavedModel, not --format {fmt}.")
        files = vae.export(args.base, format=fmt, overwrite=args.overwrite)
        path = ", ".join(files.values())
    say(f"Exported {args.model} to {path}")
    if standardizer is not None:
        say(
            "note: this model was trained on standardized data; clients send "
            "(x - mean) / std with the statistics in standardization.json beside the model"
        )
    return 0
