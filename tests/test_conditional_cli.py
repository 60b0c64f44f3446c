"""The condition on the command line: train --condition-column (image class folders,
a CSV column, an .npz array), sample --condition, evaluate / score / gaps given each
row's condition, the KL diagnostics given c, pictures per class, and the usage
errors (exit 2, one line naming the column), through main([...])."""
import json
import os

import numpy as np
import pytest

import keras_vae as kv
from keras_vae.cli import conditioning
from keras_vae.cli.errors import UsageError
from keras_vae.cli.splits import load_rows

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
    # The KL diagnostics are given each row's condition: the library's numbers on those rows.
    model = os.path.join(run, "model.keras")
    vae = kv.load_model(model)
    x, c = _held_out(vae, model, images)
    np.testing.assert_allclose(scores["kl_per_dimension"], vae.kl_per_dimension(x, condition=c), rtol=1e-5)
    assert scores["active_units"] == vae.active_units(x, condition=c)
    assert not np.allclose(scores["kl_per_dimension"], vae.kl_per_dimension(x, condition=(c + 1) % 3), rtol=1e-3)


def _held_out(vae, model, data, split="test"):
    """The rows and conditions the commands read (as float32 / model input)."""
    x, c, _, _ = load_rows(data, split, vae, model, condition_column="label")
    return np.asarray(x, np.float32), conditioning.model_input(vae, c, "label")


def test_train_writes_the_kl_per_dimension_given_c(folder_run):
    metrics = json.load(open(os.path.join(folder_run[0], "metrics.json")))
    assert len(metrics["kl_per_dimension"]) == 2 and sum(metrics["kl_per_dimension"]) > 0
    png(os.path.join(folder_run[0], "kl.png"))


def test_score_gives_each_row_its_condition(folder_run, tmp_path):
    run, _, images = folder_run
    model, out = os.path.join(run, "model.keras"), str(tmp_path / "scores.csv")
    status, said, err = run_main(["score", model, images, "--split", "test", "--num-samples", "8", "-o", out])
    assert status == 0, err
    assert "log p(x | c) (c: each row's 'label')" in said
    rows = np.loadtxt(out, delimiter=",", skiprows=1)
    vae = kv.load_model(model)
    x, c = _held_out(vae, model, images)
    expected = kv.evaluation.anomaly_scores(vae, x, num_samples=8, condition=c)
    np.testing.assert_allclose(rows[:, 1], expected, atol=1e-5)
    other = kv.evaluation.anomaly_scores(vae, x, num_samples=8, condition=(c + 1) % 3)
    assert np.abs(other - expected).max() > 1e-3  # the condition changes the scores


def test_gaps_are_given_each_rows_condition(folder_run, tmp_path):
    run, _, images = folder_run
    table = str(tmp_path / "gaps.json")
    with pytest.warns(RuntimeWarning, match="had not converged"):  # 5 steps of q*: cheap, not converged
        status, out, err = run_main(["gaps", os.path.join(run, "model.keras"), images, "--split", "test",
                                     "--limit", "3", "--optimize-steps", "5", "--num-steps", "5", "--num-chains",
                                     "2", "--json", table])
    assert status == 0, err
    assert "given 'label': log p(x | c)" in out
    record = json.load(open(table))
    assert record["condition_column"] == "label" and record["num_examples"] == 3
    gap = record["log_px"] - record["elbo_amortized"]
    assert np.isclose(record["approximation_gap"] + record["amortization_gap"], gap, atol=1e-6)


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
    scores = str(tmp_path / "scores.csv")
    status, said, err = run_main(["score", os.path.join(run, "model.keras"), str(path), "-o", scores])
    assert status == 0, err
    assert "c: each row's 'batch'" in said and np.loadtxt(scores, delimiter=",", skiprows=1).shape == (40, 2)
    # Data without the model's condition column: refused before anything is computed.
    without = tmp_path / "no_batch.csv"
    with open(without, "w") as f:
        f.write("g1,g2,g3\n" + "".join(f"{i},1,2\n" for i in range(5)))
    for command in ("score", "gaps"):
        status, _, err = run_main([command, os.path.join(run, "model.keras"), str(without), "-o" if command == "score"
                                   else "--json", str(tmp_path / "out")])
        assert_one_line_error(status, err, 2, "--condition-column 'batch'", "no column 'batch'", "g1, g2, g3")
    assert not (tmp_path / "out").exists()


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


def test_sample_refuses_a_missing_or_an_unwanted_condition(folder_run, tmp_path, monkeypatch):
    conditioned = os.path.join(folder_run[0], "model.keras")
    plain = str(tmp_path / "plain.keras")
    kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(4,), likelihood="gaussian").save(plain)
    bare = str(tmp_path / "bare.keras")  # conditioned, saved without a run folder
    kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(8, 8, 1), condition={"name": "one_hot", "num_classes": 3}).save(bare)
    out = str(tmp_path / "s.npy")
    flat = tmp_path / "flat"  # images without class sub-folders: no labels
    flat.mkdir()
    rng = np.random.default_rng(2)
    for i in range(4):
        PIL.fromarray(_image("circle", rng)).save(flat / f"{i}.png")
    flat = str(flat)

    def computed(*args, **kwargs):
        raise AssertionError("computed before the usage error")

    for name in ("anomaly_scores", "inference_gaps", "log_likelihood"):
        monkeypatch.setattr(kv.evaluation, name, computed)
    cases = [
        (["sample", conditioned, "-o", out], ["is conditioned", "--condition"]),
        (["sample", conditioned, "--condition", "3", "-o", out], ["label 3", "[0, 3)"]),
        (["sample", conditioned, "--condition", "nan", "-o", out], ["NaN"]),
        (["sample", conditioned, "--condition", "dog", "-o", out], ["circle, cross, plain"]),
        (["sample", plain, "--condition", "1", "-o", out], ["not conditioned"]),
        (["score", bare, folder_run[2], "-o", out], ["no condition.json", "--condition-column"]),
        (["gaps", bare, folder_run[2], "--json", out], ["no condition.json", "--condition-column"]),
        (["score", conditioned, flat, "-o", out], ["--condition-column 'label'", "has no labels", "class sub-folders"]),
        (["gaps", conditioned, flat, "--json", out], ["--condition-column 'label'", "has no labels"]),
        (["evaluate", conditioned, "sample", "--limit", "5"], ["--condition-column 'label'", "holds the label", "[0, 3)"]),
        (["evaluate", bare, folder_run[2]], ["no condition.json", "--condition-column"]),
    ]
    for argv, fragments in cases:
        status, _, err = run_main(argv)
        assert_one_line_error(status, err, 2, *fragments)
    assert not os.path.exists(out)
