"""Model families whose ``keras-vae train`` run differs from the plain VAE's.

A family reads its own constructor arguments from the settings, and may score,
export and draw its own outputs after ``fit``. The steps live on the command line's
side (here, or as hooks on a plug-in's model class), so that the model classes never
import the command line: ``keras_vae.models`` stays below ``keras_vae.cli``.

The built-in families are listed in ``_BUILT_IN``; a third-party model class takes
part by defining the same two hooks itself:

- ``cli_arguments(settings, input_shape) -> dict`` (a classmethod): the model's
  keyword arguments;
- ``cli_after_training(self, **kwargs) -> int``: what follows ``fit`` (its exit code).
"""
from __future__ import annotations

import importlib
from typing import Any, Callable

# --model name -> the module of keras_vae.cli that holds its `arguments` function
# and, if its run after `fit` is not the plain VAE's, its `after_training`.
_BUILT_IN = {"vqvae": "keras_vae.cli.vq_vae", "hierarchical": "keras_vae.cli.hierarchical"}


def _module(model_name: str):
    where = _BUILT_IN.get(model_name)
    return importlib.import_module(where) if where else None


def arguments_hook(model_name: str, model_class: type) -> Callable[..., dict] | None:
    """The function that turns the settings into the model's arguments, or ``None``
    when the family takes the plain VAE's (component flags)."""
    module = _module(model_name)
    if module is not None:
        return module.arguments
    return getattr(model_class, "cli_arguments", None)


def after_training_hook(model_name: str, model: Any) -> Callable[..., int] | None:
    """The function run after ``fit`` (its keyword arguments: settings, run_dir,
    config, x_train, x_eval, started, train_time), or ``None`` for the plain VAE's."""
    module = _module(model_name)
    if module is not None:
        own = getattr(module, "after_training", None)
        return None if own is None else (lambda **kwargs: own(model, **kwargs))
    return getattr(model, "cli_after_training", None)
