"""Hardening (issue 13): atomic saves, untrusted files, plugins, served checks, bad numbers.

Each test drives one failure an adversarial user found and asserts the fixed outcome:
an error that names the argument and the fix, with the model (weights, optimizer step)
and the files on disk unchanged.
"""
import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
import zipfile

import numpy as np
import pytest

import keras_vae as kv


def _tiny_vae(**kwargs):
    kwargs.setdefault("likelihood", "gaussian")
    return kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(4,), seed=1, **kwargs)


def _fill(vae, value: float) -> None:
    for w in vae.trainable_weights:
        w.assign(np.full(w.shape, value, w.dtype))


def _constant_value(vae) -> float:
    """The one value every trainable weight holds (asserts they agree: no torn mix)."""
    values = {float(v) for w in vae.trainable_weights for v in np.unique(w.numpy())}
    assert len(values) == 1, f"weights from different saves mixed: {sorted(values)[:5]}"
    return values.pop()


# ------------------------------------------------------------------ 1. saves
def test_a_failing_save_leaves_the_previous_file_intact(tmp_path):
    path = tmp_path / "m.keras"
    vae = _tiny_vae()
    _fill(vae, 1.0)
    vae.save(path)
    before = path.read_bytes()

    def broken(store):
        raise RuntimeError("disk full while writing weights")

    object.__setattr__(vae.decoder, "save_own_variables", broken)
    _fill(vae, 2.0)
    with pytest.raises(RuntimeError, match="disk full"):
        vae.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.keras"]  # the temporary file is gone too
    assert _constant_value(kv.load_model(path)) == 1.0


def test_save_keeps_permissions_and_refuses_other_formats(tmp_path):
    vae = _tiny_vae()
    path = tmp_path / "m.keras"
    vae.save(path)
    old_umask = os.umask(0o022)
    os.umask(old_umask)
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o666 & ~old_umask)
    os.chmod(path, 0o640)
    vae.save(path)
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o640)  # a re-save keeps them
    with pytest.raises(FileExistsError, match="overwrite=True"):
        vae.save(path, overwrite=False)
    with pytest.raises(ValueError, match=r"filepath='.*m\.h5'.*vae\.save\('.*m\.keras'\)"):
        vae.save(tmp_path / "m.h5")
    assert sorted(os.listdir(tmp_path)) == ["m.keras"]


_SAVER = textwrap.dedent(
    """
    import os, sys, time
    import numpy as np
    import keras_vae as kv

    path, stop = sys.argv[1], sys.argv[2]
    vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(4,), likelihood="gaussian", seed=1)

    def fill(value):
        for w in vae.trainable_weights:
            w.assign(np.full(w.shape, value, w.dtype))

    i = 0
    while not os.path.exists(stop) and i < 400:   # saves while the parent loads
        i += 1
        fill(i)
        vae.save(path)
        print("saved", i, flush=True)

    def hang(store):          # the next save stops half-way through its archive
        print("mid-save", flush=True)
        time.sleep(600)

    object.__setattr__(vae.decoder, "save_own_variables", hang)
    fill(i + 1)
    vae.save(path)
    """
)


def _lines(stream, sink):
    for line in stream:
        sink.put(line.strip())


