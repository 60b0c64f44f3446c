"""The condition on the command line: train --condition-column (image class folders,
a CSV column, an .npz array), sample --condition, pictures per class, and the
usage errors (exit 2, one line naming the column), through main([...])."""
import json
import os

import numpy as np
import pytest

import keras_vae as kv
from keras_vae.cli import conditioning
from keras_vae.cli.errors import UsageError

from test_cli import assert_one_line_error, png, run_main

PIL = pytest.importorskip("PIL.Image")
TINY = ["--epochs", "1", "--hidden-units", "16", "--num-samples", "4", "--latent-dim", "2", "--no-export"]
CLASSES = ("circle", "cross", "plain")


def _image(kind: str, rng) -> np.ndarray:
    image = rng.integers(0, 40, size=(8, 8)).astype(np.uint8)
    if kind == "circle":
        image[2:6, 2:6] = 220
    elif kind == "cross":
        image[3:5, :] = 220
        image[:, 3:5] = 220
    return image


@pytest.fixture(scope="module")
def folder_run(tmp_path_factory):
    """A model conditioned on the class sub-folders of a tiny image folder."""
    root = tmp_path_factory.mktemp("conditioned")
    rng = np.random.default_rng(0)
    for kind in CLASSES:
        os.makedirs(root / "images" / kind)
        for i in range(12):
            PIL.fromarray(_image(kind, rng)).save(root / "images" / kind / f"{i}.png")
    run = str(root / "run")
    status, out, err = run_main(["train", str(root / "images"), "--condition-column", "label", *TINY,
                                 "--output", run])
    assert status == 0, err
    return run, out, str(root / "images")


def test_class_folders_condition_the_model_and_draw_a_row_per_class(folder_run):
    run, out, _ = folder_run
    assert "conditioned on 'label' (one_hot, 3 classes" in out
    record = json.load(open(os.path.join(run, "condition.json")))
    assert record == {"column": "label", "condition": {"name": "one_hot", "num_classes": 3},
                      "classes": list(CLASSES)}
    assert json.load(open(os.path.join(run, "config.json")))["condition_type"] == "one_hot"
    width, height = png(os.path.join(run, "samples_by_class.png"))
    assert height > width / 10 * 3 * 0.8  # 3 rows of 10 images (plus a title)
    metrics = json.load(open(os.path.join(run, "metrics.json")))
    assert metrics["failed_steps"] == [] and np.isfinite(metrics["test_log_likelihood"])
    vae = kv.load_model(os.path.join(run, "model.keras"))
    assert vae.condition_layer.num_classes == 3


def test_sample_takes_a_label_or_a_class_name(folder_run, tmp_path):
    model = os.path.join(folder_run[0], "model.keras")
    drawn = {}
    for value in ("1", "cross", "0"):
        out = str(tmp_path / f"{value}.npy")
        status, said, err = run_main(["sample", model, "--condition", value, "-n", "4", "-o", out])
        assert status == 0, err
        assert f"at condition {value}" in said
        drawn[value] = np.load(out)
    assert drawn["1"].shape == (4, 8, 8, 1)
    np.testing.assert_array_equal(drawn["1"], drawn["cross"])
    assert np.abs(drawn["1"] - drawn["0"]).max() > 1e-4  # the label changes the samples


def test_evaluate_reads_each_rows_condition_as_train_did(folder_run):
    run, _, images = folder_run
    status, out, err = run_main(["evaluate", os.path.join(run, "model.keras"), images, "--num-samples", "3",
                                 "--json", "--no-progress"])
    assert status == 0, err
    scores = json.loads(out)
    assert scores["condition_column"] == "label" and scores["num_examples"] == 3  # the 10 % held out of 36
    assert "held-out rows" in scores["rows"] and np.isfinite(scores["log_likelihood"])
    assert scores["elbo"] <= scores["log_likelihood"] + 1.0


