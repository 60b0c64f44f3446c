"""keras-vae train --model hierarchical --architecture conv (NVAE's conv hierarchy) on a
tiny file of 8 x 8 images, then sample / evaluate / export on the saved model (the
LiteRT and ONNX artifacts of the conv hierarchy checked against it, as
test_hierarchical_export.py checks the MLP's); bad flags are one-line usage errors
before any file is written."""
import contextlib
import io
import json
import os

import numpy as np
import pytest
import keras_vae as kv
from helpers import assert_runtime_matches, hierarchical_score
from keras_vae import cli

CONV = ["--model", "hierarchical", "--architecture", "conv", "--scales", "2", "--groups-per-scale", "1",
        "--channels", "4"]


def run_cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(list(argv))
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """40 bar images 8 x 8 x 1 in [0, 1], and a table of 40 rows (not images)."""
    folder = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    x = np.zeros((40, 8, 8, 1), "float32")
    x[np.arange(40), rng.integers(0, 8, 40), :, 0] = 1.0
    np.save(folder / "bars.npy", x)
    np.save(folder / "table.npy", x.reshape(40, 64))
    return str(folder / "bars.npy"), str(folder / "table.npy")


@pytest.fixture(scope="module")
def run(images, tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("runs") / "conv")
    status, _, err = run_cli(["train", images[0], *CONV, "--latent-dims", "16,8", "--epochs", "1",
                              "--batch-size", "12", "--num-samples", "2", "--no-export", "--output", folder])
    assert status == 0, err
    return folder


@pytest.fixture(scope="module")
def model(run):
    return kv.load_model(os.path.join(run, "model.keras"))


def test_train_builds_the_conv_hierarchy_from_the_flags(run, model):
    assert (model.architecture, model.inference) == ("conv", "residual")  # residual: the conv default
    assert (model.scales, model.groups_per_scale, model.channels) == (2, 1, 4)
    # --latent-dims 16,8 on 8 x 8: z_1 a 4 x 4 x 1 map, z_2 a 2 x 2 x 2 map
    assert model.latent_dims == [16, 8] and model.top_down.group_shapes == [(4, 4, 1), (2, 2, 2)]
    config = json.load(open(os.path.join(run, "config.json")))
    assert (config["architecture"], config["scales"], config["channels"]) == ("conv", 2, 4)
    metrics = json.load(open(os.path.join(run, "metrics.json")))
    assert metrics["latent_dim"] == 24 and metrics["failed_steps"] == []
    assert np.isfinite(metrics["test_kl_1"]) and np.isfinite(metrics["test_kl_2"])


def test_sample_and_evaluate_take_the_saved_conv_model(run, model, images, tmp_path):
    path = os.path.join(run, "model.keras")
    status, _, err = run_cli(["sample", path, "-n", "3", "--seed", "5", "-o", str(tmp_path / "s.npy")])
    assert status == 0, err
    np.testing.assert_array_equal(np.load(tmp_path / "s.npy"), model.sample(3, seed=5).numpy())

    status, out, err = run_cli(["evaluate", path, images[0], "--num-samples", "2", "--json", "--seed", "0"])
    assert status == 0, err
    scores = json.loads(out)
    assert scores["num_examples"] == 4 and scores["latent_dim"] == 24  # split.json's 4 held-out rows
    held_out = np.load(images[0])[json.load(open(os.path.join(run, "split.json")))["test_rows"]]
    np.testing.assert_allclose(scores["elbo"], model.elbo(held_out, seed=0).numpy().mean(), rtol=1e-4)


@pytest.mark.parametrize("runtime", ["litert", "onnx"])
def test_export_of_the_conv_model_runs_as_the_model(runtime, run, model, tmp_path):
    """keras-vae export --format litert / onnx: every conv op converts (LiteRT built-ins
    only; tf2onnx), and the artifacts give the model's encode and decode (which reads
    every group) at batch 3 and 1."""
    status, _, err = run_cli(["export", os.path.join(run, "model.keras"), str(tmp_path), "--format", runtime])
    assert status == 0, err
    extension = "tflite" if runtime == "litert" else "onnx"
    files = {part: str(tmp_path / f"{part}.{extension}") for part in ("encode", "decode")}
    assert model.decode_width == 24
    assert_runtime_matches(model, runtime, files, np.random.default_rng(0))


