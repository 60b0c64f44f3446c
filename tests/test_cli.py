"""The keras-vae command line, end to end, through main([...]) and a subprocess."""
import contextlib
import csv
import io
import json
import math
import os
import re
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import keras_vae as kv
from keras_vae import cli

PIL = pytest.importorskip("PIL.Image")
pytest.importorskip("matplotlib")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["--epochs", "1", "--limit", "512", "--hidden-units", "32", "--num-samples", "10"]


def run_main(argv):
    """main(argv) with stdout and stderr captured: (status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(argv)
    return status, out.getvalue(), err.getvalue()


def assert_one_line_error(status, err, expected_status, *fragments):
    assert status == expected_status, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("keras-vae: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def png(path):
    """(width, height) of a valid, non-blank PNG."""
    assert os.path.isfile(path), path
    with PIL.open(path) as image:
        assert image.format == "PNG"
        pixels = np.asarray(image.convert("L"), dtype=np.float32)
        size = image.size
    assert pixels.std() > 1.0 and len(np.unique(pixels)) > 4, f"{path} is blank"
    return size


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One tiny training run with the serving export, shared by several tests."""
    folder = str(tmp_path_factory.mktemp("cli") / "run")
    with pytest.MonkeyPatch.context() as patch:  # the users' default: "auto" chooses XLA
        patch.setenv("KERAS_VAE_JIT_COMPILE", "auto")
        status, out, err = run_main(["train", *TINY, "--output", folder])
    assert status == 0, err
    return folder, out


# ------------------------------------------------------------------ train
def test_train_writes_the_run_folder(run):
    folder, out = run
    expected = {
        "model.keras", "serving", "samples.png", "reconstructions.png", "latent.png",
        "curves.png", "kl.png", "history.csv", "metrics.json", "config.json",
    }
    assert expected <= set(os.listdir(folder))
    assert f"Run folder: {folder}" in out
    for name in expected - {"serving"}:
        assert name in out  # the summary says where everything went
    # 8 x 8 samples of 28 pixels, 1-pixel gaps, each pixel drawn 2 x 2.
    assert png(os.path.join(folder, "samples.png")) == (462, 462)
    # Two 8 x 4 panels (originals, reconstructions), a 15-pixel gap, a 30-pixel title.
    assert png(os.path.join(folder, "reconstructions.png")) == (2 * 462 + 15, 230 + 30)
    assert png(os.path.join(folder, "latent.png")) == (600, 500)
    for name in ("curves.png", "kl.png"):
        width, height = png(os.path.join(folder, name))
        assert width >= 300 and height >= 300


def test_train_metrics_and_config(run):
    folder, _ = run
    with open(os.path.join(folder, "metrics.json")) as f:
        metrics = json.load(f)
    for key in ("test_elbo", "test_log_likelihood", "test_bits_per_dim", "wall_time_s", "train_time_s"):
        assert isinstance(metrics[key], float) and math.isfinite(metrics[key]), key
    assert metrics["test_log_likelihood"] < 0 and metrics["test_bits_per_dim"] > 0
    # With K importance samples the estimate should not fall below the ELBO by much.
    assert metrics["test_log_likelihood"] > metrics["test_elbo"] - 5.0
    assert metrics["log_likelihood_num_samples"] == 10
    assert 0 <= metrics["active_units"] <= metrics["latent_dim"] == 16
    assert metrics["num_train"] == metrics["num_test"] == 512
    assert len(metrics["kl_per_dimension"]) == 16
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    assert metrics["config"] == config and metrics["failed_steps"] == []
    assert metrics["epochs_run"] == 1
    assert config["epochs"] == 1 and config["limit"] == 512
    # --hidden-units is folded into the options of the bodies that take it.
    assert config["encoder_options"] == config["decoder_options"] == {"hidden_units": [32]}
    assert config["hidden_units"] is None
    assert config["dataset"] == "sample" and config["output"] == folder
    assert set(config) == set(cli.TrainSettings.keys())
    with open(os.path.join(folder, "history.csv")) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1 and {"elbo", "val_elbo", "kl", "val_kl"} <= set(rows[0])


def test_train_model_and_serving_export(run):
    folder, _ = run
    vae = kv.load_model(os.path.join(folder, "model.keras"))
    assert vae.latent_dim == 16 and vae.data_shape == (28, 28, 1)
    assert vae.sample(2, seed=0).shape == (2, 28, 28, 1)
    assert os.path.isfile(os.path.join(folder, "serving", "1", "saved_model.pb"))


