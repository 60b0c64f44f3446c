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
    os.symlink(path, tmp_path / "latest.keras")  # a save through a link replaces its target
    vae.save(tmp_path / "latest.keras")
    assert os.path.islink(tmp_path / "latest.keras") and kv.load_model(tmp_path / "latest.keras")
    os.remove(tmp_path / "latest.keras")
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


@pytest.mark.slow
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


def test_pip_advice_only_for_known_packages(tmp_path, monkeypatch):
    import importlib.metadata
    import json

    from keras_vae import registry

    for attribute in ("_PLUGIN_ERRORS", "_CONFLICTS", "_FROM_PLUGINS"):
        monkeypatch.setattr(registry, attribute, {})
    monkeypatch.setattr(registry, "_PLUGINS_LOADED", False)
    group = "keras_vae.likelihoods"  # an announced plugin whose module is gone
    eps = [importlib.metadata.EntryPoint("student_t", "kv_gone_pkg.lik:StudentT", group)]
    monkeypatch.setattr(registry, "_entry_points", lambda g: eps if g == group else [])
    vae = _tiny_vae()
    vae.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        config = json.loads(archive.read("config.json"))
    for module, name, advice in (
        ("keras_vae.likelihoods.new", "keras_vae>FromTheFuture", r"install or upgrade keras-vae \(`pip install -U keras-vae`\)"),
        ("kv_gone_pkg.lik", "kv_gone_pkg>StudentT", r"pip install -U kv-gone-pkg.*plugin 'student_t' is installed but failed to load: ModuleNotFoundError"),
    ):
        config["config"]["likelihood"].update(module=module, registered_name=name, class_name=name.split(">")[1])
        _rewrite(tmp_path / "m.keras", tmp_path / "needs.keras", **{"config.json": json.dumps(config)})
        with pytest.warns(RuntimeWarning, match="plugin 'student_t'.*failed to load"):
            with pytest.raises(ImportError, match=advice):
                kv.load_model(tmp_path / "needs.keras")
        monkeypatch.setattr(registry, "_PLUGINS_LOADED", False)


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
    with pytest.raises(ValueError, match=r"bomb\.keras' is refused: .*decompression bomb"):
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


# ------------------------------------------------------------------- 3. export
@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """One exported (4, 2)-example model, written under the usual umask."""
    from keras_vae.export import export_vae

    vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(4, 2), likelihood="gaussian", seed=1)
    old = os.umask(0o022)
    try:
        return export_vae(vae, tmp_path_factory.mktemp("served") / "vae", warmup=False)
    finally:
        os.umask(old)


def test_served_signatures_check_shape_and_nan(exported):
    import tensorflow as tf

    served = tf.saved_model.load(exported).signatures
    good = np.zeros((3, 4, 2), np.float32)
    assert served["encode"](x=tf.constant(good))["z"].shape == (3, 2)
    # The same 8 numbers per example in another layout: a flattening encoder would
    # take them, the served graph refuses them.
    for name in ("encode", "reconstruct", "score", "serving_default"):
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"keras_vae: x must have shape \(batch, 4, 2\)"):
            served[name](x=tf.constant(np.zeros((3, 2, 4), np.float32)))
    with pytest.raises(tf.errors.InvalidArgumentError, match="keras_vae: z contains NaN or infinite"):
        served["decode"](z=tf.constant([[np.nan, 0.0]], tf.float32))
    with pytest.raises(tf.errors.InvalidArgumentError, match="keras_vae: z must have shape"):
        served["decode"](z=tf.constant(np.zeros((1, 3)), tf.float32))
    with pytest.raises(tf.errors.InvalidArgumentError, match="NaN or infinite"):
        served["score"](x=tf.constant(np.full((1, 4, 2), np.inf, np.float32)))


