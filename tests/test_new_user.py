"""A new user's day (issue 22): standardization inside the model (Python, .keras,
SavedModel in a plain TensorFlow process, LiteRT / ONNX where installed), loaders
that never drop data silently, raw levels for integer likelihoods, evaluate on the
held-out rows, and advice only where it applies."""
import contextlib
import io
import json
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import keras_vae as kv
from keras_vae import cli, datasets

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCALES = np.array([1.0, 10.0, 100.0, 0.1, 1000.0], np.float32)
OFFSETS = np.array([5.0, -50.0, 1000.0, 0.0, 1e4], np.float32)


def run_main(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(argv)
    return status, out.getvalue(), err.getvalue()


def raw_table(n=300, seed=0):
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 1))
    z = np.concatenate([latent, latent + 0.3 * rng.normal(size=(n, 4))], 1)[:, :5]
    return (z * SCALES + OFFSETS).astype("float32")


@pytest.fixture(scope="module")
def standardized(tmp_path_factory):
    """A VAE made with standardize=True, fitted on raw rows, saved and exported."""
    folder = tmp_path_factory.mktemp("std")
    x = raw_table()
    vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(5,), likelihood="gaussian",
                 standardize=True, seed=1)
    vae.compile(optimizer="adam")
    vae.fit(x, epochs=3, batch_size=50, verbose=0)  # adapts on the first fit
    path = str(folder / "m.keras")
    vae.save(path)
    version = vae.export(str(folder / "serving"), score_samples=16)
    return vae, x, path, version