def test_a_csv_text_column_is_the_condition_and_not_a_feature(tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "cells.csv"
    with open(path, "w") as f:
        f.write("g1,g2,g3,batch\n")
        for i in range(40):
            f.write(",".join(str(v) for v in rng.poisson(3, 3)) + f",{'AB'[i % 2]}\n")
    run = str(tmp_path / "run")
    status, out, err = run_main(["train", str(path), "--condition-column", "batch", "--likelihood", "poisson",
                                 *TINY, "--output", run])
    assert status == 0, err
    vae = kv.load_model(os.path.join(run, "model.keras"))
    assert vae.data_shape == (3,) and vae.condition_layer.num_classes == 2  # 'batch' left out of x
    assert json.load(open(os.path.join(run, "condition.json")))["classes"] == ["A", "B"]
    status, _, err = run_main(["sample", os.path.join(run, "model.keras"), "--condition", "B", "-n", "3",
                               "-o", str(tmp_path / "s.npy")])
    assert status == 0, err and np.load(tmp_path / "s.npy").shape == (3, 3)


def test_an_npz_array_is_read_per_split_and_becomes_a_vector_condition(tmp_path):
    path = str(tmp_path / "d.npz")
    np.savez(path, x_train=np.zeros((5, 2)), x_test=np.zeros((3, 2)), cov_train=np.ones((5, 2)) * 0.5,
             cov_test=np.ones((3, 2)))
    c, classes = conditioning.read_condition(path, "cov", "test", None, 3)
    assert c.shape == (3, 2) and classes is None
    assert conditioning.condition_spec(None, np.ones((5, 2)) * 0.5, c, "cov") == {"name": "vector", "shape": (2,)}
    with pytest.raises(UsageError, match="'nope'.*cov_train"):
        conditioning.read_condition(path, "nope", "train", None, 5)


def _write_csv(path, column_values):
    with open(path, "w") as f:
        f.write("a,b,group\n")
        for i, g in enumerate(column_values):
            f.write(f"{i % 3},{(i * 7) % 5},{g}\n")


@pytest.mark.parametrize("values, argv, fragments", [
    ([0, 1] * 10, ["--condition-column", "nope"], ["'nope'", "a, b, group"]),
    ([0, 1] * 9 + ["nan", 1], ["--condition-column", "group"], ["'group'", "NaN", "row 19"]),
    ([0, 1] * 10, ["--condition-type", "one_hot"], ["--condition-type needs --condition-column"]),
    ([0.5, 1] * 10, ["--condition-column", "group", "--condition-type", "one_hot"], ["'group'", "vector"]),
])
def test_bad_conditions_are_usage_errors_before_the_run_folder_exists(tmp_path, values, argv, fragments):
    path = str(tmp_path / "t.csv")
    _write_csv(path, values)
    run = tmp_path / "run"
    status, _, err = run_main(["train", path, *argv, "--likelihood", "gaussian", *TINY, "--output", str(run)])
    assert_one_line_error(status, err, 2, *fragments)
    assert not run.exists()


def test_sample_refuses_a_missing_or_an_unwanted_condition(folder_run, tmp_path):
    conditioned = os.path.join(folder_run[0], "model.keras")
    plain = str(tmp_path / "plain.keras")
    kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(4,), likelihood="gaussian").save(plain)
    bare = str(tmp_path / "bare.keras")  # conditioned, saved without a run folder
    kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(8, 8, 1), condition={"name": "one_hot", "num_classes": 3}).save(bare)
    out = str(tmp_path / "s.npy")
    cases = [
        (["sample", conditioned, "-o", out], ["is conditioned", "--condition"]),
        (["sample", conditioned, "--condition", "3", "-o", out], ["label 3", "[0, 3)"]),
        (["sample", conditioned, "--condition", "nan", "-o", out], ["NaN"]),
        (["sample", conditioned, "--condition", "dog", "-o", out], ["circle, cross, plain"]),
        (["sample", plain, "--condition", "1", "-o", out], ["not conditioned"]),
        (["score", conditioned, folder_run[2]], ["is conditioned", "score", "evaluate"]),
        (["evaluate", conditioned, "sample", "--limit", "5"], ["--condition-column 'label'", "holds the label", "[0, 3)"]),
        (["evaluate", bare, folder_run[2]], ["no condition.json", "--condition-column"]),
    ]
    for argv, fragments in cases:
        status, _, err = run_main(argv)
        assert_one_line_error(status, err, 2, *fragments)
    assert not os.path.exists(out)
