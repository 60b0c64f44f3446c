"""``keras-vae sample MODEL -n N -o FILE [--condition VALUE]``: a picture (.png, .jpg) or
the array (.npy); a conditioned model samples p(x | c) at ``--condition``."""
from __future__ import annotations

import argparse
import os

from keras_vae.cli.errors import UsageError
from keras_vae.cli.output import say
from keras_vae.cli.parser import SAMPLE_FORMATS


def run(args: argparse.Namespace) -> int:
    out = args.output or os.path.join(os.path.dirname(os.path.abspath(args.model)), "sampled.png")
    extension = os.path.splitext(out)[1].lower()
    if extension not in SAMPLE_FORMATS:
        raise UsageError(
            f"-o/--output {out!r}: unknown format {extension or '(no extension)'!r}; use one of "
            f"{', '.join(SAMPLE_FORMATS)}."
        )
    from keras_vae.cli.run_folder import load_model

    import numpy as np

    vae, standardizer = load_model(args.model)
    from keras_vae.cli.conditioning import parse_value

    condition = parse_value(args.condition, vae, args.model, args.n)  # before any file is written
    given = {} if condition is None else {"condition": condition}
    directory = os.path.dirname(out)
    if directory:
        os.makedirs(directory, exist_ok=True)
    samples = np.asarray(vae.sample(args.n, seed=args.seed, **given))
    if standardizer is not None:
        samples = standardizer.inverse_transform(samples)
    if SAMPLE_FORMATS[extension] == "npy":
        np.save(out, samples)
    else:
        from keras_vae import plotting

        plotting.samples_figure(samples, path=out, columns=None if standardizer is None else standardizer.columns)
    say(f"Wrote {args.n} samples{'' if condition is None else f' at condition {args.condition}'} to {out}")
    return 0