def test_a_step_failing_after_training_loses_nothing(tmp_path, monkeypatch):
    """A picture that cannot be drawn (here: sample_grid raises) is reported in one
    line and in metrics.json; the model, the scores, the export and the other
    pictures are kept, and the exit status says that something failed."""
    from keras_vae import plotting

    def broken(*args, **kwargs):
        raise RuntimeError("no display for you")

    monkeypatch.setattr(plotting, "sample_grid", broken)
    folder = str(tmp_path / "run")
    status, out, err = run_main(["train", *TINY, "--output", folder])
    assert status == 1, err
    assert "picture samples.png: RuntimeError: no display for you" in err
    assert "these steps failed: picture samples.png" in err and "Traceback" not in err
    with open(os.path.join(folder, "metrics.json")) as f:
        metrics = json.load(f)
    assert metrics["failed_steps"] == ["picture samples.png: RuntimeError: no display for you"]
    assert np.isfinite(metrics["test_elbo"]) and np.isfinite(metrics["test_log_likelihood"])
    assert "samples.png" not in metrics["pictures"] and "reconstructions.png" in metrics["pictures"]
    assert os.path.isfile(os.path.join(folder, "model.keras"))
    assert os.path.isfile(os.path.join(folder, "serving", "1", "saved_model.pb"))
    assert not os.path.exists(os.path.join(folder, "samples.png"))


def test_train_from_config_file_with_overrides(tmp_path):
    """YAML config + flags, a 2-D latent space (manifold.png), binarization, no export."""
    pytest.importorskip("yaml")
    config = tmp_path / "vae.yaml"
    config.write_text(
        "epochs: 3\nlatent-dim: 2\nhidden_units: [16]\nbinarize: true\nexport: false\n"
        "limit: 256\nnum_samples: 5\n"
    )
    folder = tmp_path / "run"
    status, out, err = run_main(["train", "--config", str(config), "--epochs", "1", "--output", str(folder)])
    assert status == 0, err
    resolved = json.loads((folder / "config.json").read_text())
    assert resolved["epochs"] == 1  # the flag wins over the file
    assert resolved["latent_dim"] == 2 and resolved["binarize"] is True and resolved["export"] is False
    assert not (folder / "serving").exists() and "skipped (--no-export)" in out
    assert png(folder / "manifold.png")[0] > 500
    metrics = json.loads((folder / "metrics.json").read_text())
    assert math.isfinite(metrics["test_log_likelihood"])


def test_train_on_flat_non_image_data(tmp_path):
    """A .npz of 5-D real vectors: Gaussian likelihood, line plots, a 10% holdout."""
    data = tmp_path / "points.npz"
    rng = np.random.default_rng(0)
    np.savez(data, x=rng.normal(size=(200, 5)).astype("float32"), y=np.arange(200) % 3)
    folder = tmp_path / "run"
    status, out, err = run_main(
        ["train", str(data), "--likelihood", "gaussian", "--latent-dim", "3", "--epochs", "1",
         "--hidden-units", "8", "--num-samples", "5", "--no-export", "--output", str(folder)]
    )
    assert status == 0, err
    assert "holding out 20 examples" in out
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["num_train"] == 180 and metrics["num_test"] == 20
    for name in ("samples.png", "reconstructions.png", "latent.png"):
        png(folder / name)


# --------------------------------------------------------------- settings
def _printed_config(argv):
    status, out, err = run_main(["train", *argv, "--print-config"])
    assert status == 0, err
    return json.loads(out)


