"""Data loaders: IDX parsing, MNIST / Fashion-MNIST search order and offline errors,
the bundled sample, binarization, npz / npy / image-folder loaders and dispatch."""
import gzip
import os
import pathlib
import shutil

import numpy as np
import pytest
import tensorflow as tf

from keras_vae import datasets
from keras_vae.datasets import DatasetNotFoundError
from keras_vae.datasets import mnist as mnist_module

REPO = pathlib.Path(__file__).resolve().parents[1]
DATA = datasets.data_folder(default=REPO.parent / "shared" / "data")
FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def _real(name: str) -> pathlib.Path:
    path = DATA / name
    if not all((path / f).is_file() for f in FILES):
        pytest.skip(f"real {name} IDX files not found in {path} (set KERAS_VAE_DATA)")
    return path


@pytest.fixture
def mnist_path():
    return _real("mnist")


@pytest.fixture
def fashion_path():
    return _real("fashion-mnist")


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No KERAS_VAE_DATA and an empty Keras home: only explicit sources are found."""
    monkeypatch.delenv(datasets.ENV_VAR, raising=False)
    monkeypatch.delenv(datasets.OLD_ENV_VAR, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    # /tmp/.keras is get_file's fallback cache; keep a real one on this machine out.
    monkeypatch.setattr(mnist_module, "_keras_cache_dirs", lambda s: [tmp_path / "keras_home" / s.cache_subdir])
    return tmp_path


def _no_network(*args, **kwargs):
    raise AssertionError("the test tried to download")


# ------------------------------------------------------------------ real data
@pytest.mark.parametrize("split,n", [("train", 60000), ("test", 10000)])
def test_load_mnist_real_files(mnist_path, split, n):
    x, y = datasets.load_mnist(split, path=mnist_path, download=False)
    assert x.shape == (n, 28, 28, 1) and x.dtype == np.float32
    assert x.min() == 0.0 and x.max() == 1.0
    assert y.shape == (n,) and np.issubdtype(y.dtype, np.integer)
    assert set(np.unique(y)) == set(range(10))
    if split == "train":
        assert y[:8].tolist() == [5, 0, 4, 1, 9, 2, 1, 3]  # the well-known first labels


def test_load_fashion_mnist_real_files_uint8(fashion_path):
    x, y = datasets.load_fashion_mnist("test", path=fashion_path, normalize=False, download=False)
    assert x.shape == (10000, 28, 28, 1) and x.dtype == np.uint8 and x.max() == 255
    assert np.bincount(y).tolist() == [1000] * 10  # balanced classes


def test_normalized_is_uint8_over_255(mnist_path):
    raw, _ = datasets.load_mnist("test", path=mnist_path, normalize=False, download=False)
    x, _ = datasets.load_mnist("test", path=mnist_path, download=False)
    np.testing.assert_array_equal(x, raw.astype(np.float32) / 255.0)


def test_read_idx_gz_and_plain_agree(mnist_path, tmp_path):
    labels = datasets.read_idx(mnist_path / "t10k-labels-idx1-ubyte.gz")
    plain = tmp_path / "t10k-labels-idx1-ubyte"
    plain.write_bytes(gzip.decompress((mnist_path / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    np.testing.assert_array_equal(datasets.read_idx(plain), labels)
    assert labels.shape == (10000,) and labels.dtype == np.uint8


def test_env_var_with_subdirectories(mnist_path, fashion_path, isolated, monkeypatch):
    monkeypatch.setenv(datasets.ENV_VAR, str(mnist_path.parent))  # holds mnist/, fashion-mnist/
    x, _ = datasets.load_mnist("test", download=False, get_file=_no_network)
    f, _ = datasets.load_fashion_mnist("test", download=False, get_file=_no_network)
    assert x.shape == f.shape == (10000, 28, 28, 1)
    assert not np.array_equal(x[:10], f[:10])


def test_env_var_with_files_directly(fashion_path, isolated, monkeypatch):
    monkeypatch.setenv(datasets.ENV_VAR, str(fashion_path))
    _, y = datasets.load_fashion_mnist("test", download=False)
    assert y.shape == (10000,)


def test_keras_cache_is_searched(fashion_path, isolated):
    cache = isolated / "keras_home" / "datasets" / "fashion-mnist"
    cache.mkdir(parents=True)
    for name in FILES[2:]:
        shutil.copy(fashion_path / name, cache / name)
    x, _ = datasets.load_fashion_mnist("test", get_file=_no_network)
    assert x.shape == (10000, 28, 28, 1)


# -------------------------------------------------------------- small IDX files
def _idx(array: np.ndarray, code: int) -> bytes:
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def _write_fake_mnist(directory: pathlib.Path, n: int = 6, gz: bool = True) -> tuple[np.ndarray, np.ndarray]:
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 28, 28)).astype(np.uint8)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    for prefix in ("train", "t10k"):
        for stem, array, code in ((f"{prefix}-images-idx3-ubyte", images, 8), (f"{prefix}-labels-idx1-ubyte", labels, 8)):
            raw = _idx(array, code)
            if gz:
                (directory / (stem + ".gz")).write_bytes(gzip.compress(raw))
            else:
                (directory / stem).write_bytes(raw)
    return images, labels


@pytest.mark.parametrize("code,dtype", [(0x08, np.uint8), (0x0B, np.int16), (0x0D, np.float32), (0x0E, np.float64)])
def test_read_idx_types_roundtrip(tmp_path, code, dtype):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype) if dtype != np.uint8 else np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / "a.idx"
    path.write_bytes(_idx(array, code))
    out = datasets.read_idx(path)
    assert out.dtype == np.dtype(dtype) and out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out, array)


@pytest.mark.parametrize(
    "mutate,match",
    [
        (lambda raw: raw[:-10], "truncated"),
        (lambda raw: raw + b"\x00\x00", "trailing"),
        (lambda raw: b"\x01" + raw[1:], "magic number"),
        (lambda raw: raw[:2] + b"\x07" + raw[3:], "magic number"),
        (lambda raw: raw[:6], "truncated"),
        (lambda raw: raw[:2], "no header"),
    ],
    ids=["truncated-data", "trailing-bytes", "bad-zero-byte", "bad-type-code", "truncated-header", "tiny"],
)
def test_read_idx_corrupted(tmp_path, mutate, match):
    raw = _idx(np.zeros((3, 28, 28), np.uint8), 8)
    path = tmp_path / "bad-idx3-ubyte"
    path.write_bytes(mutate(raw))
    with pytest.raises(ValueError, match=match):
        datasets.read_idx(path)


def test_read_idx_truncated_gzip(tmp_path):
    raw = gzip.compress(_idx(np.arange(1000, dtype=np.uint8).reshape(10, 100), 8))
    path = tmp_path / "x-idx2-ubyte.gz"
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="corrupted or truncated gzip"):
        datasets.read_idx(path)


def test_corrupted_file_in_search_path_is_an_error_not_skipped(tmp_path, isolated):
    _write_fake_mnist(tmp_path / "d")
    target = tmp_path / "d" / "t10k-images-idx3-ubyte.gz"
    target.write_bytes(gzip.compress(gzip.decompress(target.read_bytes())[:-1]))
    with pytest.raises(ValueError, match="truncated"):
        datasets.load_mnist("test", path=tmp_path / "d", download=False)


@pytest.mark.parametrize("gz", [True, False])
def test_load_from_explicit_path_small_files(tmp_path, isolated, gz):
    images, labels = _write_fake_mnist(tmp_path / "d", gz=gz)
    x, y = datasets.load_mnist("train", path=tmp_path / "d", download=False)
    np.testing.assert_array_equal(x[..., 0], images / np.float32(255))
    np.testing.assert_array_equal(y, labels)


def test_mismatched_counts(tmp_path, isolated):
    d = tmp_path / "d"
    _write_fake_mnist(d)
    (d / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx(np.zeros(3, np.uint8), 8)))
    with pytest.raises(ValueError, match="mixed up or corrupted"):
        datasets.load_mnist("test", path=d, download=False)


def test_explicit_path_missing_files(tmp_path, isolated):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetNotFoundError, match="t10k-images-idx3-ubyte") as info:
        datasets.load_mnist("test", path=tmp_path / "empty", get_file=_no_network)
    assert str(tmp_path / "empty") in str(info.value)


def test_bad_split():
    with pytest.raises(ValueError, match="split must be one of"):
        datasets.load_mnist("validation", download=False)


# -------------------------------------------------------------- offline errors
def test_offline_error_names_every_place(isolated, monkeypatch, tmp_path):
    monkeypatch.setenv(datasets.ENV_VAR, str(tmp_path / "nowhere"))
    with pytest.raises(DatasetNotFoundError) as info:
        datasets.load_mnist("test", download=False)
    message = str(info.value)
    assert isinstance(info.value, OSError)
    assert str(tmp_path / "nowhere") in message  # the env var directory
    assert str(tmp_path / "keras_home" / "datasets") in message  # the Keras cache
    assert "download" in message and "disabled" in message
    for fix in ("path=", datasets.ENV_VAR, "online"):
        assert fix in message
    assert len(info.value.tried) >= 4


def test_offline_download_failure_is_reported(isolated):
    calls = []

    def offline(*args, **kwargs):
        calls.append(kwargs)
        raise OSError("URL fetch failure: [Errno -3] Temporary failure in name resolution")

    with pytest.raises(DatasetNotFoundError) as info:
        datasets.load_fashion_mnist("train", get_file=offline)
    message = str(info.value)
    assert "Temporary failure in name resolution" in message
    assert datasets.MIRROR + "train-images-idx3-ubyte.gz" in message
    assert f"{datasets.ENV_VAR}: not set" in message
    assert calls and calls[0]["origin"].startswith(datasets.MIRROR)
    assert calls[0]["cache_subdir"] == os.path.join("datasets", "fashion-mnist")


def test_download_goes_through_get_file_into_keras_cache(tmp_path, isolated):
    """A stand-in get_file serving mnist.npz: the result is read from where it 'downloaded'."""
    source = tmp_path / "served" / "mnist.npz"
    source.parent.mkdir()
    rng = np.random.default_rng(1)
    arrays = {
        "x_train": rng.integers(0, 256, (5, 28, 28)).astype(np.uint8),
        "y_train": np.arange(5, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (3, 28, 28)).astype(np.uint8),
        "y_test": np.arange(3, dtype=np.uint8),
    }
    np.savez(source, **arrays)
    seen = {}

    def fake_get_file(fname, origin, file_hash=None, cache_dir=None, cache_subdir="datasets"):
        seen.update(fname=fname, origin=origin, file_hash=file_hash, cache_dir=cache_dir)
        target = pathlib.Path(cache_dir) / cache_subdir / fname
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
        return str(target)

    x, y = datasets.load_mnist("test", get_file=fake_get_file)
    assert seen["origin"] == datasets.MIRROR + "mnist.npz" and seen["file_hash"]
    np.testing.assert_array_equal(x[..., 0], arrays["x_test"] / np.float32(255))
    np.testing.assert_array_equal(y, arrays["y_test"])
    # Second call: found in the Keras cache, no download.
    x2, _ = datasets.load_mnist("test", get_file=_no_network)
    np.testing.assert_array_equal(x, x2)


# ------------------------------------------------------------------ sample
def test_bundled_sample():
    path = REPO / "keras_vae" / "data" / "mnist_sample.npz"
    assert path.stat().st_size < 1_000_000
    x, y = datasets.load_sample("train")
    xt, yt = datasets.load_sample("test", normalize=False)
    assert x.shape == (3000, 28, 28, 1) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() == 1.0
    assert xt.shape == (1000, 28, 28, 1) and xt.dtype == np.uint8
    assert set(np.unique(y)) == set(range(10)) and len(yt) == 1000
    # Real digits: about 19% of MNIST pixels are > 0.5.
    assert 0.1 < (x > 0.5).mean() < 0.3


def test_bundled_sample_is_real_mnist(mnist_path):
    xs, ys = datasets.load_sample("test", normalize=False)
    with np.load(REPO / "keras_vae" / "data" / "mnist_sample.npz") as data:
        index = data["index_test"]
    x, y = datasets.load_mnist("test", path=mnist_path, normalize=False, download=False)
    np.testing.assert_array_equal(xs, x[index])
    np.testing.assert_array_equal(ys, y[index])


# ------------------------------------------------------------- binarization
def test_binarize_static():
    x = np.random.default_rng(0).uniform(size=(2000, 10)).astype(np.float32)
    b = datasets.binarize(x, seed=0)
    assert b.dtype == np.float32 and set(np.unique(b)) <= {0.0, 1.0}
    np.testing.assert_array_equal(b, datasets.binarize(x, seed=0))
    assert abs(b.mean() - x.mean()) < 0.01
    np.testing.assert_array_equal(datasets.binarize(np.array([0.0, 1.0])), [0.0, 1.0])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        datasets.binarize(np.array([0.5, 2.0]))


def test_dynamic_binarization_fresh_each_epoch():
    x = np.full((64, 28, 28, 1), 0.5, np.float32)
    ds = datasets.dynamic_binarization(x, batch_size=16, shuffle=False, seed=3)
    epoch1 = np.concatenate([b.numpy() for b in ds])
    epoch2 = np.concatenate([b.numpy() for b in ds])
    assert epoch1.shape == x.shape and epoch1.dtype == np.float32
    assert set(np.unique(epoch1)) == {0.0, 1.0}
    assert abs(epoch1.mean() - 0.5) < 0.02
    assert (epoch1 != epoch2).mean() > 0.4  # independent draws differ on half the pixels
    # Same seed: the same sequence of epochs.
    again = datasets.dynamic_binarization(x, batch_size=16, shuffle=False, seed=3)
    np.testing.assert_array_equal(np.concatenate([b.numpy() for b in again]), epoch1)


def test_dynamic_binarization_of_an_array_gathers_the_per_example_batches():
    # Arrays are batched by gathering shuffled indices (the fast path); that gives
    # exactly the batches of shuffling the examples themselves, so results did not
    # change with the speed-up.
    x = np.random.default_rng(0).random((300, 5)).astype(np.float32)
    from keras_vae.datasets.binarization import _binarized

    for shuffle in (True, False):
        fast = datasets.dynamic_binarization(x, batch_size=64, shuffle=shuffle, seed=7)
        slow = tf.data.Dataset.from_tensor_slices(x)
        if shuffle:
            slow = slow.shuffle(len(x), seed=7, reshuffle_each_iteration=True)
        slow = _binarized(slow.batch(64), seed=7)
        for _ in range(2):  # two epochs: the reshuffle and the fresh draws agree too
            a, b = [t.numpy() for t in fast], [t.numpy() for t in slow]
            assert [t.shape for t in a] == [t.shape for t in b] == [(64, 5)] * 4 + [(44, 5)]
            for p, q in zip(a, b):
                np.testing.assert_array_equal(p, q)
    with pytest.raises(ValueError, match="batch_size"):
        datasets.dynamic_binarization(x, batch_size=0)


def test_dynamic_binarization_with_a_condition_keeps_each_examples_condition_and_the_same_x():
    # Row i holds the bits of i (probabilities 0 / 1: deterministic draws), so each
    # batch's x says which rows it gathered and its conditions must be those rows.
    bits = ((np.arange(200)[:, None] >> np.arange(8)) & 1).astype(np.float32)
    labeled = datasets.dynamic_binarization(bits, batch_size=64, seed=5, condition=np.arange(200))
    for _ in range(2):  # reshuffled in the second epoch, still paired
        batches = list(labeled)
        assert [sorted(b) for b in batches] == [["condition", "x"]] * 4
        for b in batches:
            np.testing.assert_array_equal(b["x"].numpy() @ (2 ** np.arange(8)), b["condition"].numpy())
    # The x batches are those of the call without a condition: same order, same draws.
    x = np.random.default_rng(1).random((150, 6)).astype(np.float32)
    for batch_size in (32, None):
        plain = datasets.dynamic_binarization(x, batch_size=batch_size, seed=3)
        given = datasets.dynamic_binarization(x, batch_size=batch_size, seed=3, condition=np.arange(150) % 10)
        for _ in range(2):
            for p, q in zip(plain, given, strict=True):
                np.testing.assert_array_equal(p.numpy(), q["x"].numpy())
    for bad, match in ((np.arange(149), "149 conditions for 150"), (np.int64(3), "a scalar"),
                       (np.array(["a"] * 150), "numbers")):
        with pytest.raises(ValueError, match=match):
            datasets.dynamic_binarization(x, condition=bad)
    with pytest.raises(ValueError, match="in-memory array"):
        datasets.dynamic_binarization(tf.data.Dataset.from_tensor_slices(x), condition=np.arange(150))


def test_dynamic_binarization_inputs_and_fit():
    import keras_vae as kv

    x, y = datasets.load_sample("test", normalize=False)  # uint8 -> /255
    ds = datasets.dynamic_binarization((x[:100], y[:100]), batch_size=32, seed=0)
    batches = list(ds)
    assert [b.shape[0] for b in batches] == [32, 32, 32, 4]
    assert all(not isinstance(b, tuple) for b in batches)
    # 0 stays 0 and 255 stays 1.
    flat = np.concatenate([b.numpy() for b in datasets.dynamic_binarization(x[:100], batch_size=100, shuffle=False)])
    assert np.all(flat[x[:100] == 0] == 0) and np.all(flat[x[:100] == 255] == 1)
    # An unbatched tf.data.Dataset of (x, y) works too.
    tds = tf.data.Dataset.from_tensor_slices((x[:10], y[:10]))
    assert [b.shape for b in datasets.dynamic_binarization(tds, batch_size=5, seed=1)] == [(5, 28, 28, 1)] * 2
    vae = kv.VAE(encoder=kv.encoders.MLPEncoder([16]), decoder=kv.decoders.MLPDecoder([16]),
                 latent_dim=2, input_shape=(28, 28, 1), seed=0)
    vae.compile(optimizer="adam")
    history = vae.fit(ds, epochs=1, verbose=0, shuffle=False)
    assert np.isfinite(history.history["loss"][0])


# ------------------------------------------------------- npz / npy / folders
def test_load_npz(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.ones((4, 3)), y=np.arange(4))
    assert datasets.load_npz(path).shape == (4, 3)
    assert datasets.load_npz(path, key="y").tolist() == [0, 1, 2, 3]
    with pytest.raises(KeyError, match=r"\['x', 'y'\]"):
        datasets.load_npz(path, key="images")
    np.savez(tmp_path / "two.npz", a=np.ones(2), b=np.ones(2))
    with pytest.raises(ValueError, match="key="):
        datasets.load_npz(tmp_path / "two.npz")
    np.save(tmp_path / "a.npy", np.arange(3))
    assert datasets.load_npz(tmp_path / "a.npy").tolist() == [0, 1, 2]
    with pytest.raises(FileNotFoundError):
        datasets.load_npz(tmp_path / "missing.npz")


def _write_pngs(folder: pathlib.Path, count: int, size=(12, 10), mode="L", value=None) -> list[np.ndarray]:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(str(folder)))
    arrays = []
    for i in range(count):
        shape = (size[1], size[0]) + ((3,) if mode == "RGB" else ())
        array = rng.integers(0, 256, shape).astype(np.uint8) if value is None else np.full(shape, value, np.uint8)
        Image.fromarray(array, mode=mode).save(folder / f"img_{i:02d}.png")
        arrays.append(array)
    return arrays


def test_load_image_folder_flat(tmp_path):
    arrays = _write_pngs(tmp_path / "imgs", 3)
    x, y = datasets.load_image_folder(tmp_path / "imgs")
    assert y is None
    assert x.shape == (3, 10, 12, 1) and x.dtype == np.float32
    np.testing.assert_allclose(x[..., 0], np.stack(arrays) / 255.0, atol=1e-6)


def test_load_image_folder_classes_resize_and_rgb(tmp_path):
    _write_pngs(tmp_path / "imgs" / "cat", 2, size=(8, 8), mode="RGB", value=255)
    _write_pngs(tmp_path / "imgs" / "dog", 3, size=(16, 16), mode="RGB", value=0)
    x, y = datasets.load_image_folder(tmp_path / "imgs", image_size=(4, 4), color_mode="rgb")
    assert x.shape == (5, 4, 4, 3)
    assert y.tolist() == [0, 0, 1, 1, 1]
    np.testing.assert_allclose(x[:2], 1.0, atol=1e-5)
    np.testing.assert_allclose(x[2:], 0.0, atol=1e-5)
    assert 0.0 <= x.min() and x.max() <= 1.0
    with pytest.raises(ValueError, match="image_size"):
        datasets.load_image_folder(tmp_path / "imgs")  # mixed sizes without resizing
    with pytest.raises(ValueError, match="color_mode"):
        datasets.load_image_folder(tmp_path / "imgs", color_mode="cmyk")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="No images"):
        datasets.load_image_folder(tmp_path / "empty")


def test_load_dataset_dispatch(tmp_path, fashion_path):
    x, y = datasets.load_dataset("sample", split="test")
    assert x.shape == (1000, 28, 28, 1)
    xf, _ = datasets.load_dataset("fashion-mnist", split="test", path=fashion_path, download=False)
    assert xf.shape == (10000, 28, 28, 1)

    images = np.random.default_rng(0).integers(0, 256, (6, 28, 28)).astype(np.uint8)
    np.savez(tmp_path / "k.npz", x_train=images, y_train=np.arange(6), x_test=images[:2], y_test=np.arange(2))
    x, y = datasets.load_dataset(tmp_path / "k.npz", split="test")
    assert x.shape == (2, 28, 28, 1) and x.dtype == np.float32 and y.tolist() == [0, 1]
    np.save(tmp_path / "a.npy", np.zeros((5, 7), np.float32))
    x, y = datasets.load_dataset(str(tmp_path / "a.npy"))
    assert x.shape == (5, 7) and y is None

    _write_pngs(tmp_path / "folder" / "train", 2)
    _write_pngs(tmp_path / "folder" / "test", 1)
    x, y = datasets.load_dataset(tmp_path / "folder", split="test")
    assert x.shape == (1, 10, 12, 1)

    with pytest.raises(ValueError, match="Unknown dataset 'cifar10'") as info:
        datasets.load_dataset("cifar10")
    for name in ("mnist", "fashion_mnist", "sample", ".npz", ".npy", ".csv", ".tsv", "folder of images"):
        assert name in str(info.value)
    with pytest.raises(FileNotFoundError):
        datasets.load_dataset(tmp_path / "missing.npz")


def test_load_dataset_accepts_a_folder_of_idx_files(tmp_path, isolated):
    images, labels = _write_fake_mnist(tmp_path)
    x, y = datasets.load_dataset(tmp_path, split="test")
    np.testing.assert_array_equal(x[..., 0], images / np.float32(255.0))
    np.testing.assert_array_equal(y, labels)


# ------------------------------------------------------------ the user's data
def test_colour_image_folder_stays_rgb_and_grey_stays_grey(tmp_path):
    colour = _write_pngs(tmp_path / "colour", 3, mode="RGB")
    x, y = datasets.load_image_folder(tmp_path / "colour")
    assert x.shape == (3, 10, 12, 3) and y is None
    np.testing.assert_allclose(x * 255.0, np.stack(colour), atol=1e-3)
    x, _ = datasets.load_dataset(tmp_path / "colour")
    assert x.shape[-1] == 3
    # Grey pictures saved as RGB (equal channels) are grey: one channel.
    from PIL import Image

    (tmp_path / "grey").mkdir()
    for i in range(2):
        Image.fromarray(np.full((10, 12, 3), 40 * i, np.uint8), mode="RGB").save(tmp_path / "grey" / f"{i}.png")
    x, _ = datasets.load_image_folder(tmp_path / "grey")
    assert x.shape == (2, 10, 12, 1)
    x, _ = datasets.load_image_folder(tmp_path / "colour", color_mode="grayscale")
    assert x.shape == (3, 10, 12, 1)


def test_csv_and_tsv_tables(tmp_path):
    csv_file = tmp_path / "t.csv"
    csv_file.write_text("id,name,height,weight\n1,ann,1.60,60\n2,bob,1.80,80.5\n3,cy,1.70,70\n")
    table = datasets.read_table(csv_file)
    assert table.has_header and table.columns == ["id", "height", "weight"] and table.dropped == ["name"]
    np.testing.assert_allclose(table.x, [[1, 1.6, 60], [2, 1.8, 80.5], [3, 1.7, 70]], rtol=1e-6)
    x, y = datasets.load_dataset(csv_file)
    assert x.shape == (3, 3) and x.dtype == np.float32 and y is None

    tsv_file = tmp_path / "t.tsv"
    tsv_file.write_text("0.5\t1\n1.5\t2\n")
    table = datasets.read_table(tsv_file)
    assert not table.has_header and table.columns == ["column_1", "column_2"]
    assert table.x.tolist() == [[0.5, 1.0], [1.5, 2.0]]

    semicolons = tmp_path / "s.csv"
    semicolons.write_text("a;b\n1;2\n3;4\n")
    assert datasets.read_table(semicolons).x.tolist() == [[1, 2], [3, 4]]

    missing = tmp_path / "m.csv"
    missing.write_text("a,b\n1,2\n3,\n")
    with pytest.raises(ValueError, match=r"line 3, column 'b': missing value"):
        datasets.read_table(missing)
    ragged = tmp_path / "r.csv"
    ragged.write_text("a,b\n1,2\n3\n")
    with pytest.raises(ValueError, match="row 3"):
        datasets.read_table(ragged)
    words = tmp_path / "w.csv"
    words.write_text("a,b\nx,y\n")
    with pytest.raises(ValueError, match="no numeric column"):
        datasets.read_table(words)


def test_a_labels_file_is_refused_with_a_clear_error(tmp_path):
    np.save(tmp_path / "labels.npy", np.arange(10))
    with pytest.raises(ValueError, match="labels file"):
        datasets.load_dataset(tmp_path / "labels.npy")


def test_standardizer_and_the_far_from_standardized_report(tmp_path):
    rng = np.random.default_rng(0)
    x = np.stack([rng.normal(1000, 100, 500), rng.normal(0, 1, 500), np.full(500, 3.0)], 1)
    s = datasets.Standardizer.fit(x, ["big", "unit", "constant"])
    z = s.transform(x)
    np.testing.assert_allclose(z[:, :2].mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(z[:, :2].std(0), 1, atol=1e-4)
    assert np.all(z[:, 2] == 0)  # a constant feature is only centred
    s.save(tmp_path / "s.json")
    again = datasets.Standardizer.load(tmp_path / "s.json")
    np.testing.assert_allclose(again.inverse_transform(z), x, rtol=1e-5)
    assert again.columns == ["big", "unit", "constant"]
    with pytest.raises(ValueError, match="shape"):
        s.transform(np.zeros((2, 4)))

    report = datasets.standardization_report(x, ["big", "unit", "constant"])
    assert "2 of 3 features" in report and "big has mean 997" in report
    assert datasets.standardization_report(z[:, :2]) is None
    assert datasets.standardization_report(rng.uniform(size=(10, 3))) is None  # [0, 1] data


def test_data_folder_reads_one_variable_and_its_old_name(monkeypatch, tmp_path):
    monkeypatch.delenv(datasets.ENV_VAR, raising=False)
    monkeypatch.delenv(datasets.OLD_ENV_VAR, raising=False)
    assert datasets.data_folder() is None
    assert datasets.data_folder(default=tmp_path) == tmp_path
    monkeypatch.setenv(datasets.OLD_ENV_VAR, str(tmp_path / "old"))
    with pytest.warns(DeprecationWarning, match="KERAS_VAE_DATA"):
        assert datasets.data_folder() == tmp_path / "old"
    monkeypatch.setenv(datasets.ENV_VAR, str(tmp_path / "new"))
    assert datasets.data_folder() == tmp_path / "new"


def test_epoch_pipeline_depends_only_on_seed_and_epoch():
    x = np.arange(20, dtype=np.float32)[:, None] / 20.0

    def epoch(index, binarize=False):
        ds, counter = datasets.epoch_pipeline(x, batch_size=6, seed=3, binarize=binarize)
        counter.on_epoch_begin(index)
        return np.concatenate([b.numpy() for b in ds])

    first, second = epoch(0), epoch(1)
    assert sorted(first.ravel().tolist()) == sorted(x.ravel().tolist())
    assert not np.array_equal(first, second)  # a new order each epoch
    np.testing.assert_array_equal(epoch(1), second)  # the same epoch, a fresh pipeline: same order
    b1, b2 = epoch(1, binarize=True), epoch(1, binarize=True)
    np.testing.assert_array_equal(b1, b2)
    assert set(np.unique(b1)) <= {0.0, 1.0}
