"""What the benchmark scripts share: where MNIST is, the Burda et al. model, the
small MNIST model of the MCMC benchmarks (ais.py, inference_gaps.py), and a
one-line description of the machine."""
from __future__ import annotations

import argparse
import os
import pathlib
import platform
import sys
import time

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


# The label as the condition of the Burda model (benchmarks/paper_table.py's
# cond_vae_k1, benchmarks/conditional_nll.py), and the reference: the TF2
# reproduction nbip/IWAE (github.com/nbip/IWAE), k = 1 after the full 3,280-epoch
# schedule, test NLL in nats with and without the label.
LABEL_CONDITION = {"name": "one_hot", "num_classes": 10}
NBIP_IWAE_K1 = {"unconditioned": 86.35, "label_conditioned": 82.32}


def heldout_log_likelihood(vae, x, condition=None, num_samples: int = 5000, seed: int = 0):
    """Per-example log p(x) (float64 ``(N,)``) by importance sampling with
    ``num_samples`` samples; log p(x | c) for a conditioned model given ``condition``."""
    import numpy as np

    from keras_vae import evaluation

    if condition is None:
        return np.asarray(evaluation.log_likelihood(vae, x, num_samples=num_samples, seed=seed), np.float64)
    return np.asarray(vae.log_likelihood(x, condition=condition, num_samples=num_samples, seed=seed), np.float64)


SMALL_VAE = "784-300-20 / 20-300-784 Bernoulli"


def mlp_vae(hidden: int, latent_dim: int, seed: int = 0, input_shape=(28, 28, 1)) -> kv.VAE:
    """A one-hidden-layer MLP VAE on MNIST: 784-hidden-latent / latent-hidden-784, Bernoulli."""
    return kv.VAE(
        encoder=kv.encoders.MLPEncoder([hidden]),
        decoder=kv.decoders.MLPDecoder([hidden]),
        latent_dim=latent_dim,
        input_shape=tuple(input_shape),
        likelihood="bernoulli",
        seed=seed,
    )


def small_vae(seed: int = 0) -> kv.VAE:
    """The small MLP VAE of the MCMC benchmarks: 784-300-20 / 20-300-784, Bernoulli."""
    return mlp_vae(300, 20, seed)


def add_small_vae_arguments(parser: argparse.ArgumentParser) -> None:
    """``--data``, ``--epochs``, ``--seed``, ``--save`` and ``--load`` of :func:`trained_small_vae`."""
    parser.add_argument("--data", default=None, help="directory with the MNIST IDX files")
    parser.add_argument("--epochs", type=int, default=3, help="training epochs of the small model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", default=None, metavar="PATH.keras", help="save the trained model here")
    parser.add_argument("--load", default=None, metavar="PATH.keras",
                        help="use this saved model instead of training one (e.g. another script's --save)")


def trained_small_vae(args) -> tuple[kv.VAE, str]:
    """:func:`small_vae` trained for ``args.epochs`` on dynamically binarized MNIST
    (Adam 1e-3, batches of 100), or loaded from ``args.load``; saved to
    ``args.save`` if given. Returns the model and a line describing it."""
    if args.load:
        vae = kv.load_model(args.load)
        line = f"model: {args.load} (loaded)"
    else:
        x_train, _ = datasets.load_mnist("train", path=data_path(args.data))
        vae = small_vae(args.seed)
        vae.compile(optimizer=keras.optimizers.Adam(1e-3))
        t0 = time.perf_counter()
        vae.fit(datasets.dynamic_binarization(x_train, batch_size=100, seed=args.seed), epochs=args.epochs, verbose=0)
        line = f"model: {SMALL_VAE}, {args.epochs} epochs in {time.perf_counter() - t0:.0f} s"
    if args.save:
        vae.save(args.save)
        line += f", saved to {args.save}"
    return vae, line


def binarized_test_images(args, limit: int):
    """The first ``limit`` MNIST test images, statically binarized with ``args.seed``."""
    x_test, _ = datasets.load_mnist("test", path=data_path(args.data))
    return datasets.binarize(x_test[:limit], seed=args.seed)


def machine_line() -> str:
    devices = sorted({d.device_type for d in tf.config.list_logical_devices()})
    return (
        f"keras_vae {kv.__version__}, TensorFlow {tf.__version__}, Keras {keras.__version__}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs, devices: {devices}"
    )