def test_config_files_and_flags_describe_the_same_settings(tmp_path):
    flags = ["mnist", "--epochs", "7", "--batch-size", "64", "--latent-dim", "8",
             "--encoder", "conv", "--decoder", "conv", "--hidden-units", "300", "100",
             "--likelihood", "gaussian", "--likelihood-options", '{"scale": "per_feature"}',
             "--beta", "2.5", "--learning-rate", "0.0005",
             "--num-samples", "50", "--seed", "3", "--binarize", "--no-export", "--limit", "1000"]
    settings = {"dataset": "mnist", "epochs": 7, "batch_size": 64, "latent_dim": 8,
                "encoder": "conv", "decoder": "conv", "hidden_units": [300, 100],
                "likelihood": {"name": "gaussian", "scale": "per_feature"}, "beta": 2.5,
                "learning_rate": 0.0005, "num_samples": 50, "seed": 3, "binarize": True,
                "export": False, "limit": 1000}
    from_flags = _printed_config(flags)
    # One description: conveniences folded into options (the conv decoder takes no
    # hidden_units), the likelihood as name + options.
    assert from_flags["encoder_options"] == {"hidden_units": [300, 100]}
    assert from_flags["decoder_options"] == {}
    assert from_flags["likelihood"] == "gaussian"
    assert from_flags["likelihood_options"] == {"scale": "per_feature"}
    assert from_flags["objective_options"] == {"beta": 2.5}
    assert from_flags["beta"] is None and from_flags["hidden_units"] is None

    json_file = tmp_path / "c.json"
    json_file.write_text(json.dumps(settings))
    assert _printed_config(["--config", str(json_file)]) == from_flags

    pytest.importorskip("yaml")
    yaml_file = tmp_path / "c.yaml"
    yaml_file.write_text(
        "dataset: mnist\nepochs: 7\nbatch-size: 64\nlatent_dim: 8\nencoder: conv\n"
        "decoder: conv\nhidden_units: [300, 100]\nlikelihood: gaussian\n"
        "likelihood_options: {scale: per_feature}\nbeta: 2.5\n"
        "learning_rate: 5.0e-4\nnum_samples: 50\nseed: 3\nbinarize: true\n"
        "export: false\nlimit: 1000\n"
    )
    assert _printed_config(["--config", str(yaml_file)]) == from_flags


def test_cli_config_file_and_get_config_describe_one_model(tmp_path):
    """Flags -> settings -> VAE; its get_config() read back (directly and as a config
    file) gives the same name-and-options description."""
    from keras_vae.cli.components import model_arguments, settings_of_model

    flags = ["--likelihood", "gaussian", "--likelihood-options", '{"scale": "per_feature"}',
             "--hidden-units", "24", "--objective-options", '{"free_bits": 0.5}', "--beta", "2",
             "--prior", "standard_normal", "--latent-dim", "3"]
    settings = cli.TrainSettings.from_dict(_printed_config(flags))
    vae = kv.VAE(**model_arguments(settings, (6,)))
    described = settings_of_model(vae)
    assert described == {key: getattr(settings, key) for key in described}
    assert described["objective_options"] == {"beta": 2.0, "free_bits": 0.5}

    config = vae.get_config()
    from_model = tmp_path / "model_components.json"
    from_model.write_text(json.dumps({kind: config[kind] for kind in cli.COMPONENT_KINDS}
                                     | {"latent_dim": 3}))
    assert _printed_config(["--config", str(from_model)]) == _printed_config(flags)


def test_component_kinds_are_the_registry_kinds():
    assert set(cli.COMPONENT_KINDS) == set(kv.registry.KINDS)


def test_flags_override_the_config_file(tmp_path):
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"epochs": 7, "latent_dim": 8, "dataset": "mnist"}))
    resolved = _printed_config(["fashion_mnist", "--config", str(config), "--epochs", "2"])
    assert resolved["epochs"] == 2 and resolved["dataset"] == "fashion_mnist"
    assert resolved["latent_dim"] == 8  # from the file
    assert resolved["batch_size"] == cli.TrainSettings().batch_size  # the default


def test_config_written_by_a_run_is_a_valid_config(run):
    folder, _ = run
    resolved = _printed_config(["--config", os.path.join(folder, "config.json")])
    assert resolved == json.load(open(os.path.join(folder, "config.json")))


# ---------------------------------------------------------- other commands
def test_evaluate_json_and_table(run):
    folder, _ = run
    model = os.path.join(folder, "model.keras")
    status, out, err = run_main(
        ["evaluate", model, "sample", "--limit", "100", "--num-samples", "5", "--json"]
    )
    assert status == 0, err
    result = json.loads(out)
    assert result["num_examples"] == 100 and result["split"] == "test"
    for key in ("elbo", "log_likelihood", "bits_per_dim"):
        assert math.isfinite(result[key])
    assert 0 <= result["active_units"] <= 16
    status, out, err = run_main(["evaluate", model, "sample", "--limit", "50", "--num-samples", "2"])
    assert status == 0, err
    for label in ("ELBO", "log-likelihood", "bits/dim", "active units"):
        assert label in out
    # The progress bar goes to stderr (not a terminal here: a line per tenth), ending at 100%.
    assert "100%" in err.strip().splitlines()[-1] and "50/50 examples" in err
    status, out, err = run_main(["evaluate", model, "sample", "--limit", "50", "--num-samples", "2",
                                 "--no-progress"])
    assert status == 0 and err == ""


