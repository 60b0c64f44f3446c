"""The TF Serving export: signatures, numbers, seeds, warm-up, REST, layout, errors.

Every exported model is loaded in a separate process that cannot import keras_vae,
TensorFlow Probability or Keras (see ``serving_helpers``), with both the TF2 loader
and the TF1 loader TF Serving uses. To keep the file fast, the models are exported
once per module and all their calls go to one worker process (plus a second one for
the cross-process seed checks).
"""
from __future__ import annotations

import itertools
import json
import os
import re
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_vae as kv
from keras_vae import export as export_mod
from serving_helpers import ServingJob, rest_response, rest_to_feeds, saved_model_cli

SHAPE = (8, 8, 1)
LATENT = 3
BATCH = 4
TOL = dict(rtol=1e-5, atol=1e-5)
SEEDS = np.array([0, 1, 12345, -5, 2**40 + 7], np.int64)
ALL_SIGNATURES = {*export_mod.SIGNATURES, "serving_default"}

ENCODERS = {
    "mlp": lambda: kv.encoders.MLPEncoder([16]),
    "conv": lambda: kv.encoders.ConvEncoder([4, 8]),
}
DECODERS = {
    "mlp": lambda: kv.decoders.MLPDecoder([16]),
    "conv": lambda: kv.decoders.ConvDecoder([8, 4]),
}
LIKELIHOODS = {
    "bernoulli": lambda: "bernoulli",
    "gaussian": lambda: kv.likelihoods.Gaussian(scale=1.0),
    "gaussian_per_feature": lambda: kv.likelihoods.Gaussian(scale="per_feature"),
}
# A pairwise cover of encoder x decoder x likelihood (each pair of choices of two of
# them occurs in some combination): the export code is the same for all 12 triples,
# and each export costs ~10 s.
COMBOS = ["mlp-mlp-bernoulli", "conv-conv-bernoulli", "mlp-conv-gaussian", "conv-mlp-gaussian",
          "mlp-mlp-gaussian_per_feature", "conv-conv-gaussian_per_feature"]
assert {(e, d) for e, d, _ in (c.split("-") for c in COMBOS)} == set(itertools.product(ENCODERS, DECODERS))
assert {(e, l) for e, _, l in (c.split("-") for c in COMBOS)} == set(itertools.product(ENCODERS, LIKELIHOODS))
assert {(d, l) for _, d, l in (c.split("-") for c in COMBOS)} == set(itertools.product(DECODERS, LIKELIHOODS))
PLAIN = "mlp-mlp-bernoulli"
# The TF1 (server-style) loader is checked on combinations that cover every
# encoder, decoder and likelihood at least once; the graph does not depend on the loader.
TF1_COMBOS = [PLAIN, "conv-conv-gaussian_per_feature", "mlp-conv-gaussian", "conv-mlp-gaussian"]


def make_vae(combo: str, seed: int = 7) -> kv.VAE:
    enc, dec, lik = combo.split("-")
    vae = kv.VAE(
        encoder=ENCODERS[enc](),
        decoder=DECODERS[dec](),
        likelihood=LIKELIHOODS[lik](),
        latent_dim=LATENT,
        input_shape=SHAPE,
        seed=seed,
    )
    if lik == "gaussian_per_feature":  # move the learned scale off its constant init
        rng = np.random.default_rng(seed)
        raw = vae.likelihood_layer.raw_scale
        raw.assign(rng.uniform(-1.0, 1.0, raw.shape).astype("float32"))
    return vae


