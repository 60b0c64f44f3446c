"""Exact .keras round trips, resumed training, and damaged or plugin-less files."""
import json
import subprocess
import sys
import textwrap
import zipfile

import keras
import numpy as np
import pytest

import keras_vae as kv
from helpers import COMBINATIONS, IMAGE_SHAPE, combination_vae, example_data
from keras_vae.testing import check_save_load


@pytest.mark.parametrize("encoder,decoder,likelihood", COMBINATIONS)
def test_round_trip_every_builtin_combination(encoder, decoder, likelihood, tmp_path):
    vae = combination_vae(encoder, decoder, likelihood)
    x = example_data(IMAGE_SHAPE, n=16)
    vae.compile(optimizer="adam")
    vae.fit(x, epochs=1, batch_size=8, verbose=0)
    reloaded = check_save_load(vae, x, str(tmp_path))
    assert reloaded.beta == vae.beta and reloaded.seed == vae.seed


def test_resumed_training_equals_uninterrupted_training(tmp_path):
    x = example_data(IMAGE_SHAPE, n=64)
    vae = combination_vae("conv", "mlp", "gaussian_per_feature")
    vae = kv.VAE.from_config({**vae.get_config(), "objective": {"name": "elbo", "beta": 0.5}})
    vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    vae.fit(x, epochs=1, batch_size=16, verbose=0)
    vae.save(tmp_path / "m.keras")
    resumed = kv.load_model(tmp_path / "m.keras")
    assert resumed.beta == 0.5 and int(resumed.optimizer.iterations) == 4
    for model in (vae, resumed):
        model.fit(x, epochs=2, batch_size=16, verbose=0, shuffle=False)
    for a, b in zip(vae.weights, resumed.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)


def _corrupt_variants(path):
    data = path.read_bytes()
    truncated = path.with_name("truncated.keras")
    truncated.write_bytes(data[: len(data) // 2])
    garbage = path.with_name("garbage.keras")
    garbage.write_bytes(b"not a zip file at all" * 10)
    flipped = path.with_name("flipped.keras")
    with zipfile.ZipFile(path) as src:
        weights = src.getinfo("model.weights.h5")
    raw = bytearray(data)
    middle = weights.header_offset + 30 + len(weights.filename) + weights.compress_size // 2
    raw[middle] ^= 0xFF
    flipped.write_bytes(bytes(raw))
    return [truncated, garbage, flipped]


def test_damaged_files_give_a_clear_error(tmp_path):
    vae = combination_vae("mlp", "mlp", "bernoulli")
    vae.save(tmp_path / "good.keras")
    for bad in _corrupt_variants(tmp_path / "good.keras"):
        with pytest.raises(ValueError, match="truncated or corrupted"):
            kv.load_model(bad)
    with pytest.raises(FileNotFoundError, match="No .keras file"):
        kv.load_model(tmp_path / "missing.keras")


def test_missing_plugin_is_named(tmp_path):
    vae = combination_vae("mlp", "mlp", "bernoulli")
    vae.save(tmp_path / "m.keras")
    # Rewrite the file as if its likelihood came from an uninstalled plugin.
    with zipfile.ZipFile(tmp_path / "m.keras") as src:
        members = {name: src.read(name) for name in src.namelist()}
    config = json.loads(members["config.json"])
    likelihood = config["config"]["likelihood"]
    likelihood.update(module="kv_student_t.likelihood", registered_name="kv_student_t>StudentT", class_name="StudentT")
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "plugin.keras", "w") as dst:
        for name, data in members.items():
            dst.writestr(name, data)
    # The module named by the file is not a package keras_vae knows: no pip advice.
    with pytest.raises(ImportError, match=r"'kv_student_t>StudentT'.*not a known keras_vae") as info:
        kv.load_model(tmp_path / "plugin.keras")
    assert "pip install" not in str(info.value)


def test_plain_keras_load_model_works_after_import_in_a_fresh_process(tmp_path):
    vae = combination_vae("conv", "conv", "bernoulli")
    x = example_data(IMAGE_SHAPE, n=4)
    vae.save(tmp_path / "m.keras")
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "z.npy", vae.encode(x).numpy())
    script = textwrap.dedent(
        f"""
        import numpy as np, keras, keras_vae
        vae = keras.saving.load_model({str(tmp_path / 'm.keras')!r})
        z = vae.encode(np.load({str(tmp_path / 'x.npy')!r})).numpy()
        assert np.array_equal(z, np.load({str(tmp_path / 'z.npy')!r})), z
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-3000:]
