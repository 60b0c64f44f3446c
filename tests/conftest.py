"""Shared test set-up: two logical CPUs (for tf.distribute tests), seeds, data."""
import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# XLA's compile time is most of a short test's fit: "auto" runs without XLA in the
# suite (subprocesses inherit it) except in tests marked ``xla``, which get the default
# users get (test_xla.py, the fused steps, the CLI end to end, ...).
os.environ["KERAS_VAE_JIT_COMPILE"] = "false"

import keras  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

# Must happen before TensorFlow initializes its devices: two logical CPUs let
# MirroredStrategy run two replicas on a CPU-only machine.
_cpus = tf.config.list_physical_devices("CPU")
try:
    tf.config.set_logical_device_configuration(
        _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2
    )
except RuntimeError:  # already initialized by an earlier import
    pass

REPO = pathlib.Path(__file__).resolve().parents[1]


def data_root() -> pathlib.Path:
    """The data folder, as the library reads it: $KERAS_VAE_DATA (or its old name
    $KERAS_VAE_TEST_DATA), else ../shared/data beside the repo."""
    from keras_vae.datasets import data_folder

    return data_folder(default=REPO.parent / "shared" / "data")


@pytest.fixture
def mnist_dir() -> pathlib.Path:
    path = data_root() / "mnist"
    if not (path / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"real MNIST not found under {path} (set KERAS_VAE_DATA)")
    return path


@pytest.fixture(autouse=True)
def _xla_where_marked(request, monkeypatch):
    if request.node.get_closest_marker("xla") is not None:
        monkeypatch.setenv("KERAS_VAE_JIT_COMPILE", "auto")
    yield


@pytest.fixture(autouse=True)
def _seed_and_policy():
    keras.utils.set_random_seed(0)
    yield
    keras.mixed_precision.set_global_policy("float32")