def make_data(combo: str, n: int = BATCH, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if combo.endswith("bernoulli"):
        return rng.uniform(size=(n, *SHAPE)).astype("float32")
    return rng.normal(size=(n, *SHAPE)).astype("float32")


def keras_reference(vae: kv.VAE, x: np.ndarray, z: np.ndarray) -> dict:
    """What each signature must return, computed with the Keras model."""
    q = vae.posterior(x)
    # score: each row alone, with the draws of the score signature (K = 64).
    seed = tf.constant(export_mod._score_seed(vae))
    terms = [vae.terms(tf.constant(x[i : i + 1]), num_samples=64, seed=seed) for i in range(len(x))]
    log_px = np.concatenate([t.reconstruction().numpy() for t in terms])
    kl = np.concatenate([t.kl().numpy() for t in terms])
    return {
        "mean": q.mean().numpy(),
        "stddev": q.stddev().numpy(),
        "decode": vae.decode(z).numpy(),
        "reconstruct": vae.reconstruct(x).numpy(),
        "sample": np.concatenate([vae.sample(1, seed=int(s)).numpy() for s in SEEDS]),
        "elbo": np.concatenate(
            [vae.elbo(x[i : i + 1], seed=seed, num_samples=64).numpy() for i in range(len(x))]
        ),
        "log_px": np.concatenate(
            [vae.log_likelihood(x[i : i + 1], num_samples=64, seed=vae.seed) for i in range(len(x))]
        ),
        "reconstruction_log_prob": log_px,
        "kl": kl,
    }


class Exported:
    """One exported model with its inputs, Keras reference outputs and job handles."""

    def __init__(self, combo, vae, directory, x, z):
        self.combo, self.vae, self.dir, self.x, self.z = combo, vae, directory, x, z
        self.ref = keras_reference(vae, x, z)
        self.h: dict = {}


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict[str, Exported]:
    """Every built-in combination, plus a mixed_float16 model, exported once."""
    base = tmp_path_factory.mktemp("exports")
    models = {}
    for i, combo in enumerate(COMBOS):
        vae = make_vae(combo, seed=7 + i)
        directory = export_mod.export_vae(vae, base / combo)
        rng = np.random.default_rng(i)
        models[combo] = Exported(
            combo, vae, directory, make_data(combo, seed=i),
            rng.normal(size=(BATCH, LATENT)).astype("float32"),
        )
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        vae = make_vae("conv-conv-gaussian", seed=99)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    directory = export_mod.export_vae(vae, base / "mixed")
    models["mixed"] = Exported(
        "mixed", vae, directory, make_data("gaussian", seed=99),
        np.random.default_rng(99).normal(size=(BATCH, LATENT)).astype("float32"),
    )
    return models


def queue_model_calls(job: ServingJob, m: Exported) -> dict:
    h = {
        "encode": job.call(m.dir, "encode", repeat=2, x=m.x),
        "decode": job.call(m.dir, "decode", repeat=2, z=m.z),
        "reconstruct": job.call(m.dir, "reconstruct", x=m.x),
        "serving_default": job.call(m.dir, "serving_default", x=m.x),
        "sample": job.call(m.dir, "sample", seed=SEEDS),
        "score": job.call(m.dir, "score", x=m.x),
    }
    if m.combo in TF1_COMBOS:
        for name, inputs in [("encode", {"x": m.x}), ("decode", {"z": m.z}),
                             ("reconstruct", {"x": m.x}), ("serving_default", {"x": m.x}),
                             ("sample", {"seed": SEEDS}), ("score", {"x": m.x})]:
            h["tf1/" + name] = job.call(m.dir, name, loader="tf1", **inputs)
    return h


SEED_BATCHES = {"a": [5, 6, 7], "b": [7], "c": [7, 5, 5, 9, -3]}


def queue_cross_process_calls(job: ServingJob, exported: dict, seeded_dir) -> dict:
    """Calls repeated in two processes: the sample seed contract and fresh noise."""
    model = exported["mlp-conv-gaussian"]
    h = {f"sample/{k}": job.call(model.dir, "sample", seed=np.array(v, np.int64))
         for k, v in SEED_BATCHES.items()}
    h["sample/tf1"] = job.call(model.dir, "sample", loader="tf1",
                               seed=np.array(SEED_BATCHES["a"], np.int64))
    x = make_data("bernoulli", n=2)
    h["encode"] = job.call(seeded_dir, "encode", repeat=2, x=x)
    h["decode"] = job.call(seeded_dir, "decode", repeat=2, z=np.zeros((2, LATENT), "float32"))
    return h


@pytest.fixture(scope="module")
def seeded_export(tmp_path_factory):
    """A model exported right after tf.random.set_seed: its noise must still be fresh."""
    tf.random.set_seed(0)
    vae = make_vae(PLAIN, seed=3)
    return export_mod.export_vae(vae, tmp_path_factory.mktemp("seeded"))


REST_BODIES = {
    "encode_rows": lambda m: {"signature_name": "encode", "instances": m.x.tolist()},
    "encode_named_rows": lambda m: {"signature_name": "encode",
                                    "instances": [{"x": xi} for xi in m.x.tolist()]},
    "encode_columns": lambda m: {"signature_name": "encode", "inputs": {"x": m.x.tolist()}},
    "decode_columns_bare": lambda m: {"signature_name": "decode", "inputs": m.z.tolist()},
    "decode_rows": lambda m: {"signature_name": "decode", "instances": m.z.tolist()},
    "default_rows": lambda m: {"instances": m.x.tolist()},
    "reconstruct_columns": lambda m: {"signature_name": "reconstruct",
                                      "inputs": {"x": m.x.tolist()}},
    "sample_rows": lambda m: {"signature_name": "sample", "instances": SEEDS.tolist()},
    "sample_columns": lambda m: {"signature_name": "sample", "inputs": {"seed": SEEDS.tolist()}},
    "score_rows": lambda m: {"signature_name": "score", "instances": m.x.tolist()},
}


@pytest.fixture(scope="module")
def jobs(exported, seeded_export, tmp_path_factory):
    """Every queued call, run in clean worker processes that run side by side: the
    main job (split over two processes by model) and a second, independent process
    repeating the cross-process calls."""
    main = ServingJob(tmp_path_factory.mktemp("job"))
    for m in exported.values():
        m.h = queue_model_calls(main, m)
    plain = exported[PLAIN]
    extra = {
        "inspect": main.inspect(plain.dir),
        "warmup": main.replay_warmup(plain.dir),
        "rest": {name: main.rest(plain.dir, body(plain)) for name, body in REST_BODIES.items()},
        "cross": queue_cross_process_calls(main, exported, seeded_export),
    }
    again = ServingJob(tmp_path_factory.mktemp("job2"))
    handles = queue_cross_process_calls(again, exported, seeded_export)
    main.start(processes=2)
    again.start()
    return (main.wait(), extra), (again.wait(), handles)


@pytest.fixture(scope="module")
def served(jobs):
    return jobs[0]


@pytest.fixture(scope="module")
def served_again(jobs):
    """The cross-process calls again, from a second fresh process."""
    return jobs[1]


# --------------------------------------------------- numbers vs the Keras model
@pytest.mark.slow
def test_serving_process_cannot_import_keras_vae_or_tfp(served):
    results, _ = served
    for name in ("keras_vae", "tensorflow_probability", "keras"):
        assert "blocked" in results.blocked_imports[name], results.blocked_imports
    assert results.leaked_modules == []


@pytest.mark.slow
@pytest.mark.parametrize("combo", COMBOS + ["mixed"])
def test_encode_matches_keras(combo, exported, served):
    results, _ = served
    m = exported[combo]
    tol = TOL if combo != "mixed" else dict(rtol=1e-3, atol=1e-3)
    first, second = results[m.h["encode"]]
    assert sorted(first) == ["mean", "stddev", "z"]
    assert all(v.dtype == np.float32 for v in first.values())
    np.testing.assert_allclose(first["mean"], m.ref["mean"], **tol)
    np.testing.assert_allclose(first["stddev"], m.ref["stddev"], **tol)
    np.testing.assert_array_equal(first["mean"], second["mean"])
    # z is one reparameterized sample: plausible under q, and fresh on every call.
    assert first["z"].shape == (BATCH, LATENT)
    standardized = (first["z"] - first["mean"]) / first["stddev"]
    assert np.all(np.abs(standardized) < 8)
    assert not np.array_equal(first["z"], second["z"])


@pytest.mark.slow
@pytest.mark.parametrize("combo", COMBOS + ["mixed"])
def test_decode_matches_keras(combo, exported, served):
    results, _ = served
    m = exported[combo]
    tol = TOL if combo != "mixed" else dict(rtol=1e-3, atol=1e-3)
    first, second = results[m.h["decode"]]
    assert sorted(first) == ["x_mean", "x_sample"]
    assert all(v.dtype == np.float32 for v in first.values())
    np.testing.assert_allclose(first["x_mean"], m.ref["decode"], **tol)
    assert first["x_sample"].shape == (BATCH, *SHAPE)
    assert not np.array_equal(first["x_sample"], second["x_sample"])
    if combo.endswith("bernoulli"):
        assert set(np.unique(first["x_sample"])) <= {0.0, 1.0}


@pytest.mark.slow
@pytest.mark.parametrize("combo", COMBOS + ["mixed"])
def test_reconstruct_and_serving_default_match_keras(combo, exported, served):
    results, _ = served
    m = exported[combo]
    tol = TOL if combo != "mixed" else dict(rtol=1e-3, atol=1e-3)
    out = results[m.h["reconstruct"]]
    assert list(out) == ["reconstruction"] and out["reconstruction"].dtype == np.float32
    np.testing.assert_allclose(out["reconstruction"], m.ref["reconstruct"], **tol)
    np.testing.assert_array_equal(
        results[m.h["serving_default"]]["reconstruction"], out["reconstruction"]
    )


@pytest.mark.slow
@pytest.mark.parametrize("combo", COMBOS + ["mixed"])
def test_sample_matches_keras_sample_with_the_same_seed(combo, exported, served):
    results, _ = served
    m = exported[combo]
    tol = TOL if combo != "mixed" else dict(rtol=1e-3, atol=1e-3)
    out = results[m.h["sample"]]["x"]
    assert out.dtype == np.float32 and out.shape == (len(SEEDS), *SHAPE)
    # Row i is vae.sample(1, seed=SEEDS[i]): the same function of the seed.
    np.testing.assert_allclose(out, m.ref["sample"], **tol)


@pytest.mark.slow
@pytest.mark.parametrize("combo", COMBOS + ["mixed"])
def test_score_matches_keras_elbo_with_the_score_seed(combo, exported, served):
    results, _ = served
    m = exported[combo]
    tol = TOL if combo != "mixed" else dict(rtol=1e-3, atol=1e-2)
    out = results[m.h["score"]]
    assert sorted(out) == ["elbo", "kl", "log_px", "reconstruction_log_prob"]
    for name in ("log_px", "elbo", "reconstruction_log_prob", "kl"):
        assert out[name].dtype == np.float32 and out[name].shape == (BATCH,)
        np.testing.assert_allclose(out[name], m.ref[name], **tol)
    np.testing.assert_allclose(out["elbo"], out["reconstruction_log_prob"] - out["kl"], **TOL)
    # The KL is analytic here: exactly the closed form from the posterior parameters.
    mean, std = m.ref["mean"], m.ref["stddev"]
    closed_form = 0.5 * np.sum(mean**2 + std**2 - 1.0 - 2.0 * np.log(std), axis=-1)
    np.testing.assert_allclose(out["kl"], closed_form, rtol=1e-4, atol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("combo", TF1_COMBOS)
def test_tf1_loader_gives_the_same_numbers(combo, exported, served):
    """tf.compat.v1.saved_model.loader in a Session, as TF Serving loads the model."""
    results, _ = served
    m = exported[combo]
    for name in ("encode", "decode"):
        tf1, tf2 = results[m.h["tf1/" + name]], results[m.h[name]][0]
        assert sorted(tf1) == sorted(tf2)
    np.testing.assert_allclose(results[m.h["tf1/encode"]]["mean"], m.ref["mean"], **TOL)
    np.testing.assert_allclose(results[m.h["tf1/decode"]]["x_mean"], m.ref["decode"], **TOL)
    for name in ("reconstruct", "serving_default", "sample", "score"):
        tf1, tf2 = results[m.h["tf1/" + name]], results[m.h[name]]
        assert sorted(tf1) == sorted(tf2)
        for key in tf2:
            np.testing.assert_allclose(tf1[key], tf2[key], **TOL)


@pytest.mark.slow
def test_signature_defs_have_named_inputs_float32_outputs_and_batch_minus_one(served):
    results, extra = served
    sigs = results[extra["inspect"]]
    assert set(sigs) == ALL_SIGNATURES
    expected_inputs = {
        "encode": {"x": ["float32", [-1, *SHAPE]]},
        "decode": {"z": ["float32", [-1, LATENT]]},
        "reconstruct": {"x": ["float32", [-1, *SHAPE]]},
        "serving_default": {"x": ["float32", [-1, *SHAPE]]},
        "sample": {"seed": ["int64", [-1]]},
        "score": {"x": ["float32", [-1, *SHAPE]]},
    }
    expected_outputs = {
        "encode": {"mean", "stddev", "z"},
        "decode": {"x_mean", "x_sample"},
        "reconstruct": {"reconstruction"},
        "serving_default": {"reconstruction"},
        "sample": {"x"},
        "score": {"log_px", "elbo", "reconstruction_log_prob", "kl"},
    }
    for name in ALL_SIGNATURES:
        assert sigs[name]["inputs"] == expected_inputs[name], name
        assert set(sigs[name]["outputs"]) == expected_outputs[name], name
        for dtype, shape in sigs[name]["outputs"].values():
            assert dtype == "float32" and shape[0] == -1, (name, dtype, shape)
        assert sigs[name]["method_name"] == "tensorflow/serving/predict"


# ------------------------------------------------------------ saved_model_cli
@pytest.mark.slow
def test_saved_model_cli_show_lists_every_signature(exported, tmp_path):
    text = saved_model_cli("show", "--all", "--dir", exported[PLAIN].dir, workdir=str(tmp_path))
    shown = set(re.findall(r"signature_def\['([^']+)'\]", text))
    assert ALL_SIGNATURES <= shown, text
    blocks = re.split(r"signature_def\['", text)
    for block in blocks[1:]:
        name = block.split("'")[0]
        if name not in ALL_SIGNATURES:
            continue
        shapes = re.findall(r"shape: \(([^)]*)\)", block)
        assert shapes and all(s.split(",")[0].strip() == "-1" for s in shapes), (name, shapes)
    assert "shape: (-1, 8, 8, 1)" in text and "shape: (-1, 3)" in text and "shape: (-1)" in text


@pytest.mark.slow
def test_saved_model_cli_run_executes_encode(exported, tmp_path):
    m = exported[PLAIN]
    outdir = tmp_path / "out"
    saved_model_cli(
        "run", "--dir", m.dir, "--tag_set", "serve", "--signature_def", "encode",
        "--input_exprs", f"x={np.full((2, *SHAPE), 0.5).tolist()}",
        "--outdir", str(outdir), workdir=str(tmp_path),
    )
    x = np.full((2, *SHAPE), 0.5, np.float32)
    np.testing.assert_allclose(np.load(outdir / "mean.npy"), m.vae.posterior(x).mean(), **TOL)
    np.testing.assert_allclose(np.load(outdir / "stddev.npy"), m.vae.posterior(x).stddev(), **TOL)
    assert np.load(outdir / "z.npy").shape == (2, LATENT)


# -------------------------------------------------------------- seeds & noise
@pytest.mark.slow
def test_sample_is_a_pure_function_of_each_seed_across_processes(served, served_again):
    (one, extra), (two, handles) = served, served_again
    first = {k: one[extra["cross"][f"sample/{k}"]]["x"] for k in SEED_BATCHES}
    second = {k: two[handles[f"sample/{k}"]]["x"] for k in SEED_BATCHES}
    for k in SEED_BATCHES:  # same seeds, fresh process: bit-identical
        np.testing.assert_array_equal(first[k], second[k])
    np.testing.assert_array_equal(one[extra["cross"]["sample/tf1"]]["x"], first["a"])
    a, b, c = first["a"], first["b"], first["c"]
    # Independent of batch composition: seed 7 alone, last of three, first of five.
    np.testing.assert_allclose(b[0], a[2], rtol=0, atol=1e-6)
    np.testing.assert_allclose(c[0], a[2], rtol=0, atol=1e-6)
    np.testing.assert_allclose(c[1], a[0], rtol=0, atol=1e-6)
    np.testing.assert_array_equal(c[1], c[2])  # a repeated seed repeats the example
    # Different seeds give different examples.
    rows = [a[0], a[1], a[2], c[3], c[4]]
    for i, j in itertools.combinations(range(len(rows)), 2):
        assert np.max(np.abs(rows[i] - rows[j])) > 1e-4, (i, j)


@pytest.mark.slow
def test_noise_is_fresh_per_call_and_per_process_despite_a_global_seed(served, served_again):
    """The model was exported after tf.random.set_seed(0); a restarted server must
    still not replay the same encode/decode noise."""
    (one, extra), (two, handles) = served, served_again
    for name, key in (("encode", "z"), ("decode", "x_sample")):
        runs = one[extra["cross"][name]] + two[handles[name]]
        values = [r[key] for r in runs]
        for i, j in itertools.combinations(range(len(values)), 2):
            assert not np.array_equal(values[i], values[j]), (name, i, j)
    for r in one[extra["cross"]["encode"]] + two[handles["encode"]]:
        np.testing.assert_array_equal(r["mean"], one[extra["cross"]["encode"]][0]["mean"])


# ------------------------------------------------------------------- warm-up
@pytest.mark.slow
def test_warmup_records_parse_and_replay(served):
    results, extra = served
    replayed = results[extra["warmup"]]
    assert sorted(r["signature"] for r in replayed) == sorted(ALL_SIGNATURES)
    for r in replayed:
        assert r["log_type"] == "predict_log" and r["finite"] and r["batch"] == 1, r
    by_name = {r["signature"]: r for r in replayed}
    assert by_name["sample"]["inputs"] == {"seed": ["int64", [1]]}
    assert by_name["encode"]["inputs"] == {"x": ["float32", [1, *SHAPE]]}
    assert by_name["decode"]["outputs"] == {"x_mean": [1, *SHAPE], "x_sample": [1, *SHAPE]}


def _read_warmup(directory) -> list:
    from tensorflow_serving.apis import prediction_log_pb2

    path = os.path.join(directory, export_mod.WARMUP_FILE)
    return [
        prediction_log_pb2.PredictionLog.FromString(r)
        for r in tf.data.TFRecordDataset(path).as_numpy_iterator()
    ]


def test_warmup_uses_the_given_batch(tmp_path):
    vae = make_vae(PLAIN)
    x = make_data(PLAIN, n=3)
    directory = export_mod.export_vae(vae, tmp_path, warmup=True, warmup_batch=x)
    logs = {log.predict_log.request.model_spec.signature_name: log.predict_log.request
            for log in _read_warmup(directory)}
    assert set(logs) == ALL_SIGNATURES
    np.testing.assert_array_equal(tf.make_ndarray(logs["encode"].inputs["x"]), x)
    np.testing.assert_array_equal(tf.make_ndarray(logs["sample"].inputs["seed"]), [0, 1, 2])
    assert tf.make_ndarray(logs["decode"].inputs["z"]).shape == (3, LATENT)


def test_warmup_without_serving_api(tmp_path, monkeypatch):
    vae = make_vae(PLAIN)
    monkeypatch.setattr(export_mod.warmup, "_serving_api_available", lambda: False)
    with pytest.warns(UserWarning, match="tensorflow-serving-api"):
        first = export_mod.export_vae(vae, tmp_path, warmup=True)
    assert not os.path.exists(os.path.join(first, "assets.extra"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = export_mod.export_vae(vae, tmp_path)  # "auto": skipped without a word
    assert not os.path.exists(os.path.join(second, "assets.extra"))
    with pytest.raises(ValueError, match="warmup"):
        export_mod.export_vae(vae, tmp_path, warmup="yes")


# ------------------------------------------------------------------ REST
def test_rest_translation_follows_the_documented_formats():
    dtypes = {"x": np.float32}
    rows = [[1.0, 2.0], [3.0, 4.0]]
    for body in ({"instances": rows}, {"instances": [{"x": r} for r in rows]},
                 {"inputs": rows}, {"inputs": {"x": rows}}):
        signature, feeds, row = rest_to_feeds(body, dtypes)
        assert signature == "serving_default" and row == ("instances" in body)
        np.testing.assert_array_equal(feeds["x"], np.array(rows, np.float32))
        assert feeds["x"].dtype == np.float32
    two = {"a": np.float32, "b": np.int64}
    _, feeds, _ = rest_to_feeds({"instances": [{"a": 1.0, "b": 2}, {"a": 3.0, "b": 4}]}, two)
    assert feeds["b"].dtype == np.int64 and feeds["b"].tolist() == [2, 4]
    for bad in ({"instances": rows, "inputs": rows}, {"instances": []},
                {"instances": [[1.0], {"x": [1.0]}]}, {"inputs": {"y": rows}},
                {"instances": [{"x": [1.0]}, {"y": [1.0]}]}):
        with pytest.raises(ValueError):
            rest_to_feeds(bad, dtypes)
    with pytest.raises(ValueError):
        rest_to_feeds({"instances": [1.0]}, two)
    out = {"m": np.array([[1.0], [2.0]]), "s": np.array([3.0, 4.0])}
    assert rest_response(out, True) == {"predictions": [{"m": [1.0], "s": 3.0},
                                                        {"m": [2.0], "s": 4.0}]}
    assert rest_response(out, False) == {"outputs": {"m": [[1.0], [2.0]], "s": [3.0, 4.0]}}
    assert rest_response({"m": out["s"]}, True) == {"predictions": [3.0, 4.0]}
    assert rest_response({"m": out["s"]}, False) == {"outputs": [3.0, 4.0]}


def _columns(response: dict) -> dict:
    """Row or columnar response -> {output: array}."""
    if "outputs" in response:
        out = response["outputs"]
        return {k: np.array(v) for k, v in out.items()} if isinstance(out, dict) else {"": np.array(out)}
    preds = response["predictions"]
    if isinstance(preds[0], dict):
        return {k: np.array([p[k] for p in preds]) for k in preds[0]}
    return {"": np.array(preds)}


@pytest.mark.slow
def test_rest_bodies_in_row_and_columnar_format(exported, served):
    results, extra = served
    m = exported[PLAIN]
    got = {name: _columns(results[h]) for name, h in extra["rest"].items()}
    for name in ("encode_rows", "encode_named_rows", "encode_columns"):
        assert set(got[name]) == {"mean", "stddev", "z"}, name
        np.testing.assert_allclose(got[name]["mean"], m.ref["mean"], **TOL)
        np.testing.assert_allclose(got[name]["stddev"], m.ref["stddev"], **TOL)
        assert got[name]["z"].shape == (BATCH, LATENT)
    for name in ("decode_columns_bare", "decode_rows"):
        np.testing.assert_allclose(got[name]["x_mean"], m.ref["decode"], **TOL)
    np.testing.assert_allclose(got["default_rows"][""], m.ref["reconstruct"], **TOL)
    np.testing.assert_allclose(got["reconstruct_columns"][""], m.ref["reconstruct"], **TOL)
    for name in ("sample_rows", "sample_columns"):
        np.testing.assert_allclose(got[name][""], m.ref["sample"], **TOL)
    np.testing.assert_allclose(got["score_rows"]["elbo"], m.ref["elbo"], **TOL)
    assert json.dumps(results[extra["rest"]["score_rows"]])  # a JSON response


# --------------------------------------------------------- layout and errors
def test_versions_are_numbered_published_atomically_and_protected(tmp_path):
    vae = make_vae(PLAIN)
    base = tmp_path / "m"
    assert export_mod.export_vae(vae, base, warmup=False) == str(base / "1")
    assert not os.path.exists(base / "1" / "assets.extra")  # warmup=False
    assert vae.export(base, warmup=False) == str(base / "2")  # the VAE method
    assert sorted(os.listdir(base)) == ["1", "2"]  # no staging directory left behind
    with pytest.raises(ValueError, match="already holds a model.*overwrite=True"):
        export_mod.export_vae(vae, base, version=2)
    stamp = base / "2" / "stale"
    stamp.write_text("")
    assert export_mod.export_vae(vae, base, version=2, overwrite=True) == str(base / "2")
    assert not stamp.exists() and (base / "2" / "saved_model.pb").exists()


def test_version_resolution(tmp_path):
    resolve = export_mod._resolve_target
    base = tmp_path / "m"
    assert resolve(base, None, False) == (str(base), 1)  # a new base starts at 1
    for name in ("1", "2", "notes", ".tmp-export-3-x"):  # only integer names count
        (base / name).mkdir(parents=True)
        (base / name / "saved_model.pb").write_text("")
    assert resolve(base, None, False) == (str(base), 3)
    assert resolve(base, 7, False) == (str(base), 7)
    (base / "7").mkdir()  # an empty version directory may be filled ...
    assert resolve(base, 7, False) == (str(base), 7)
    assert resolve(base, None, False) == (str(base), 8)  # ... and counts as taken
    with pytest.raises(ValueError, match=r"already holds a model.*next free one \(8\)"):
        resolve(base, 2, False)
    assert resolve(base, 2, True) == (str(base), 2)
    # The quick-start form vae.export("serving/vae/1"): an integer last component
    # is the version directory.
    assert resolve(tmp_path / "q" / "3", None, False) == (str(tmp_path / "q"), 3)
    with pytest.raises(ValueError, match="already holds a model"):
        resolve(base / "1", None, False)
    with pytest.raises(ValueError, match="is itself a SavedModel"):
        resolve(base / "1", 1, False)
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="not a directory"):
        resolve(tmp_path / "file", None, False)
    for bad in (-1, 1.5, "2", True):
        with pytest.raises(ValueError, match="version"):
            resolve(base, bad, False)


def test_unbuilt_model_is_a_clear_error(tmp_path):
    vae = kv.VAE(encoder="mlp", decoder="mlp", latent_dim=2)
    with pytest.raises(ValueError, match="not built.*input_shape"):
        vae.export(tmp_path)
    assert not os.listdir(tmp_path)


def test_bad_serving_default_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="serving_default"):
        export_mod.export_vae(make_vae(PLAIN), tmp_path, serving_default="predict")


class PythonIfEncoder(keras.layers.Layer):
    """Eagerly fine, but branches in Python on a tensor value: not traceable."""

    def call(self, x):
        h = keras.ops.reshape(x, (keras.ops.shape(x)[0], -1))
        if keras.ops.sum(h) > 0:
            return h
        return -h


def test_untraceable_component_names_signature_and_component(tmp_path):
    vae = kv.VAE(encoder=PythonIfEncoder(), decoder="mlp", latent_dim=2, input_shape=(4,),
                 likelihood="gaussian")
    with pytest.raises(ValueError, match=r"(?s)'reconstruct' signature: the encoder "
                                         r"\(PythonIfEncoder\).*autograph=False"):
        vae.export(tmp_path)
    assert os.listdir(tmp_path) == []  # traced before anything is written


def test_serving_default_can_be_changed_and_inputs_are_validated(tmp_path):
    vae = make_vae(PLAIN)
    directory = export_mod.export_vae(vae, tmp_path, serving_default="encode", warmup=False)
    loaded = tf.saved_model.load(directory)
    x = make_data(PLAIN, n=2)
    out = loaded.signatures["serving_default"](x=tf.constant(x))
    assert sorted(out) == ["mean", "stddev", "z"]
    np.testing.assert_allclose(out["mean"], vae.posterior(x).mean(), **TOL)
    # The model's input checks travel with the graph: a bad request is an
    # INVALID_ARGUMENT error that says what is wrong, not a silent garbage answer.
    for bad, message in ((x + 1.0, "likelihood needs data in"), (x * np.nan, "NaN")):
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            loaded.signatures["score"](x=tf.constant(bad))


class UnnamedPosterior(kv.posteriors.DiagonalGaussianPosterior):
    """A posterior that does not implement natural_parameters."""

    def natural_parameters(self, params):
        raise NotImplementedError


def test_encode_falls_back_to_the_point_without_natural_parameters(tmp_path):
    # A posterior that names no parameters (e.g. a flow, whose q has no mean()) is
    # served by its representative point (Posterior.point) and a sample.
    vae = kv.VAE(encoder="mlp", decoder="mlp", posterior=UnnamedPosterior(), latent_dim=2,
                 input_shape=(4,), likelihood="gaussian")
    loaded = tf.saved_model.load(export_mod.export_vae(vae, tmp_path, warmup=False))
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    out = loaded.signatures["encode"](x=tf.constant(x))
    assert sorted(out) == ["point", "z"]
    np.testing.assert_allclose(out["point"], vae.encode(x), **TOL)