def test_export_layout_permissions_and_version_bounds(exported, tmp_path):
    from keras_vae.export import versions

    base = os.path.dirname(exported)
    modes = {
        os.path.relpath(os.path.join(folder, name), base): os.stat(os.path.join(folder, name)).st_mode & 0o777
        for folder, dirs, files in os.walk(base)
        for name in dirs + files
    }
    assert modes["1"] == 0o755 and modes[os.path.join("1", "saved_model.pb")] == 0o644
    assert set(modes.values()) <= {0o755, 0o644}, modes
    assert os.stat(base).st_mode & 0o777 == 0o755

    resolve = versions._resolve_target
    assert resolve(tmp_path, 2**63 - 1, False)[1] == 2**63 - 1
    for bad in (2**63, -1, 1.0, True, "2"):
        with pytest.raises(ValueError, match=r"version must be an integer in \[0, 2\*\*63 - 1\]"):
            resolve(tmp_path, bad, False)
    (tmp_path / str(2**63)).mkdir()  # beyond int64: not a version to TF Serving
    assert resolve(tmp_path, None, False)[1] == 1
    (tmp_path / str(2**63 - 1)).mkdir()
    with pytest.raises(ValueError, match="no next version"):
        resolve(tmp_path, None, False)
    # No base inside a version folder or inside a SavedModel.
    with pytest.raises(ValueError, match=r"ends in the integer 3.*nest a version"):
        resolve(tmp_path / "3", 5, False)
    for inside in ("variables", os.path.join("variables", "deeper")):
        with pytest.raises(ValueError, match=r"inside the SavedModel '.*/vae/1'"):
            resolve(os.path.join(exported, inside), None, False)


# ------------------------------------------------- 4. finite input, bad numbers
def _state(vae):
    return [w.numpy().copy() for w in vae.weights], int(vae.optimizer.iterations)


def _assert_unchanged(vae, state):
    weights, iterations = state
    assert int(vae.optimizer.iterations) == iterations
    for before, after in zip(weights, vae.weights):
        np.testing.assert_array_equal(before, after.numpy(), err_msg=after.path)


@pytest.fixture(scope="module")
def compiled():
    """One trained model shared by the tests below: each asserts it is left unchanged."""
    vae = _tiny_vae()
    vae.compile(optimizer="adam", jit_compile=False)
    vae.fit(np.zeros((8, 4), np.float32), epochs=1, batch_size=8, verbose=0)
    return vae


@pytest.mark.parametrize(
    "bad,message",
    [(np.nan, "1 NaN or infinite value.*index 3"), (np.inf, "1 NaN or infinite"), (-1.0, "1 negative value.*-1")],
)
def test_bad_sample_weights_are_refused_before_any_update(compiled, bad, message):
    import tensorflow as tf

    x = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
    w = np.ones(8, np.float32)
    w[3] = bad
    state = _state(compiled)
    for call in (compiled.fit, compiled.evaluate):
        with pytest.raises(ValueError, match=f"sample_weight holds {message}"):
            call(x, sample_weight=w, verbose=0)
    with pytest.raises(ValueError, match="validation_data's sample_weight holds"):
        compiled.fit(x, epochs=1, verbose=0, validation_data=(x, None, w))
    # Weights inside a dataset are checked in its pipeline, before the step.
    ds = tf.data.Dataset.from_tensor_slices((x, np.zeros(8, np.float32), w)).batch(8)
    with pytest.raises(tf.errors.InvalidArgumentError, match="^keras_vae: sample_weight holds"):
        compiled.fit(ds, epochs=1, verbose=0)
    _assert_unchanged(compiled, state)
    with pytest.raises(ValueError, match=r"sample_weight has shape \(7,\), but x has 8 examples"):
        compiled.fit(x, sample_weight=np.ones(7), verbose=0)


def test_data_overflowing_float32_is_refused_with_the_fix(compiled):
    state = _state(compiled)
    huge = np.full((8, 4), 1e300)  # float64: must not be called "inf"
    with pytest.raises(ValueError, match=r"up to 1e\+300 .*beyond float32's range.*Standardize") as info:
        compiled.fit(huge, verbose=0)
    assert "NaN or infinite" not in str(info.value)
    large = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32) * 1e18
    for call in (compiled.fit, compiled.evaluate, compiled.predict):
        with pytest.raises(ValueError, match=r"above 1e\+08.*x = \(x - x.mean\(axis=0\)\) / x.std"):
            call(large, verbose=0)
    # The same data in a tf.data pipeline: checked batch by batch, before the step.
    import tensorflow as tf

    for data in (large, huge):
        ds = tf.data.Dataset.from_tensor_slices(data).batch(8)
        for call in (compiled.fit, compiled.evaluate, compiled.predict):
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"^keras_vae: x holds values above 1e\+08"):
                call(ds, verbose=0)
    _assert_unchanged(compiled, state)