# ------------------------------------------------------------ standardization
def test_standardize_adapts_on_fit_and_travels_in_the_keras_file(standardized):
    vae, x, path, _ = standardized
    np.testing.assert_allclose(np.asarray(vae.standardization.adapt_mean), x.mean(0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.sqrt(np.asarray(vae.standardization.adapt_variance)), x.std(0), rtol=1e-4)
    again = kv.load_model(path)
    assert again.get_config()["standardize"] is True and again.standardization.adapted
    rows = x[:6]
    np.testing.assert_allclose(again.log_likelihood(rows, num_samples=20, seed=0),
                               vae.log_likelihood(rows, num_samples=20, seed=0), rtol=1e-6)
    np.testing.assert_allclose(again.encode(rows), vae.encode(rows), atol=1e-6)
    np.testing.assert_allclose(again.sample(4, seed=2), vae.sample(4, seed=2), rtol=1e-6)
    # Raw rows score like data (not the -2e6 of a model that never saw raw units) ...
    assert np.all(np.asarray(again.log_likelihood(rows, num_samples=20, seed=0)) > -60)
    # ... and outputs are in the data's units.
    samples = np.asarray(again.sample(500, seed=0))
    np.testing.assert_allclose(samples.mean(0), x.mean(0), atol=0.5 * float(x.std(0).max()))
    assert np.all(np.abs(samples.mean(0) - x.mean(0)) < 1.0 * x.std(0))
    recon = np.asarray(again.reconstruct(rows))
    assert np.all(np.abs(recon - rows) < 4 * x.std(0))


def test_log_px_in_raw_units_is_the_standardized_one_minus_sum_log_sigma(standardized):
    vae, x, _, _ = standardized
    twin = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(5,), likelihood="gaussian", seed=1)
    for name in ("encoder", "decoder", "posterior_layer", "likelihood_layer", "prior_layer"):
        getattr(twin, name).set_weights(getattr(vae, name).get_weights())
    sigma = np.sqrt(np.asarray(vae.standardization.adapt_variance, np.float64))
    z = (x[:8] - np.asarray(vae.standardization.adapt_mean)) / sigma.astype("float32")
    np.testing.assert_allclose(np.asarray(vae.elbo(x[:8], seed=3)),
                               np.asarray(twin.elbo(z.astype("float32"), seed=3)) - np.log(sigma).sum(),
                               rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(vae.log_likelihood(x[:8], num_samples=30, seed=4),
                               twin.log_likelihood(z.astype("float32"), num_samples=30, seed=4) - np.log(sigma).sum(),
                               rtol=1e-5, atol=1e-4)
    # The likelihood distribution is over raw units too (its log_prob has the Jacobian).
    z_code = vae.encode(x[:3])
    p_raw, p_std = vae.likelihood(z_code), twin.likelihood(z_code)
    np.testing.assert_allclose(np.asarray(p_raw.log_prob(x[:3])),
                               np.asarray(p_std.log_prob(z[:3].astype("float32"))) - np.log(sigma).sum(), rtol=1e-5)


def test_saved_model_in_plain_tensorflow_matches_keras(standardized, tmp_path):
    vae, x, _, version = standardized
    rows = x[:4]
    z = np.random.default_rng(0).normal(size=(3, 2)).astype("float32")
    np.save(tmp_path / "x.npy", rows)
    np.save(tmp_path / "z.npy", z)
    script = textwrap.dedent(f"""
        import sys, numpy as np, tensorflow as tf
        m = tf.saved_model.load({version!r})
        x, z = np.load({str(tmp_path / 'x.npy')!r}), np.load({str(tmp_path / 'z.npy')!r})
        out = {{
            "log_px": m.signatures["score"](x=tf.constant(x))["log_px"].numpy(),
            "mean": m.signatures["encode"](x=tf.constant(x))["mean"].numpy(),
            "x_mean": m.signatures["decode"](z=tf.constant(z))["x_mean"].numpy(),
            "reconstruction": m.signatures["reconstruct"](x=tf.constant(x))["reconstruction"].numpy(),
            "sample": m.signatures["sample"](seed=tf.constant([0, 1, 2], tf.int64))["x"].numpy(),
        }}
        assert "keras_vae" not in sys.modules and "tensorflow_probability" not in sys.modules
        np.savez({str(tmp_path / 'out.npz')!r}, **out)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    served = np.load(tmp_path / "out.npz")
    from keras_vae.evaluation.shared_noise import shared_noise_log_likelihood

    np.testing.assert_allclose(served["log_px"], shared_noise_log_likelihood(vae, rows, num_samples=16), rtol=1e-5)
    np.testing.assert_allclose(served["mean"], np.asarray(vae.encode(rows)), atol=1e-5)
    np.testing.assert_allclose(served["x_mean"], np.asarray(vae.decode(z)), rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(served["reconstruction"], np.asarray(vae.reconstruct(rows)), rtol=1e-5, atol=1e-3)
    for seed in range(3):  # each served row is vae.sample(1, seed=s), in raw units
        np.testing.assert_allclose(served["sample"][seed], np.asarray(vae.sample(1, seed=seed))[0], rtol=1e-5, atol=1e-3)
    assert np.all(np.abs(served["x_mean"].mean(0) - x.mean(0)) < 3 * x.std(0))


@pytest.mark.parametrize("runtime,module", [("litert", "ai_edge_litert"), ("onnx", "onnxruntime")])
def test_runtime_parts_of_a_standardized_model_match_keras(standardized, runtime, module, tmp_path):
    pytest.importorskip(module)
    if runtime == "onnx":
        pytest.importorskip("tf2onnx")
    vae, x, _, _ = standardized
    rows, z = x[:4], np.random.default_rng(1).normal(size=(4, 2)).astype("float32")
    files = vae.export(str(tmp_path), format=runtime)
    if runtime == "onnx":
        import onnxruntime

        def run(part, feed):
            session = onnxruntime.InferenceSession(files[part], providers=["CPUExecutionProvider"])
            names = [o.name for o in session.get_outputs()]
            return dict(zip(names, session.run(names, feed)))
    else:
        from ai_edge_litert.interpreter import Interpreter

        def run(part, feed):
            return Interpreter(model_path=files[part]).get_signature_runner()(**feed)
    np.testing.assert_allclose(run("encode", {"x": rows})["point"], np.asarray(vae.encode(rows)), atol=1e-5)
    np.testing.assert_allclose(run("decode", {"z": z})["x_mean"], np.asarray(vae.decode(z)), rtol=1e-5, atol=1e-3)


def test_standardize_is_refused_for_bounded_or_integer_likelihoods_and_explicit_adapt():
    for likelihood in ("bernoulli", "categorical", "poisson"):
        with pytest.raises(ValueError, match="standardize=True"):
            kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(4,), likelihood=likelihood, standardize=True)
    with pytest.raises(ValueError, match="standardize must be True or False"):
        kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(4,), likelihood="gaussian", standardize="yes")
    vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(5,), likelihood="gaussian", standardize=True)
    assert not vae.standardization.adapted  # the identity until adapted
    x = raw_table(50)
    with pytest.raises(ValueError, match="NaN"):
        bad = x.copy()
        bad[0, 0] = np.nan
        vae.adapt(bad)
    assert not vae.standardization.adapted  # a refused adapt changes nothing
    vae.adapt(x)
    assert vae.standardization.adapted
    plain = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(5,), likelihood="gaussian")
    with pytest.raises(ValueError, match="without standardize=True"):
        plain.adapt(x)


def test_python_fit_warns_like_the_cli_only_for_real_valued_likelihoods():
    x = raw_table(60)
    vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(5,), likelihood="gaussian")
    vae.compile(optimizer="adam")
    with pytest.warns(UserWarning, match="far from standardized.*standardize=True"):
        vae.fit(x, epochs=1, batch_size=30, verbose=0)
    counts = np.random.default_rng(0).poisson(40.0, (60, 5)).astype("float32")
    poisson = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(5,), likelihood="poisson")
    poisson.compile(optimizer="adam")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        poisson.fit(counts, epochs=1, batch_size=30, verbose=0)
    model = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(5,), likelihood="gaussian", standardize=True)
    model.compile(optimizer="adam")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        model.fit(x, epochs=1, batch_size=30, verbose=0)


# ------------------------------------------------------------------ loaders
def test_text_column_is_named_and_a_bad_cell_is_refused_with_line_and_column(tmp_path):
    text = tmp_path / "t.csv"
    text.write_text("name,a,b\nann,1,2\nbob,3,4\ncy,5,6\n")
    with pytest.warns(datasets.DroppedColumnsWarning, match="left out 1 non-numeric column.*name"):
        x, _ = datasets.load_dataset(text)
    assert x.shape == (3, 2)
    bad = tmp_path / "bad.csv"
    bad.write_text('a,b\n1,2\n3,unknown\n5,6\n7,8\n')
    with pytest.raises(ValueError, match=r"line 3, column 'b': the cell 'unknown' is not a number.*--drop-columns b"):
        datasets.read_table(bad)
    commas = tmp_path / "commas.csv"
    commas.write_text('a,b\n1,2\n3,"1,234.5"\n5,6\n')
    with pytest.raises(ValueError, match=r"line 3, column 'b': the cell '1,234.5'"):
        datasets.load_dataset(commas)
    table = datasets.read_table(bad, drop_columns=["b"])
    assert table.columns == ["a"] and table.x.shape == (4, 1)
    with pytest.raises(ValueError, match="not columns"):
        datasets.read_table(bad, drop_columns=["nope"])


def test_cli_names_dropped_columns_refuses_bad_cells_and_takes_drop_columns(tmp_path):
    rng = np.random.default_rng(0)
    rows = ["city,a,b"] + [f"c{i},{u:.3f},{v:.3f}" for i, (u, v) in enumerate(rng.normal(size=(40, 2)))]
    data = tmp_path / "d.csv"
    data.write_text("\n".join(rows) + "\n")
    args = ["--likelihood", "gaussian", "--epochs", "1", "--hidden-units", "8", "--num-samples", "2",
            "--latent-dim", "2", "--no-export"]
    status, _, err = run_main(["train", str(data), *args, "--output", str(tmp_path / "run")])
    assert status == 0, err
    assert "warning:" in err and "non-numeric column(s): city" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(rows[:5] + ["c9,0.5,unknown"] + rows[5:]) + "\n")
    status, _, err = run_main(["train", str(bad), *args, "--output", str(tmp_path / "run2")])
    assert status != 0 and "line 6, column 'b'" in err and "'unknown'" in err
    assert not (tmp_path / "run2").exists()  # refused before the folder was touched
    status, _, err = run_main(["train", str(bad), *args, "--drop-columns", "b", "--output", str(tmp_path / "run3")])
    assert status == 0, err
    status, out, err = run_main(["evaluate", str(tmp_path / "run3" / "model.keras"), str(bad), "--json",
                                 "--num-samples", "2", "--no-progress"])
    assert status == 0, err  # evaluate leaves out the same column


def test_uint8_levels_far_below_255_warn_and_image_folder_keeps_raw_levels(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    levels = rng.integers(0, 17, (20, 8, 8)).astype(np.uint8)
    np.savez(tmp_path / "digits.npz", x=levels)
    with pytest.warns(datasets.FewLevelsWarning, match=r"maximum 16 .* levels 0\.\.16"):
        x, _ = datasets.load_dataset(tmp_path / "digits.npz")
    assert x.max() <= 16 / 255 + 1e-6
    raw, _ = datasets.load_dataset(tmp_path / "digits.npz", normalize=False)
    assert raw.dtype == np.uint8 and int(raw.max()) == 16
    folder = tmp_path / "pngs"
    folder.mkdir()
    pixels = rng.integers(0, 256, (12, 8, 8)).astype(np.uint8)
    for i, image in enumerate(pixels):
        Image.fromarray(image, mode="L").save(folder / f"{i:02d}.png")
    x, _ = datasets.load_dataset(folder, normalize=False)
    assert x.dtype == np.uint8 and np.array_equal(x[..., 0], pixels)
    x, _ = datasets.load_dataset(folder)
    np.testing.assert_allclose(x[..., 0], pixels / 255.0, atol=1e-6)


def test_uint8_png_folder_trains_with_categorical_on_raw_levels(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    folder = tmp_path / "pngs"
    folder.mkdir()
    for i in range(30):
        Image.fromarray(rng.integers(0, 256, (6, 6)).astype(np.uint8), mode="L").save(folder / f"{i:02d}.png")
    run = tmp_path / "run"
    status, out, err = run_main(["train", str(folder), "--likelihood", "categorical", "--epochs", "1",
                                 "--hidden-units", "8", "--num-samples", "2", "--latent-dim", "2",
                                 "--no-export", "--output", str(run)])
    assert status == 0, err
    assert "far from standardized" not in err  # raw levels are what categorical takes
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["test_bits_per_dim"] > 0
    status, _, err = run_main(["train", str(folder), "--likelihood", "categorical", "--standardize",
                               "--output", str(tmp_path / "run2")])
    assert status == 2 and "--standardize" in err and "categorical" in err


def test_evaluate_scores_the_rows_train_held_out(tmp_path):
    x = raw_table(60, seed=3)
    data = tmp_path / "t.csv"
    data.write_text("a,b,c,d,e\n" + "\n".join(",".join(f"{v:.5f}" for v in row) for row in x) + "\n")
    run = tmp_path / "run"
    status, out, err = run_main(["train", str(data), "--likelihood", "gaussian", "--standardize",
                                 "--epochs", "2", "--hidden-units", "8", "--num-samples", "2",
                                 "--latent-dim", "2", "--seed", "5", "--no-export", "--output", str(run)])
    assert status == 0, err
    assert "holding out 6 examples" in out and "6 of 60 rows, seed 5" in out
    split = json.loads((run / "split.json").read_text())
    assert len(split["test_rows"]) == 6 and split["seed"] == 5
    model = str(run / "model.keras")
    status, out, err = run_main(["evaluate", model, str(data), "--num-samples", "2", "--no-progress"])
    assert status == 0, err
    assert "6 held-out rows of 60" in out and "--split all" in out
    status, out, _ = run_main(["evaluate", model, str(data), "--json", "--num-samples", "2", "--no-progress"])
    held = json.loads(out)
    assert held["num_examples"] == 6
    status, out, _ = run_main(["evaluate", model, str(data), "--json", "--num-samples", "2", "--no-progress",
                               "--split", "all"])
    assert json.loads(out)["num_examples"] == 60
    # The same rows as train scored (metrics.json), and reproducible without split.json.
    metrics = json.loads((run / "metrics.json").read_text())
    assert abs(held["elbo"] - metrics["test_elbo"]) < 3.0
    (run / "split.json").unlink()
    status, out, _ = run_main(["evaluate", model, str(data), "--num-samples", "2", "--no-progress"])
    assert "6 held-out rows of 60" in out and "seed 5, drawn again" in out
    rows = [int(r) - 1 for r in out.split("rows ")[-1].split(", counted")[0].replace(", ...", "").split(", ")]
    assert set(rows) <= set(split["test_rows"])


# ----------------------------------------------------------- anomaly detection
def test_anomaly_tools_threshold_report_and_baseline():
    from keras_vae.evaluation import GaussianBaseline, anomaly_report, anomaly_threshold, roc_auc

    rng = np.random.default_rng(0)
    normal, odd = rng.normal(size=(400, 3)), rng.normal(3.0, 1.0, size=(100, 3))
    baseline = GaussianBaseline().fit(normal[:300])
    threshold = anomaly_threshold(baseline.score(normal[300:]), false_positive_rate=0.1)
    scores = baseline.score(np.concatenate([normal[300:], odd]))
    labels = np.r_[np.zeros(100), np.ones(100)]
    report = anomaly_report(scores, labels, threshold=threshold)
    assert report["roc_auc"] > 0.95 and report["recall"] > 0.8 and report["false_positive_rate"] < 0.25
    assert roc_auc([1.0, 1.0], [0, 1]) == 0.5  # a tie counts half
    with pytest.raises(ValueError, match="false_positive_rate"):
        anomaly_threshold([1.0, 2.0], 1.5)
    with pytest.raises(ValueError, match="both anomalies"):
        roc_auc([1.0, 2.0], [0, 0])


def test_score_command_gives_per_row_log_px_independent_of_the_batch(standardized, tmp_path):
    vae, x, path, version = standardized
    data = tmp_path / "rows.npy"
    np.save(data, x[:40])
    status, out, err = run_main(["score", path, str(data), "-o", str(tmp_path / "s.csv"),
                                 "--num-samples", "16", "--batch-size", "7"])
    assert status == 0, err
    lines = (tmp_path / "s.csv").read_text().splitlines()
    assert lines[0] == "row,log_px" and len(lines) == 41
    scores = np.array([float(line.split(",")[1]) for line in lines[1:]])
    alone = kv.evaluation.anomaly_scores(vae, x[5:6], num_samples=16)
    np.testing.assert_allclose(scores[5], alone[0], atol=1e-4)
    import tensorflow as tf

    served_model = tf.saved_model.load(version)
    served = served_model.signatures["score"](x=tf.constant(x[:40]))["log_px"].numpy()
    np.testing.assert_allclose(scores, served, atol=1e-3)  # the served score: same K, same draws
    # keras-vae sample and the served sample agree, in the data's units.
    status, _, err = run_main(["sample", path, "-n", "1", "--seed", "2", "-o", str(tmp_path / "one.npy")])
    assert status == 0, err
    row = served_model.signatures["sample"](seed=tf.constant([2], tf.int64))["x"].numpy()
    np.testing.assert_allclose(np.load(tmp_path / "one.npy"), row, rtol=1e-5, atol=1e-3)


def test_anomaly_detection_example_beats_chance_by_far():
    pytest.importorskip("sklearn")
    sys.path.insert(0, os.path.join(REPO, "examples", "anomaly_detection"))
    try:
        import anomaly_detection
    finally:
        sys.path.pop(0)
    reports = anomaly_detection.run(epochs=40, num_samples=16, verbose=False)
    assert reports["vae"]["roc_auc"] > 0.85, reports
    assert reports["gaussian"]["roc_auc"] > 0.85, reports
    assert 0.0 <= reports["vae"]["false_positive_rate"] < 0.3


def test_standardize_with_a_dataset_and_with_a_condition():
    import tensorflow as tf

    x = raw_table(80)
    vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(5,), likelihood="gaussian", standardize=True, seed=0)
    vae.compile(optimizer="adam")
    vae.fit(tf.data.Dataset.from_tensor_slices(x).batch(16), epochs=1, verbose=0)
    np.testing.assert_allclose(np.asarray(vae.standardization.adapt_mean), x.mean(0), rtol=1e-3, atol=1e-3)
    labels = np.arange(80) % 3
    cond = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(5,), likelihood="gaussian", standardize=True,
                  condition={"name": "one_hot", "num_classes": 3}, seed=0)
    cond.compile(optimizer="adam")
    cond.fit({"x": x, "condition": labels}, epochs=1, batch_size=16, verbose=0)
    samples = np.asarray(cond.sample(200, seed=0, condition=1))
    assert np.all(np.abs(samples.mean(0) - x.mean(0)) < 2 * x.std(0))  # raw units


def test_graph_side_checks_put_the_keras_vae_message_first():
    import tensorflow as tf

    vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(3,), likelihood="gaussian", seed=0)
    bad = np.zeros((4, 3), "float32")
    bad[1, 1] = np.nan
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        vae.log_likelihood(tf.data.Dataset.from_tensor_slices(bad).batch(2), num_samples=4)
    assert str(caught.value).splitlines()[0].startswith("keras_vae:")