def test_saved_model_signatures_of_the_conv_model(run, model, images, tmp_path):
    """The TF Serving export of the conv hierarchy: encode gives every group (a map per
    group, flattened as the model's encode), reconstruct / sample / score give the model's
    own numbers (score: the same importance draws, recomputed here)."""
    import tensorflow as tf
    x = np.load(images[0])[:3]
    loaded = tf.saved_model.load(model.export(str(tmp_path / "serving"), score_samples=64))
    assert set(loaded.signatures) >= {"encode", "decode", "reconstruct", "sample", "score", "serving_default"}
    encoded = loaded.signatures["encode"](x=tf.constant(x))
    means = model.encode(x)
    assert [np.shape(m) for m in means] == [(3, 16), (3, 8)]
    for g in range(2):
        np.testing.assert_allclose(encoded[f"z_{g + 1}_mean"].numpy(), np.asarray(means[g]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loaded.signatures["reconstruct"](x=tf.constant(x))["reconstruction"].numpy(),
                               model.reconstruct(x).numpy(), rtol=1e-5, atol=1e-6)
    served = loaded.signatures["sample"](seed=tf.constant([5, 6], tf.int64))["x"].numpy()
    np.testing.assert_allclose(served[0], model.sample(1, seed=5).numpy()[0], rtol=1e-5, atol=1e-6)
    log_px = loaded.signatures["score"](x=tf.constant(x))["log_px"].numpy()
    np.testing.assert_allclose(log_px, hierarchical_score(model, x, 64), rtol=1e-4, atol=1e-3)
    assert np.all(np.isfinite(log_px))
    z_all = np.concatenate([np.asarray(m) for m in means], axis=-1)
    decoded = loaded.signatures["decode"](z=tf.constant(z_all))["x_mean"].numpy()
    np.testing.assert_allclose(decoded, model.decode(z_all).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("argv, fragment", [
    (["--inference", "ladder"], "--architecture conv is NVAE's top-down conv hierarchy: it takes --inference residual"),
    (["--latent-dims", "16,6"], "group 2 (size 6) does not fit the conv scales: it lies at scale 2 (2 x 2)"),
    (["--latent-dims", "16"], "--latent-dims has 1 groups; the conv hierarchy has scales x groups_per_scale = 2"),
    (["--scales", "4"], "height and width must be multiples of 16, got 8 x 8"),
    (["table"], "takes images: input_shape must be (height, width, channels)"),
])
def test_bad_conv_flags_are_refused_before_training(argv, fragment, images, tmp_path):
    data = images[1] if argv == ["table"] else images[0]
    argv = [] if argv == ["table"] else argv
    status, out, err = run_cli(["train", data, *CONV, *argv, "--epochs", "1", "--output", str(tmp_path / "run")])
    assert status == 2 and fragment in err and "Traceback" not in err, err
    assert "Training" not in out and not (tmp_path / "run").exists()


@pytest.mark.parametrize("argv, fragment", [
    (["--model", "hierarchical", "--scales", "1"], "--scales applies to --architecture conv"),
    (["--model", "hierarchical", "--architecture", "mlp", "--channels", "4"],
     "--channels applies to --architecture conv"),
    (["--architecture", "conv"], "--architecture applies to --model hierarchical, not --model vae"),
    (["--model", "vqvae", "--groups-per-scale", "2"], "--groups-per-scale applies to --model hierarchical"),
    (["--model", "hierarchical", "--architecture", "resnet"], "argument --architecture: must be one of mlp, conv"),
])
def test_conv_flags_elsewhere_are_refused(argv, fragment, images, tmp_path):
    status, _, err = run_cli(["train", images[0], *argv, "--epochs", "1", "--output", str(tmp_path / "run")])
    assert status == 2 and fragment in err, err
    assert not (tmp_path / "run").exists()
