"""The command line of issues 10 and 12: `evaluate --method ais`, `gaps`, integer-valued
likelihoods on 8-bit data, and bits/dim only for a discrete likelihood."""
import contextlib
import io
import json
import math
import os

import numpy as np
import pytest

import keras_vae as kv
from keras_vae import cli

pytest.importorskip("matplotlib")
PIL = pytest.importorskip("PIL.Image")

N = 8  # examples scored
AIS = ["--num-steps", "5", "--num-chains", "2"]


def run_main(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(argv)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def continuous_model(tmp_path_factory):
    """A tiny continuous-Bernoulli VAE trained one epoch on the bundled sample, saved."""
    import keras

    x, _ = kv.datasets.load_dataset("sample", split="train")
    keras.utils.set_random_seed(0)
    vae = kv.VAE(kv.encoders.MLPEncoder([16]), kv.decoders.MLPDecoder([16]), latent_dim=2,
                 input_shape=x.shape[1:], likelihood="continuous_bernoulli", seed=0)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=False)  # 4 steps: no XLA compile
    vae.fit(x[:256], epochs=1, batch_size=64, verbose=0)
    path = str(tmp_path_factory.mktemp("mcmc_cli") / "model.keras")
    vae.save(path)
    return path, vae


def test_evaluate_ais_is_the_library_estimate_and_bits_are_na_for_a_density(continuous_model):
    path, vae = continuous_model
    status, out, err = run_main(["evaluate", path, "sample", "--limit", str(N), "--method", "ais",
                                 "--anneal-from", "q", "--seed", "3", "--json", *AIS])
    assert status == 0, err
    scores = json.loads(out)
    assert scores["log_likelihood_method"] == "ais" and scores["ais_num_steps"] == 5
    assert scores["ais_num_chains"] == 2 and scores["ais_anneal_from"] == "q"
    assert scores["bits_per_dim"] is None  # a density: no code length
    x, _ = kv.datasets.load_dataset("sample", split="test")
    expected = kv.evaluation.ais_log_likelihood(vae, x[:N], num_steps=5, num_chains=2, anneal_from="q", seed=3)
    assert math.isclose(scores["log_likelihood"], float(np.mean(expected)), rel_tol=1e-6)

    # the table (the importance-sampled default: cheap) shows no bits/dim for a density
    status, out, err = run_main(["evaluate", path, "sample", "--limit", str(N), "--num-samples", "5",
                                 "--no-progress"])
    assert status == 0, err
    assert "(K=5)" in out and "bits/dim        n/a (continuous likelihood)" in out


def test_evaluate_method_is_checked():
    status, _, err = run_main(["evaluate", "model.keras", "sample", "--method", "mcmc"])
    assert status == 2 and "--method" in err and "'ais'" in err


def test_gaps_prints_writes_and_plots(continuous_model, tmp_path):
    path, _ = continuous_model
    table, picture = str(tmp_path / "gaps.json"), str(tmp_path / "cost.png")
    status, out, err = run_main(["gaps", path, "sample", "--limit", str(N), "--optimize-steps", "10",
                                 "--json", table, "--plot", picture, *AIS])
    assert status == 0, err
    assert f"inference gaps over {N} examples" in out and "amortization gap" in out
    record = json.load(open(table))
    assert record["num_examples"] == N and record["settings"]["ais"]["num_steps"] == 5
    gap = record["log_px"] - record["elbo_amortized"]
    assert math.isclose(record["approximation_gap"] + record["amortization_gap"], gap, abs_tol=1e-6)
    # the optimized q starts at the encoder's: it is no worse (same noise, 10 Adam steps)
    assert record["elbo_optimized"] > record["elbo_amortized"] - 0.5
    with PIL.open(picture) as image:
        assert image.format == "PNG" and image.size[0] > 100


def test_train_categorical_on_8_bit_levels(tmp_path):
    # categorical rather than logistic_mixture here: the same data path (integer_valued,
    # num_values), and its training step compiles faster (20 s against 26 s for the run)
    folder = str(tmp_path / "run")
    status, out, err = run_main(["train", "sample", "--limit", "256", "--epochs", "1", "--hidden-units", "16",
                                 "--latent-dim", "3", "--likelihood", "categorical", "--num-samples", "5",
                                 "--no-export", "--output", folder])
    assert status == 0, err
    config = json.load(open(os.path.join(folder, "config.json")))
    assert math.isclose(config["encoder_options"]["input_scale"], 1 / 255)
    metrics = json.load(open(os.path.join(folder, "metrics.json")))
    # 8-bit levels: at most 8 bits/dim for a uniform model, more than 0 for any model
    assert 0.0 < metrics["test_bits_per_dim"] < 8.5, metrics["test_bits_per_dim"]
    assert f"bits/dim {metrics['test_bits_per_dim']:.4f}" in out
    vae = kv.load_model(os.path.join(folder, "model.keras"))
    assert math.isclose(vae.encoder.input_scale, 1 / 255)
    # evaluate reads the same raw levels (a /255 float would be refused as non-integer)
    status, out, err = run_main(["evaluate", os.path.join(folder, "model.keras"), "sample", "--limit", str(N),
                                 "--num-samples", "5", "--json"])
    assert status == 0, err
    assert 0.0 < json.loads(out)["bits_per_dim"] < 8.5