def test_a_refused_fit_leaves_a_lazy_model_unbuilt():
    vae = kv.VAE("mlp", "mlp", latent_dim=2, likelihood="gaussian", seed=1)
    vae.compile(optimizer="adam", jit_compile=False)
    bad = np.zeros((4, 6), np.float32)
    bad[0, 0] = np.nan
    for data, kwargs in ((bad, {}), (bad * 0 + 1e12, {}), (np.zeros((4, 6)), {"sample_weight": -np.ones(4)})):
        with pytest.raises(ValueError):
            vae.fit(data, verbose=0, **kwargs)
        assert vae.data_shape is None and not vae.encoder.built
    vae.fit(np.zeros((4, 3), np.float32), verbose=0)  # the corrected data, another shape
    assert vae.data_shape == (3,)


def test_messages_name_the_argument_the_value_and_the_fix(compiled):
    import tensorflow as tf

    for call in ("fit", "evaluate", "predict"):
        with pytest.raises(ValueError, match=rf"{call}\(\) needs data: x is None"):
            getattr(compiled, call)(None)
    ds = tf.data.Dataset.from_tensor_slices(np.zeros((4, 4), np.float32)).batch(2)
    with pytest.raises(ValueError, match=r"sample_weight= cannot be given with x of type .*Dataset.*\(x, y, sample_weight\)"):
        compiled.fit(ds, sample_weight=np.ones(4), verbose=0)
    for seed in ("abc", 1.5, -1, 2**31, True):
        with pytest.raises(ValueError, match=r"seed must be in \[0, 2\*\*31 - 1\] \(an integer, or None\), got"):
            kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(4,), seed=seed)
    for shape in (28, "28", (28, 0), (28.0,), ()):
        with pytest.raises(ValueError, match=r"input_shape must be a tuple of positive integers giving every dimension.*got"):
            kv.VAE("mlp", "mlp", latent_dim=2, input_shape=shape)
    with pytest.raises(ValueError, match="Gaussian min_scale must be a finite number > 0, got -0.1"):
        kv.likelihoods.Gaussian(min_scale=-0.1)
    with pytest.raises(ValueError, match="DiagonalGaussianPosterior min_scale must be a finite number > 0"):
        kv.posteriors.DiagonalGaussianPosterior(min_scale=float("nan"))
    with pytest.raises(ValueError, match=r"hidden_units must be a list of positive integers.*got 400"):
        kv.encoders.MLPEncoder(400)
    with pytest.raises(ValueError, match=r"hidden_units\[1\] must be an integer >= 1, got 2.5"):
        kv.decoders.MLPDecoder([8, 2.5])
    with pytest.raises(ValueError, match="kernel_size must be an integer >= 1, got 0"):
        kv.encoders.ConvEncoder(kernel_size=0)


# ------------------------------------------------ 5. graph errors, XLA boundary
def test_graph_errors_from_keras_vae_checks_show_keras_vae_first(compiled):
    import tensorflow as tf

    x = np.zeros((8, 4), np.float32)
    x[1, 1] = np.nan  # in the first batch: no step may run
    ds = tf.data.Dataset.from_tensor_slices(x).batch(4)
    state = _state(compiled)
    for call in (compiled.fit, compiled.evaluate, compiled.predict):
        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            call(ds, verbose=0)
        assert str(info.value).startswith("keras_vae: the batch contains NaN"), str(info.value)[:200]
        assert "Graph execution error" in str(info.value)  # TensorFlow's text is kept below
    _assert_unchanged(compiled, state)


def test_the_xla_boundary_of_inference_methods(compiled):
    """XLA compiles assertions away: under a user's tf.function(jit_compile=True) a
    NaN input is not refused but propagates (NaN out, never a plausible number); the
    methods called directly, vae.check_data and the exported signatures refuse it."""
    import tensorflow as tf

    x = np.zeros((2, 4), np.float32)
    x[1, 2] = np.nan
    with pytest.raises(tf.errors.InvalidArgumentError, match="keras_vae: the batch contains NaN"):
        compiled.encode(x)
    with pytest.raises(ValueError, match="contains 1 NaN"):
        compiled.check_data(x)
    for method, arg in ((compiled.encode, x), (compiled.reconstruct, x)):
        try:
            out = tf.function(method, jit_compile=True)(tf.constant(arg)).numpy()
        except tf.errors.InvalidArgumentError:
            continue  # a check that survived compilation is fine too
        assert np.isnan(out[1]).any(), out  # the bad row is NaN, not a plausible value
        assert np.isfinite(out[0]).all()