def test_sample_png_jpeg_and_npy(run, tmp_path):
    model = os.path.join(run[0], "model.keras")
    status, out, err = run_main(["sample", model, "-n", "16", "-o", str(tmp_path / "grid.png"), "--seed", "1"])
    assert status == 0, err
    # 4 x 4 tiles, 1-pixel gaps (115 px), scale 3: a grid under 320 px gets larger pixels.
    assert png(tmp_path / "grid.png") == (345, 345)
    for name in ("grid.jpg", "grid.jpeg"):
        status, _, err = run_main(["sample", model, "-n", "16", "-o", str(tmp_path / name)])
        assert status == 0, err
        with PIL.open(tmp_path / name) as image:
            assert image.format == "JPEG" and image.size == (345, 345)
    status, _, err = run_main(["sample", model, "-n", "5", "-o", str(tmp_path / "s.npy")])
    assert status == 0, err
    samples = np.load(tmp_path / "s.npy")
    assert samples.shape == (5, 28, 28, 1) and 0 <= samples.min() and samples.max() <= 1
    status, _, err = run_main(["sample", model, "-o", str(tmp_path / "s.gif")])
    assert_one_line_error(status, err, 2, "'.gif'", ".jpeg")
    assert not (tmp_path / "s.gif").exists()


def test_export_command_versions(run, tmp_path):
    model = os.path.join(run[0], "model.keras")
    base = tmp_path / "serving" / "vae"
    status, out, err = run_main(["export", model, str(base), "--version", "3"])
    assert status == 0, err
    assert (base / "3" / "saved_model.pb").is_file() and str(base / "3") in out
    status, out, err = run_main(["export", model, str(base)])
    assert status == 0, err
    assert (base / "4" / "saved_model.pb").is_file()  # the next version
    status, _, err = run_main(["export", model, str(base), "--version", "3"])
    assert status == 1 and "3" in err and len(err.strip().splitlines()) == 1
    status, _, err = run_main(["export", model, str(base), "--version", "3", "--overwrite"])
    assert status == 0, err


@kv.register("prior", "cli_test_prior")
class CliTestPrior(kv.priors.StandardNormal):
    """A stand-in for a plugin component (its module is not keras_vae)."""


def test_components_lists_names_options_and_defaults():
    status, out, err = run_main(["components"])
    assert status == 0, err
    kinds = [line.split(":")[0] for line in out.splitlines() if not line.startswith(" ")]
    assert kinds == list(cli.COMPONENT_KINDS)
    assert re.search(r"^  gaussian +scale=\"shared\", min_scale=0.001$", out, re.M)
    assert re.search(r"^  mlp +hidden_units=\[400\], activation=\"relu\"", out, re.M)
    assert re.search(r"^  cli_test_prior +\(no options\)  \[plugin \(test_cli\)\]$", out, re.M)
    status, out, _ = run_main(["components", "likelihood", "--json"])
    listing = json.loads(out)
    assert list(listing) == ["likelihood"]
    gaussian = next(e for e in listing["likelihood"] if e["name"] == "gaussian")
    assert gaussian["class"] == "keras_vae.likelihoods.gaussian.Gaussian"
    assert gaussian["source"] == "built-in" and gaussian["options"]["scale"] == '"shared"'


