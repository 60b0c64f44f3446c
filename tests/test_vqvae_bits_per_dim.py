"""The VQ-VAE's bits/dim on 8-bit images (issue 21): the accounting, the CIFAR-10
loader (on a small tarball made here: nothing is downloaded) and the benchmark."""
import importlib.util
import io
import pathlib
import pickle
import tarfile

import keras
import numpy as np
import pytest

import keras_vae as kv
from keras_vae.datasets import DatasetNotFoundError
from keras_vae.datasets.cifar10 import load_cifar10

TINY = dict(encoder={"name": "conv", "filters": [8, 8]}, decoder={"name": "conv", "filters": [8, 8]},
            num_embeddings=16, embedding_dim=4, input_shape=(8, 8, 1),
            prior={"name": "pixelcnn", "filters": 8, "num_layers": 2, "kernel_size": 3})


def test_bits_per_dim_is_reconstruction_nll_plus_prior_code_bits_over_dims():
    x = np.random.default_rng(0).integers(0, 256, size=(32, 8, 8, 1)).astype("float32")
    keras.utils.set_random_seed(0)
    vq = kv.VQVAE(**TINY,
                  likelihood="logistic_mixture", seed=0)
    vq.compile(optimizer="adam")
    vq.fit(x, epochs=1, batch_size=16, verbose=0)
    vq.fit_prior(x, epochs=1, batch_size=16, verbose=0)
    nll = vq.evaluate(x, batch_size=32, verbose=0, return_dict=True)["reconstruction_loss"]  # nats / image
    code_bits = vq.prior_bits_per_code(x) * 4  # bits / image (a 2x2 grid of codes)
    expected = (nll / np.log(2.0) + code_bits) / 64
    np.testing.assert_allclose(vq.bits_per_dim(x), expected, rtol=1e-5)


# ------------------------------------------------------------------ CIFAR-10
def _batch(n, seed):
    rng = np.random.default_rng(seed)
    return {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"labels": list(rng.integers(0, 10, n))}


def _tarball(path, batches):
    with tarfile.open(path, "w:gz") as archive:  # as the official file: batches pickled with protocol 2
        for name, batch in batches.items():
            raw = pickle.dumps(batch, protocol=2)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            archive.addfile(info, io.BytesIO(raw))


def test_cifar10_loads_the_official_python_tarball_from_the_data_folder(tmp_path, monkeypatch):
    batches = {f"data_batch_{i}": _batch(3, i) for i in range(1, 6)}
    batches["test_batch"] = _batch(4, 9)
    (tmp_path / "cifar-10").mkdir()
    _tarball(tmp_path / "cifar-10" / "cifar-10-python.tar.gz", batches)
    monkeypatch.setenv("KERAS_VAE_DATA", str(tmp_path))
    x, y = load_cifar10("train", normalize=False)
    assert x.shape == (15, 32, 32, 3) and x.dtype == np.uint8 and y.shape == (15,)
    # The planes of a row are red, green, blue: pixel (i, j) of channel c is data[c * 1024 + 32 i + j].
    data = batches["data_batch_2"][b"data"]
    assert x[3, 1, 2, 0] == data[0, 32 + 2] and x[3, 1, 2, 2] == data[0, 2048 + 32 + 2]
    assert y[3] == batches["data_batch_2"][b"labels"][0]
    x_test, _ = load_cifar10("test")
    assert x_test.shape == (4, 32, 32, 3) and x_test.dtype == np.float32 and x_test.max() <= 1.0
    # A tampered batch cannot run code: the unpickler builds arrays only.
    _tarball(tmp_path / "evil.tar.gz", {**batches, "test_batch": {b"data": print, b"labels": []}})
    with pytest.raises(pickle.UnpicklingError, match="not allowed"):
        load_cifar10("test", path=tmp_path / "evil.tar.gz")


def test_cifar10_absent_names_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_VAE_DATA", str(tmp_path))
    with pytest.raises(DatasetNotFoundError, match="cifar-10-python.tar.gz") as error:
        load_cifar10("train")
    assert str(tmp_path / "cifar-10" / "cifar-10-python.tar.gz") in str(error.value)
    assert "does not download" in str(error.value) and error.value.dataset == "cifar10"
    with pytest.raises(ValueError, match="split must be one of"):
        load_cifar10("validation")


# ------------------------------------------------------------------ benchmark
def test_the_bits_per_dim_benchmark_uses_cifar10_when_present_and_says_when_it_falls_back(
        tmp_path, monkeypatch, capsys):
    """benchmarks/vqvae_bits_per_dim.py's data choice (its training is run by hand: the
    table is in docs/vqvae.md)."""
    path = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "vqvae_bits_per_dim.py"
    monkeypatch.syspath_prepend(str(path.parent))  # its _common helper
    spec = importlib.util.spec_from_file_location("vqvae_bits_benchmark", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    fallback = np.zeros((5, 28, 28, 1), np.uint8)
    monkeypatch.setattr(bench, "LOADERS", {"fashion-mnist": lambda split, **kw: (fallback, None)})
    monkeypatch.setenv("KERAS_VAE_DATA", str(tmp_path))
    with pytest.raises(DatasetNotFoundError, match="cifar-10-python.tar.gz"):
        bench.load("cifar10", None, 0, 0)  # asked for by name: the error, not a fallback
    name, x_train, _ = bench.load("auto", None, 3, 0)
    assert name == "fashion-mnist" and x_train.shape == (3, 28, 28, 1) and x_train.dtype == np.float32
    assert "CIFAR-10 not found, using 8-bit Fashion-MNIST" in capsys.readouterr().out
    _tarball(tmp_path / "cifar-10-python.tar.gz",
             {**{f"data_batch_{i}": _batch(2, i) for i in range(1, 6)}, "test_batch": _batch(2, 0)})
    name, x_train, x_test = bench.load("auto", None, 4, 0)
    assert name == "cifar10" and x_train.shape == (4, 32, 32, 3) and x_test.shape == (2, 32, 32, 3)
    assert x_train.max() > 1.0  # the 8-bit levels, not rescaled
