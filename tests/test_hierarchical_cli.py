"""keras-vae train --model hierarchical --latent-dims N,N --inference NAME: the
settings reach the model (the training run itself is the CLI's own pipeline)."""
import contextlib
import io
import json

import pytest

import keras_vae as kv
from keras_vae import cli
from keras_vae.cli.components import model_arguments, model_class


def printed_config(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(["train", *argv, "--print-config"])
    return status, out.getvalue(), err.getvalue()


def test_flags_build_a_hierarchical_model():
    status, out, err = printed_config(["sample", "--model", "hierarchical", "--latent-dims", "8,4",
                                       "--inference", "ladder", "--objective", "iwae"])
    assert status == 0, err
    settings = cli.TrainSettings.from_dict(json.loads(out))
    assert settings.latent_dims == [8, 4] and settings.inference == "ladder"
    assert model_class(settings) is kv.HierarchicalVAE
    model = model_class(settings)(**model_arguments(settings, (6,)))
    assert model.latent_dims == [8, 4] and model.inference == "ladder"
    assert type(model.objective).__name__ == "IWAE" and model.data_shape == (6,)


@pytest.mark.parametrize("argv, fragment", [
    (["--latent-dims", "8,0"], "latent-dims"),
    (["--latent-dims", "8,x"], "latent-dims"),
    (["--latent-dims", ""], "latent-dims"),
    (["--latent-dims", "8,4", "--inference", "top_down"], "inference"),
])
def test_bad_group_sizes_are_one_line_errors(argv, fragment):
    status, _, err = printed_config(["sample", "--model", "hierarchical", *argv])
    assert status != 0 and "Traceback" not in err and fragment in err, err


def test_hierarchical_flags_on_a_plain_vae_are_refused():
    status, out, err = printed_config(["sample", "--latent-dims", "8,4"])
    assert status == 0, err
    settings = cli.TrainSettings.from_dict(json.loads(out))
    with pytest.raises(cli.errors.UsageError if hasattr(cli, "errors") else Exception, match="--latent-dims"):
        model_arguments(settings, (6,))


def test_train_run_end_to_end(tmp_path):
    """A tiny `keras-vae train --model hierarchical` run: every step succeeds (model,
    SavedModel, pictures, metrics with the KL of each group)."""
    import os

    folder = str(tmp_path / "run")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(["train", "sample", "--model", "hierarchical", "--latent-dims", "4,2",
                           "--inference", "ladder", "--epochs", "1", "--limit", "256",
                           "--num-samples", "5", "--output", folder])
    assert status == 0, err.getvalue()
    assert {"model.keras", "serving", "samples.png", "latent.png", "kl.png", "metrics.json"} <= set(os.listdir(folder))
    metrics = json.loads(open(os.path.join(folder, "metrics.json")).read())
    assert metrics["latent_dim"] == 6 and metrics["test_kl_1"] is not None and metrics["test_kl_2"] is not None
    # groups of different sizes: z_1's 4 KLs, then z_2's 2
    assert len(metrics["kl_per_dimension"]) == 6
    loaded = kv.load_model(os.path.join(folder, "model.keras"))
    assert isinstance(loaded, kv.HierarchicalVAE) and loaded.inference == "ladder"