def test_a_registered_component_is_a_flag_value_at_once(tmp_path):
    """A component registered after the parser was written is usable by name."""
    resolved = _printed_config(["--prior", "cli_test_prior"])
    assert resolved["prior"] == "cli_test_prior"


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    "argv, fragments",
    [
        (["train", "--epochs", "0"], ["--epochs", "integer >= 1"]),
        (["train", "--epochs", "five"], ["--epochs"]),
        (["train", "--encoder", "rnn"], ["--encoder", "unknown encoder 'rnn'", "mlp"]),
        (["train", "--likelihood-options", "[1]"], ["--likelihood-options", "JSON object"]),
        (["train", "--likelihood", "gaussian", "--likelihood-options", '{"scal": 1}'],
         ["--likelihood-options", "'scal'", "scale="]),
        (["train", "--likelihood", "gaussian", "--likelihood-options", '{"scale": "x"}'],
         ["--likelihood-options", "scale"]),
        (["train", "--encoder", "conv", "--decoder", "conv", "--objective", "iwae", "--beta", "2"],
         ["--beta", "no beta option"]),
        (["sample", "m.keras", "-o", "grid.gif"], ["-o/--output", ".gif", ".png", ".jpg", ".npy"]),
        (["train", "--beta", "-1"], ["--beta", ">= 0"]),
        (["train", "--learning-rate", "nan"], ["--learning-rate"]),
        (["train", "--hidden-units"], ["--hidden-units"]),
        (["train", "--frobnicate"], ["--frobnicate"]),
        (["trian"], ["invalid choice", "trian"]),
        (["sample"], ["MODEL"]),
    ],
)
def test_bad_flags_are_usage_errors(argv, fragments):
    status, _, err = run_main(argv)
    assert_one_line_error(status, err, 2, *fragments)


def test_config_errors_are_usage_errors(tmp_path, monkeypatch):
    bad_key = tmp_path / "a.json"
    bad_key.write_text(json.dumps({"epochs": 2, "latent_size": 4}))
    status, _, err = run_main(["train", "--config", str(bad_key)])
    assert_one_line_error(status, err, 2, "latent_size", "Valid settings:", "latent_dim", "hidden_units")

    bad_value = tmp_path / "b.json"
    bad_value.write_text(json.dumps({"hidden_units": [400, -1]}))
    status, _, err = run_main(["train", "--config", str(bad_value)])
    assert_one_line_error(status, err, 2, "hidden_units")

    broken = tmp_path / "c.json"
    broken.write_text("{epochs: ")
    status, _, err = run_main(["train", "--config", str(broken)])
    assert_one_line_error(status, err, 2, "not valid JSON")

    not_a_mapping = tmp_path / "d.json"
    not_a_mapping.write_text("[1, 2]")
    status, _, err = run_main(["train", "--config", str(not_a_mapping)])
    assert_one_line_error(status, err, 2, "mapping")

    status, _, err = run_main(["train", "--config", str(tmp_path / "missing.yaml")])
    assert_one_line_error(status, err, 2, "does not exist")

    yaml_file = tmp_path / "e.yaml"
    yaml_file.write_text("epochs: 2\n")
    monkeypatch.setitem(sys.modules, "yaml", None)
    status, _, err = run_main(["train", "--config", str(yaml_file)])
    assert_one_line_error(status, err, 2, "PyYAML", "pip install keras-vae[yaml]")


def test_missing_data_set_is_one_line_naming_the_fix():
    from keras_vae.cli.main import _dataset_hint
    from keras_vae.datasets import DatasetNotFoundError

    error = DatasetNotFoundError("long\nmessage", ["a", "b"], dataset="mnist", split="train")
    hint = _dataset_hint(error)
    assert "\n" not in hint and "KERAS_VAE_DATA" in hint and "DATASET" in hint
    assert "path=" not in hint


def test_unknown_dataset_is_a_runtime_error():
    status, _, err = run_main(["train", "no_such_dataset", "--epochs", "1"])
    assert_one_line_error(status, err, 1, "no_such_dataset")
    status, _, err = run_main(["train", "missing/file.npz", "--epochs", "1"])
    assert_one_line_error(status, err, 1, "missing/file.npz")


def test_missing_model_file_is_a_runtime_error(tmp_path):
    missing = str(tmp_path / "nope.keras")
    for argv in (["evaluate", missing, "sample"], ["sample", missing, "-o", str(tmp_path / "g.png")]):
        status, _, err = run_main(argv)
        assert_one_line_error(status, err, 1, "nope.keras")


def test_data_the_model_cannot_use(run, tmp_path):
    wrong_shape = tmp_path / "flat.npy"
    np.save(wrong_shape, np.zeros((10, 5), np.float32))
    status, _, err = run_main(["evaluate", os.path.join(run[0], "model.keras"), str(wrong_shape)])
    assert_one_line_error(status, err, 1, "shape")

    out_of_range = tmp_path / "pixels.npz"  # 0..255 floats for a Bernoulli likelihood
    np.savez(out_of_range, x=np.full((20, 4, 4, 1), 200.0, np.float32))
    status, _, err = run_main(["train", str(out_of_range), "--epochs", "1", "--no-export",
                               "--output", str(tmp_path / "r")])
    assert_one_line_error(status, err, 1, "x / 255")
    assert not (tmp_path / "r").exists()  # a run that cannot start leaves no folder
    status, _, err = run_main(["train", str(out_of_range), "--binarize", "--output", str(tmp_path / "r")])
    assert_one_line_error(status, err, 1, "[0, 1]")
    assert not (tmp_path / "r").exists()


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(FileNotFoundError):
        cli.main(["--debug", "evaluate", str(tmp_path / "nope.keras"), "sample"])
    with pytest.raises(FileNotFoundError):
        cli.main(["evaluate", str(tmp_path / "nope.keras"), "sample", "--debug"])


