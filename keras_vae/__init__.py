"""keras_vae: variational autoencoders for Keras 3 and TensorFlow Probability.

Example:
    >>> import keras_vae as kv
    >>> vae = kv.VAE(encoder="mlp", decoder="mlp", latent_dim=2, input_shape=(4,),
    ...              likelihood="gaussian")
    >>> vae.sample(3, seed=0).shape
    TensorShape([3, 4])
"""
import os as _os
import sys as _sys

from keras_vae.version import __version__


def _import_all() -> None:
    """Import the library: the backend check, every component (they register
    themselves) and the public names below. Runs once."""
    global _IMPORTING
    if _IMPORTING:
        return
    _IMPORTING = True
    from keras_vae._backend import check_backend

    check_backend()
    global VAE, VQVAE, HierarchicalVAE, callbacks, code_priors, conditions, datasets, decoders, encoders, evaluation, get, likelihoods
    global list_components, load_model, load_plugins, models, objectives, plotting, posteriors
    global priors, quantizers, register, testing
    from keras_vae import (
        callbacks,
        code_priors,
        conditions,
        datasets,
        decoders,
        encoders,
        evaluation,
        likelihoods,
        models,
        objectives,
        plotting,
        posteriors,
        priors,
        quantizers,
        testing,
    )
    from keras_vae.models import VAE, VQVAE, HierarchicalVAE
    from keras_vae.registry import get, list_components, load_plugins, register
    from keras_vae.saving import load_model


def _started_as_command() -> bool:
    """True while the ``keras-vae`` command (or ``python -m keras_vae``) starts.

    The command imports TensorFlow only for the commands that need it, so that
    ``keras-vae --help`` answers at once; any other program gets the whole library
    on ``import keras_vae``, as before. In the command, the first use of a public
    name (``keras_vae.VAE``, ``keras_vae.datasets``, ...) imports everything.
    """
    argv0 = _os.path.basename(_sys.argv[0]) if _sys.argv else ""
    return argv0 in ("keras-vae", "keras-vae.exe", "-m")


def __getattr__(name: str):
    # Only names not imported yet get here; while _import_all runs, Python's own
    # import of a submodule takes over (the AttributeError below).
    if name in __all__ and not _IMPORTING:
        _import_all()
        return globals()[name]
    raise AttributeError(f"module 'keras_vae' has no attribute {name!r}")


__all__ = [
    "HierarchicalVAE",
    "VAE",
    "VQVAE",
    "__version__",
    "callbacks",
    "code_priors",
    "conditions",
    "datasets",
    "decoders",
    "encoders",
    "evaluation",
    "get",
    "likelihoods",
    "list_components",
    "load_model",
    "load_plugins",
    "models",
    "objectives",
    "plotting",
    "posteriors",
    "priors",
    "quantizers",
    "register",
    "testing",
]

_IMPORTING = False
if not _started_as_command():
    _import_all()
