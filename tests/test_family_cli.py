"""The model families are selectable by name from the command line."""
import contextlib
import io
import json

import pytest

import keras_vae as kv
from keras_vae import cli

pytest.importorskip("matplotlib")


def run_main(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(argv)
    return status, out.getvalue(), err.getvalue()


def test_train_a_full_covariance_vampprior_iwae_model_from_the_cli(tmp_path):
    # (The flow posterior by name: test_family_components; every combination: test_family_combinations.)
    folder = tmp_path / "run"
    status, _, err = run_main([
        "train", "--epochs", "1", "--limit", "256", "--hidden-units", "16", "--num-samples", "4",
        "--latent-dim", "2",
        "--posterior", "full_gaussian", "--posterior-options", '{"min_scale": 0.001}',
        "--prior", "vamp", "--prior-options", '{"num_pseudo_inputs": 4, "input_range": [0, 1]}',
        "--objective", "iwae", "--objective-options", '{"num_samples": 3, "gradient": "dreg"}',
        "--output", str(folder),
    ])
    assert status == 0, err
    vae = kv.load_model(folder / "model.keras")
    assert type(vae.posterior_layer).__name__ == "FullGaussianPosterior" and vae.posterior_layer.min_scale == 0.001
    assert type(vae.prior_layer).__name__ == "VampPrior" and vae.prior_layer.num_pseudo_inputs == 4
    assert vae.objective.get_config() == {"num_samples": 3, "gradient": "dreg", "memory_budget": 2**31}
    metrics = json.loads((folder / "metrics.json").read_text())
    assert "iwae_bound" in json.dumps(metrics)