def test_help(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "usage: keras-vae" in out and "examples:" in out
    for command in ("train", "evaluate", "sample", "export", "components"):
        assert command in out
    assert cli.main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    assert "(default: 30)" in out and "--config FILE" in out and "examples:" in out
    for kind in cli.COMPONENT_KINDS:
        assert f"--{kind} NAME" in out and f"--{kind}-options JSON" in out
    for flag in ("--resume RUN", "--overwrite", "--tensorboard DIR", "--standardize"):
        assert flag in out
    assert cli.main([]) == 2  # no command: the help, and a usage status
    assert "usage: keras-vae" in capsys.readouterr().out
    assert cli.main(["--version"]) == 0
    assert kv.__version__ in capsys.readouterr().out


# ------------------------------------------------------------- subprocess
def _python_m(*args):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(
        [sys.executable, "-m", "keras_vae", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=180,
    )


def test_python_m_keras_vae_help_and_error():
    done = _python_m("--help")
    assert done.returncode == 0, done.stderr
    assert "usage: keras-vae" in done.stdout and "Traceback" not in done.stderr
    done = _python_m("train", "--epochs", "0")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("keras-vae: error:")]
    assert len(errors) == 1 and "--epochs" in errors[0]


def test_console_script_entry_point():
    """setup.py's console script names cli.main; run the installed script if present."""
    setup_py = open(os.path.join(REPO, "setup.py")).read()
    assert '"keras-vae=keras_vae.cli:main"' in setup_py
    import shutil

    script = shutil.which("keras-vae")
    if script is None:
        pytest.skip("keras-vae is not installed as a console script (pip install -e .)")
    done = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0 and "usage: keras-vae" in done.stdout


# ------------------------------------------------------ run folders, resume
def test_non_empty_output_is_refused_unless_overwrite(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "model.keras").write_text("an older run")
    (folder / "notes.txt").write_text("mine")
    status, _, err = run_main(["train", *TINY, "--output", str(folder)])
    assert_one_line_error(status, err, 2, "not empty", "--overwrite", "--resume")
    assert (folder / "model.keras").read_text() == "an older run"

    logs = tmp_path / "tb"
    status, out, err = run_main(["train", *TINY, "--limit", "100", "--no-export", "--overwrite",
                                 "--tensorboard", str(logs), "--output", str(folder)])
    assert status == 0, err
    assert (folder / "notes.txt").read_text() == "mine"  # not a run file: kept
    assert kv.load_model(str(folder / "model.keras")).latent_dim == 16
    events = [f for _, _, files in os.walk(logs) for f in files if f.startswith("events.out.tfevents")]
    assert events, "no TensorBoard event file"


_KILL_SCRIPT = """
import os, signal, sys
import keras
from keras_vae import cli

seen = {}
def on_epoch_begin(self, epoch, logs=None):
    seen["epoch"] = epoch
def on_train_batch_end(self, batch, logs=None):
    if seen.get("epoch") == 1 and batch == 2:   # mid-way through the second epoch
        sys.stdout.flush()
        os.kill(os.getpid(), signal.SIGKILL)
keras.callbacks.CSVLogger.on_epoch_begin = on_epoch_begin
keras.callbacks.CSVLogger.on_train_batch_end = on_train_batch_end
sys.exit(cli.main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_resume_after_sigkill_mid_epoch_matches_an_uninterrupted_run(tmp_path):
    flags = ["--epochs", "3", "--limit", "300", "--batch-size", "50", "--hidden-units", "16",
             "--latent-dim", "4", "--num-samples", "2", "--no-export", "--seed", "7"]
    killed = tmp_path / "killed"
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-c", _KILL_SCRIPT, "train", *flags, "--output", str(killed)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == -9, done.stderr[-3000:]
    assert (killed / "backup").is_dir() and not (killed / "model.keras").exists()
    with open(killed / "history.csv") as f:
        assert len(list(csv.DictReader(f))) == 1  # epoch 1 finished, epoch 2 did not

    status, out, err = run_main(["train", "--resume", str(killed)])
    assert status == 0, err
    assert "Resuming" in out and not (killed / "backup").exists()
    status, _, err = run_main(["train", *flags, "--output", str(tmp_path / "straight")])
    assert status == 0, err

    resumed = kv.load_model(str(killed / "model.keras"))
    straight = kv.load_model(str(tmp_path / "straight" / "model.keras"))
    for a, b in zip(resumed.get_weights(), straight.get_weights()):
        np.testing.assert_array_equal(a, b)
    with open(killed / "history.csv") as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["0", "1", "2"]
    # A finished run cannot be resumed; --resume takes no other settings.
    status, _, err = run_main(["train", "--resume", str(killed)])
    assert_one_line_error(status, err, 2, "finished")
    status, _, err = run_main(["train", "--resume", str(killed), "--latent-dim", "3"])
    assert_one_line_error(status, err, 2, "only --epochs", "--latent-dim")


# --------------------------------------------------------- the user's data
def test_csv_round_trip_with_standardize(tmp_path):
    rng = np.random.default_rng(0)
    n = 200
    table = np.stack([rng.normal(1000, 100, n), rng.normal(-50, 5, n), rng.normal(0.002, 0.0005, n)], 1)
    lines = ["city,height_mm,depth_m,rate"] + [
        f"c{i},{a:.3f},{b:.4f},{c:.6f}" for i, (a, b, c) in enumerate(table)
    ]
    data = tmp_path / "measurements.csv"
    data.write_text("\n".join(lines) + "\n")
    folder = tmp_path / "run"
    status, out, err = run_main(["train", str(data), "--standardize", "--likelihood", "gaussian",
                                 "--latent-dim", "2", "--epochs", "3", "--hidden-units", "16",
                                 "--num-samples", "2", "--output", str(folder)])
    assert status == 0, err
    assert "far from standardized" not in err
    # The statistics travel inside the model (no file beside it to lose).
    assert not (folder / "standardization.json").exists()
    import keras_vae as kv

    vae = kv.load_model(str(folder / "model.keras"))
    np.testing.assert_allclose(np.asarray(vae.standardization.adapt_mean), [1000, -50, 0.002], rtol=0.05)
    metrics = json.loads((folder / "metrics.json").read_text())
    # In the data's units: the standardized ELBO minus sum(log std) = log(100 * 5 * 0.0005) ~ -1.4.
    assert metrics["num_train"] == 180 and -20 < metrics["test_elbo"] < 3
    assert set(metrics["pictures"]) == {"reconstructions.png", "samples.png", "latent.png",
                                        "curves.png", "kl.png"}
    assert "per-feature" in metrics["pictures"]["reconstructions.png"]
    png(folder / "reconstructions.png")

    # evaluate standardizes with the saved statistics, sample answers in the data's units.
    model = str(folder / "model.keras")
    status, out, err = run_main(["evaluate", model, str(data), "--json", "--num-samples", "2"])
    assert status == 0, err
    assert -20 < json.loads(out)["elbo"] < 3
    status, _, err = run_main(["sample", model, "-n", "400", "-o", str(tmp_path / "s.npy")])
    assert status == 0, err
    samples = np.load(tmp_path / "s.npy")
    assert samples.shape == (400, 3)
    np.testing.assert_allclose(samples.mean(0), [1000, -50, 0.002], rtol=0.2)
    status, _, err = run_main(["sample", model, "-n", "100", "-o", str(tmp_path / "s.png")])
    assert status == 0, err
    png(tmp_path / "s.png")


_PLUGIN_SCRIPT = """
import importlib.metadata, sys
sys.argv[0] = "keras-vae"           # start as the command does: TensorFlow only when needed
sys.path.insert(0, {plugin!r})
ep = importlib.metadata.EntryPoint(name="student_t", value="keras_vae_student_t:StudentT",
                                   group="keras_vae.likelihoods")
installed = importlib.metadata.entry_points


def entry_points(**selection):  # the plugin as if pip-installed (hermetic)
    if selection.get("group") == "keras_vae.likelihoods":
        return [ep]
    return installed(**selection)


importlib.metadata.entry_points = entry_points
from keras_vae.cli import main
assert "tensorflow" not in sys.modules
assert main(["components", "likelihood"]) == 0
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_plugin_component_by_name_from_a_quiet_command_line(tmp_path):
    """The example Student-t plugin, found through its entry point: in `components`
    with its options, as --likelihood with options, in the trained model; and the
    command prints none of TensorFlow's C++ start-up lines."""
    script = _PLUGIN_SCRIPT.format(plugin=os.path.join(REPO, "examples", "plugin_student_t"))
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    data = tmp_path / "t.npz"
    np.savez(data, x=np.random.default_rng(0).standard_t(3, size=(120, 4)).astype("float32"))
    folder = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-c", script, "train", str(data), "--likelihood", "student_t",
         "--likelihood-options", '{"df": "learned"}', "--epochs", "1", "--hidden-units", "8",
         "--latent-dim", "2", "--num-samples", "2", "--no-export", "--output", str(folder)],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert re.search(r"student_t +df=5.0, min_scale=0.001  \[plugin \(keras_vae_student_t\)\]", done.stdout)
    config = json.loads((folder / "config.json").read_text())
    assert config["likelihood"] == "student_t" and config["likelihood_options"] == {"df": "learned"}
    model_config = json.loads(zipfile.ZipFile(folder / "model.keras").read("config.json"))
    likelihood = model_config["config"]["likelihood"]
    assert likelihood["module"].startswith("keras_vae_student_t") and likelihood["config"]["df"] == "learned"
    for chatter in ("I0000", "cuInit", "oneDNN", "absl::InitializeLog", "cpu_feature_guard"):
        assert chatter not in done.stderr, done.stderr


