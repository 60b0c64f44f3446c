"""The ``keras-vae`` command line: train, evaluate, sample, export, list components.

Run ``keras-vae --help`` (or ``python -m keras_vae --help``) for the commands and
``keras-vae <command> --help`` for their options.

| module | what |
| --- | --- |
| ``settings`` | :class:`TrainSettings`: defaults < ``--config`` file < flags |
| ``components`` | component names and options straight from the registry |
| ``parser`` | the argument parser, built from the settings (no TensorFlow) |
| ``commands/`` | one module per command |
| ``run_folder``, ``scoring``, ``progress`` | what the commands share |
| ``_startup`` | a quiet, quick start: TensorFlow only for commands that need it |
| ``main`` | :func:`main`: one-line errors, exit status 0 / 1 (failure) / 2 (usage) |

Errors are reported as one line, ``keras-vae: error: ...``, naming the flag or
config key to change, with exit status 2 for usage errors (bad flags, bad config
files, a non-empty output folder) and 1 for failures while running (a missing data
set or model file, data the model cannot use). ``--debug`` shows the traceback.

Example:
    >>> from keras_vae.cli import main
    >>> main(["train", "--epochs", "1", "--output", "runs/try"])  # doctest: +SKIP
    0
"""
from keras_vae.cli._startup import configure_environment as _configure_environment

_configure_environment()

from keras_vae.cli.errors import UsageError  # noqa: E402
from keras_vae.cli.main import main  # noqa: E402
from keras_vae.cli.parser import PROG, build_parser  # noqa: E402
from keras_vae.cli.settings import (  # noqa: E402
    COMPONENT_KINDS,
    TrainSettings,
    load_config_file,
    resolve_train_settings,
)

__all__ = [
    "COMPONENT_KINDS",
    "PROG",
    "TrainSettings",
    "UsageError",
    "build_parser",
    "load_config_file",
    "main",
    "resolve_train_settings",
]