def test_concurrent_load_never_sees_a_torn_file_and_sigkill_mid_save_keeps_the_old_one(tmp_path):
    path, stop = tmp_path / "m.keras", tmp_path / "stop"
    child = subprocess.Popen(
        [sys.executable, "-c", _SAVER, str(path), str(stop)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_lines, args=(child.stdout, lines), daemon=True).start()
    saved, seen = [], set()

    def drain(wait=0.0):
        try:
            while True:
                line = lines.get(timeout=wait)
                wait = 0.0
                if line.startswith("saved"):
                    saved.append(int(line.split()[1]))
                elif line == "mid-save":
                    return True
        except queue.Empty:
            return False

    try:
        deadline = time.monotonic() + 120
        while not saved and time.monotonic() < deadline:
            drain(1.0)
        assert saved, "the saving process did not start"
        # Load while the other process keeps replacing the file: every load is whole.
        loads = 0
        while loads < 6 and child.poll() is None:
            seen.add(_constant_value(kv.load_model(path)))
            loads += 1
            drain()
        stop.touch()
        mid = False
        while not mid and time.monotonic() < deadline:
            mid = drain(1.0)
        assert mid, "the saving process never reached the hanging save"
        child.send_signal(signal.SIGKILL)  # killed half-way through writing
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(30)
    assert len(seen) >= 2, f"the loads did not overlap the saves (saw {seen})"
    assert seen <= set(map(float, saved))
    # The killed save left the last complete model in place, loadable.
    assert _constant_value(kv.load_model(path)) == float(saved[-1])
    leftovers = [n for n in os.listdir(tmp_path) if n.startswith(".m.keras.")]
    assert len(leftovers) <= 1  # at most the killed save's hidden temporary file


# -------------------------------------------------------- 1. untrusted files
def _rewrite(src, dst, **members):
    with zipfile.ZipFile(src) as archive:
        content = {name: archive.read(name) for name in archive.namelist()}
    content.update(members)
    with zipfile.ZipFile(dst, "w") as archive:
        for name, data in content.items():
            archive.writestr(name, data)


def test_foreign_files_are_named_with_their_cause(tmp_path):
    vae = _tiny_vae()
    np.save(tmp_path / "x.npy", np.zeros(3))
    os.rename(tmp_path / "x.npy", tmp_path / "x.keras")
    vae.save_weights(tmp_path / "w.weights.h5")
    np.savez(tmp_path / "a.npz", a=np.zeros(3))
    with zipfile.ZipFile(tmp_path / "other.keras", "w") as archive:
        archive.writestr("readme.txt", "hello")
    (tmp_path / "empty.keras").write_bytes(b"")
    cases = {
        "x.keras": "NumPy array file",
        "w.weights.h5": r"HDF5 file .*vae\.load_weights",
        "a.npz": r"NumPy \.npz archive",
        "other.keras": "zip archive of 1 file.* without config.json",
        "empty.keras": r"empty \(0 bytes\)",
    }
    for name, cause in cases.items():
        with pytest.raises(ValueError, match=f"{name}.*{cause}"):
            kv.load_model(tmp_path / name)
    (tmp_path / "serving" / "1").mkdir(parents=True)
    (tmp_path / "serving" / "1" / "saved_model.pb").write_bytes(b"")
    with pytest.raises(ValueError, match="is a TensorFlow SavedModel.*tf.saved_model.load"):
        kv.load_model(tmp_path / "serving" / "1")


def test_advice_from_a_crafted_file_is_sanitized(tmp_path):
    vae = _tiny_vae()
    vae.save(tmp_path / "m.keras")
    import json

    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        config = json.loads(archive.read("config.json"))
    config["config"]["likelihood"].update(
        module="subprocess", registered_name="subprocess>Popen\n`rm -rf ~`", class_name="Popen"
    )
    _rewrite(tmp_path / "m.keras", tmp_path / "crafted.keras", **{"config.json": json.dumps(config)})
    with pytest.raises(ImportError) as info:
        kv.load_model(tmp_path / "crafted.keras")
    message = str(info.value)
    assert "pip install" not in message and "\n" not in message and "`rm" not in message
    assert "'subprocess' is not a known keras_vae component package" in message


def test_the_bomb_guard_runs_before_any_member_is_inflated(tmp_path, monkeypatch):
    vae = _tiny_vae()
    vae.save(tmp_path / "m.keras")
    from keras.src.saving import saving_lib

    # A member that declares far more than it stores is refused before reading it.
    monkeypatch.setattr(saving_lib, "_ZIP_EXTRACT_BOMB_FLOOR_BYTES", 10)
    inflated = []
    monkeypatch.setattr(zipfile.ZipFile, "testzip", lambda self: inflated.append(1))
    _rewrite(tmp_path / "m.keras", tmp_path / "bomb.keras", **{"pad.bin": b"\0" * 200_000})
    with zipfile.ZipFile(tmp_path / "bomb.keras", "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.bin", b"\0" * 2_000_000)
    with pytest.raises(ValueError, match="decompression bomb"):
        kv.load_model(tmp_path / "bomb.keras")
    assert not inflated


def test_a_vae_file_whose_compile_config_has_a_loss_says_how_to_load_it(tmp_path):
    vae = _tiny_vae()
    vae.compile(optimizer="adam")
    vae.save(tmp_path / "m.keras")
    import json

    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        config = json.loads(archive.read("config.json"))
    config["compile_config"]["loss"] = "mse"
    _rewrite(tmp_path / "m.keras", tmp_path / "loss.keras", **{"config.json": json.dumps(config)})
    with pytest.raises(ValueError, match=r"loss='mse'.*compile=False"):
        kv.load_model(tmp_path / "loss.keras")
    assert kv.load_model(tmp_path / "loss.keras", compile=False).latent_dim == 2


# ------------------------------------------------------------------ 2. plugins
def test_a_hijacking_plugin_never_blocks_loading_files(tmp_path, monkeypatch):
    import importlib.metadata

    from keras_vae import registry

    for attribute in ("_PLUGIN_ERRORS", "_CONFLICTS", "_FROM_PLUGINS"):
        monkeypatch.setattr(registry, attribute, {})
    monkeypatch.setattr(registry, "_REGISTRY", {k: dict(v) for k, v in registry._REGISTRY.items()})
    monkeypatch.setattr(registry, "_PLUGINS_LOADED", False)
    (tmp_path / "hijack_pkg.py").write_text(
        "import keras_vae as kv\nclass Plugin(kv.likelihoods.Bernoulli):\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    group = "keras_vae.likelihoods"
    eps = [importlib.metadata.EntryPoint("bernoulli", "hijack_pkg:Plugin", group)]
    monkeypatch.setattr(registry, "_entry_points", lambda g: eps if g == group else [])
    vae = _tiny_vae(likelihood="bernoulli")
    vae.save(tmp_path / "m.keras")
    with pytest.warns(RuntimeWarning, match="claims the likelihood name 'bernoulli'"):
        first = kv.load_model(tmp_path / "m.keras")
    second = kv.load_model(tmp_path / "m.keras")
    for loaded in (first, second):
        assert type(loaded.likelihood_layer) is kv.likelihoods.Bernoulli
    assert type(kv.get("likelihood", "bernoulli")) is kv.likelihoods.Bernoulli