def test_help_imports_no_tensorflow():
    script = ("import sys; sys.argv[0] = 'keras-vae'; from keras_vae.cli import main; "
              "status = main(['--help']); print('TF-LOADED' if 'tensorflow' in sys.modules else 'NO-TF')")
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "NO-TF" in done.stdout, done.stdout + done.stderr


def test_readme_cli_reference_is_the_parsers():
    """The documentation's command-line reference (docs/guide/cli.md) is generated from
    the parser; regenerate it with `python -m keras_vae.cli.reference --write docs/guide/cli.md`."""
    from keras_vae.cli import reference

    readme = open(os.path.join(REPO, "docs", "guide", "cli.md"), encoding="utf-8").read()
    block = readme.split(reference.START)[1].split(reference.END)[0].strip("\n")
    assert block == reference.markdown()
    first_cells = re.findall(r"^\| `([^`]*)`", block, re.M)
    flags = {flag for cell in first_cells for flag in re.findall(r"--[a-z-]+", cell)}
    parser_flags = {
        option
        for command in cli.build_parser()._subparsers._group_actions[0].choices.values()
        for action in command._actions
        for option in action.option_strings
        if option.startswith("--") and option not in ("--help", "--debug")
    }
    assert flags == parser_flags


def test_init_output_bias_starts_the_head_at_the_training_mean_and_is_refused_where_it_cannot(tmp_path):
    import keras_vae as kv

    x = (np.random.default_rng(0).random((64, 4, 4, 1)) < np.linspace(0.05, 0.95, 16).reshape(4, 4, 1))
    data = tmp_path / "pixels.npz"
    np.savez(data, x=x.astype(np.float32))
    folder = tmp_path / "r"
    status, _, err = run_main(["train", str(data), "--epochs", "1", "--no-export", "--init-output-bias",
                               "--learning-rate", "1e-12", "--latent-dim", "2", "--output", str(folder)])
    assert status == 0, err
    with open(folder / "config.json") as f:
        assert json.load(f)["init_output_bias"] is True
    bias = kv.saving.load_model(folder / "model.keras").likelihood_layer.projection.bias.numpy()
    # Trained with a negligible learning rate: the bias is where it started, the logit of
    # the training split's mean (the split is a seeded part of the 64 rows).
    p = 1 / (1 + np.exp(-bias))
    assert np.corrcoef(p, np.linspace(0.05, 0.95, 16))[0, 1] > 0.9

    status, _, err = run_main(["train", str(data), "--likelihood", "categorical", "--init-output-bias",
                               "--epochs", "1", "--no-export", "--output", str(tmp_path / "g")])
    assert_one_line_error(status, err, 2, "--init-output-bias", "Categorical", "bernoulli")  # a usage error
    assert not (tmp_path / "g").exists()
