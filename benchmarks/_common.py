"""What the benchmark scripts share: where MNIST is, the Burda et al. model, and a
one-line description of the machine."""
from __future__ import annotations

import os
import pathlib
import platform
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_vae as kv  # noqa: E402
from keras_vae import datasets  # noqa: E402


def data_path(arg: str | None):
    """``--data`` if given; else None when $KERAS_VAE_DATA is set (the loader reads
    it); else ../shared/data/mnist beside the repository if it exists."""
    if arg:
        return arg
    if os.environ.get(datasets.ENV_VAR):
        return None
    default = ROOT.parent / "shared" / "data" / "mnist"
    return default if default.is_dir() else None


def burda_vae(seed: int = 0, **components) -> kv.VAE:
    """The one-stochastic-layer model of Burda et al. (2015): 784-200-200-50, tanh.

    ``components`` (posterior=, prior=, objective=) swap the other parts."""
    return kv.VAE(
        encoder=kv.encoders.MLPEncoder([200, 200], activation="tanh"),
        decoder=kv.decoders.MLPDecoder([200, 200], activation="tanh"),
        latent_dim=50,
        input_shape=(28, 28, 1),
        likelihood="bernoulli",
        seed=seed,
        **components,
    )


def machine_line() -> str:
    devices = sorted({d.device_type for d in tf.config.list_logical_devices()})
    return (
        f"keras_vae {kv.__version__}, TensorFlow {tf.__version__}, Keras {keras.__version__}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs, devices: {devices}"
    )
