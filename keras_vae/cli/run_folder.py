"""The run folder: its name, what a run writes there, refusing to clobber one, and
reading a saved model back with what was saved beside it."""
from __future__ import annotations

import datetime
import os
import shutil

from keras_vae.cli.errors import UsageError

STANDARDIZATION_FILE = "standardization.json"
BACKUP_DIR = "backup"  # keras.callbacks.BackupAndRestore's folder, for --resume
# Everything `keras-vae train` writes: --overwrite removes these and nothing else.
RUN_FILES = (
    "model.keras", "serving", "samples.png", "reconstructions.png", "features.png", "latent.png",
    "curves.png", "kl.png", "manifold.png", "samples_by_class.png", "condition.json", "history.csv",
    "metrics.json", "config.json",
    STANDARDIZATION_FILE, BACKUP_DIR,
)


def new_run_dir() -> str:
    """``runs/<timestamp>`` (with a suffix if taken)."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = os.path.join("runs", stamp)
    suffix = 1
    while os.path.exists(path):
        path = os.path.join("runs", f"{stamp}-{suffix}")
        suffix += 1
    return path


def check_output(path: str, overwrite: bool) -> None:
    """Refuse a non-empty output folder unless ``overwrite`` (checked before training)."""
    if os.path.isfile(path):
        raise UsageError(f"--output {path!r} is a file; give a folder.")
    if not os.path.isdir(path) or not os.listdir(path):
        return
    if not overwrite:
        held = sorted(os.listdir(path))
        shown = ", ".join(held[:4]) + (", ..." if len(held) > 4 else "")
        raise UsageError(
            f"--output {path!r} is not empty (it holds {shown}); add --overwrite to replace "
            f"its run, use --resume {path} to continue it, or choose another --output."
        )


def clear_run(path: str) -> None:
    """Remove the files a previous run wrote in ``path`` (others are left alone)."""
    for name in RUN_FILES:
        target = os.path.join(path, name)
        if os.path.isdir(target):
            shutil.rmtree(target)
        elif os.path.exists(target):
            os.remove(target)


def load_model(path: str):
    """``(vae, standardizer or None)`` from a ``.keras`` file. A model trained with
    ``--standardize`` holds its statistics (``vae.standardization``): the standardizer
    is then ``None``. Older run folders kept them in ``standardization.json`` beside
    the model, which is read for them."""
    from keras_vae.cli._startup import load_library

    kv = load_library()
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no model file at {path!r} (MODEL must be a .keras file saved by keras_vae).")
    vae = kv.load_model(path, compile=False)
    if not hasattr(vae, "sample") or not hasattr(vae, "latent_dim"):
        raise ValueError(f"{path!r} holds a {type(vae).__name__}, not a keras_vae VAE.")
    if getattr(vae, "standardization", None) is not None:
        return vae, None  # the model standardizes inside: it takes and returns raw units
    # A run folder of an older release: the statistics beside the model.
    stats = os.path.join(os.path.dirname(os.path.abspath(path)), STANDARDIZATION_FILE)
    standardizer = kv.datasets.Standardizer.load(stats) if os.path.isfile(stats) else None
    return vae, standardizer
