"""The VQ-VAE (issue 21): quantizer, model, prior, bad input, save / load / resume."""
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_vae as kv
from keras_vae.quantizers import VectorQuantizer

SMALL = dict(encoder={"name": "conv", "filters": [8, 8]}, decoder={"name": "conv", "filters": [8, 8]},
             num_embeddings=16, embedding_dim=4, input_shape=(8, 8, 1),
             prior={"name": "pixelcnn", "filters": 8, "num_layers": 2, "kernel_size": 3})


def _images(n=64, seed=0):
    return np.random.default_rng(seed).uniform(-0.5, 0.5, size=(n, 8, 8, 1)).astype("float32")


def _state(model):
    return [np.array(v) for v in model.weights]


def _mnist_sample():
    path = os.path.join(os.path.dirname(kv.__file__), "data", "mnist_sample.npz")
    data = np.load(path)
    scale = lambda x: (x.astype("float32") / 255.0 - 0.5)[..., None]  # noqa: E731
    return scale(data["x_train"]), scale(data["x_test"])


# ------------------------------------------------------------------ quantizer
def test_straight_through_gradient_is_exact():
    vq = VectorQuantizer(num_embeddings=8, embedding_dim=3, codebook_init="uniform")
    z_e = tf.Variable(np.random.default_rng(0).normal(size=(4, 5, 5, 3)).astype("float32"))
    w = tf.constant(np.random.default_rng(1).normal(size=(4, 5, 5, 3)).astype("float32"))
    loss_fn = lambda q: tf.reduce_sum(tf.sin(q) * w) + tf.reduce_sum(q**3)  # noqa: E731
    with tf.GradientTape() as tape:
        out = vq(z_e)
        loss = loss_fn(out["quantized"])
    grad_e = tape.gradient(loss, z_e)
    # The forward value is the nearest code (z_e + (z_q - z_e): z_q up to float rounding).
    np.testing.assert_allclose(out["quantized"].numpy(), vq.lookup(out["indices"]).numpy(), atol=1e-6)
    z_q = tf.Variable(out["quantized"])
    with tf.GradientTape() as tape:
        loss_q = loss_fn(z_q)
    grad_q = tape.gradient(loss_q, z_q)
    np.testing.assert_array_equal(grad_e.numpy(), grad_q.numpy())  # dL/dz_e = dL/dz_q, bit for bit
    # The commitment term's own gradient is 2 beta (z_e - z_q), per example.
    with tf.GradientTape() as tape:
        commitment = tf.reduce_sum(vq(z_e)["commitment_loss"])
    np.testing.assert_allclose(tape.gradient(commitment, z_e).numpy(), 2 * 0.25 * (z_e.numpy() - vq.lookup(out["indices"]).numpy()), atol=1e-5)


def _mixture(n, seed):
    """16 well-separated 2-D Gaussians (centres on a 4x4 grid 10 apart, std 0.3)."""
    rng = np.random.default_rng(seed)
    centres = np.stack(np.meshgrid(np.arange(4), np.arange(4)), -1).reshape(-1, 2) * 10.0 - 15.0
    return (centres[rng.integers(0, 16, n)] + rng.normal(0, 0.3, (n, 2))).astype("float32")


def _train_identity_encoder(vq, steps=150, batch=256):
    """The quantizer alone (an identity encoder): codebook loss (a gradient codebook) or EMA."""
    data = _mixture(steps * batch, seed=1).reshape(steps, batch, 2)
    vq.build((None, 2))
    optimizer = keras.optimizers.Adam(0.05)
    variables = vq.trainable_variables

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            out = vq(x, training=True)
            loss = tf.reduce_mean(out["codebook_loss"] + out["commitment_loss"])
        if variables:
            optimizer.apply(tape.gradient(loss, variables), variables)

    for x in data:
        step(x)
    out = vq(_mixture(4096, seed=2))
    return float(out["perplexity"]), float(out["codes_in_use"]) * 16


@pytest.mark.parametrize("ema_decay", [0.99, None])
def test_kmeans_and_restarts_keep_all_16_codes_of_a_16_gaussian_mixture(ema_decay, capsys):
    healthy = _train_identity_encoder(
        VectorQuantizer(16, 2, ema_decay=ema_decay, codebook_init="kmeans", dead_code_steps=10, seed=3)
    )
    bare = _train_identity_encoder(
        VectorQuantizer(16, 2, ema_decay=ema_decay, codebook_init="uniform", dead_code_steps=None, seed=3)
    )
    with capsys.disabled():
        print(f"\n16 Gaussians, ema_decay={ema_decay}: k-means + restarts perplexity {healthy[0]:.2f}, "
              f"{healthy[1]:.0f} codes used; uniform init, no restarts perplexity {bare[0]:.2f}, "
              f"{bare[1]:.0f} codes used")
    assert healthy[0] > 15.0 and healthy[1] == 16
    assert bare[0] < 8.0 and bare[1] < 12  # the collapse the defence prevents


def test_restarts_alone_revive_dead_codes():
    perplexity, used = _train_identity_encoder(
        VectorQuantizer(16, 2, ema_decay=0.99, codebook_init="uniform", dead_code_steps=5, seed=4), steps=200
    )
    assert used == 16 and perplexity > 12.0


# ----------------------------------------------------------------- the model
def test_fit_reports_the_vq_metrics_and_codes_round_trip():
    keras.utils.set_random_seed(0)
    vq = kv.VQVAE(**SMALL, seed=0)
    vq.compile(optimizer=keras.optimizers.Adam(1e-2))
    x = _images()
    history = vq.fit(x, epochs=3, batch_size=32, verbose=0).history
    assert set(history) == {"loss", "reconstruction_loss", "codebook_loss", "commitment_loss", "perplexity",
                            "codes_in_use"}
    assert history["loss"][-1] < history["loss"][0]
    assert 1.0 <= history["perplexity"][-1] <= 16.0 and 0 < history["codes_in_use"][-1] <= 1.0
    codes = vq.codes(x)
    assert codes.shape == (64, 2, 2) and codes.dtype == np.int32
    np.testing.assert_allclose(vq.decode_codes(codes).numpy(), vq.reconstruct(x), atol=1e-5)
    np.testing.assert_array_equal(vq.codes(tf.data.Dataset.from_tensor_slices(x).batch(10)), codes)
    # sample_weight is honoured (a zero weight ignores the example in the metrics).
    weights = np.r_[np.ones(32), np.zeros(32)].astype("float32")
    scores = vq.evaluate(x, sample_weight=weights, batch_size=64, verbose=0, return_dict=True)
    first = vq.evaluate(x[:32], batch_size=64, verbose=0, return_dict=True)
    np.testing.assert_allclose(scores["reconstruction_loss"], first["reconstruction_loss"], rtol=1e-4)


def test_any_likelihood_on_the_decoder_output():
    x = np.random.default_rng(0).integers(0, 256, size=(16, 8, 8, 1)).astype("float32")
    vq = kv.VQVAE(**{**SMALL, "prior": None}, likelihood="logistic_mixture", seed=0)
    vq.compile(optimizer="adam")
    history = vq.fit(x, epochs=1, batch_size=16, verbose=0).history
    assert np.isfinite(history["reconstruction_loss"][0])
    assert vq.likelihood_layer.discrete
    # The paper's figure: (-log p(x|z_q) + code length) / (D ln 2), with log K per code here.
    recon = vq.evaluate(x, batch_size=16, verbose=0, return_dict=True)["reconstruction_loss"]
    expected = (recon + 4 * np.log(16)) / (64 * np.log(2))
    np.testing.assert_allclose(vq.bits_per_dim(x, prior="uniform"), expected, rtol=1e-4)
    with pytest.raises(ValueError, match="no prior"):
        vq.bits_per_dim(x)
    with pytest.raises(ValueError, match="discrete likelihood"):
        kv.VQVAE(**SMALL).bits_per_dim(_images(4), prior="uniform")


def test_bad_input_is_refused_before_any_state_changes():
    with pytest.raises(ValueError, match="num_embeddings must be an integer >= 2"):
        kv.VQVAE(**{**SMALL, "num_embeddings": 1})
    with pytest.raises(ValueError, match="embedding_dim=4 does not match the encoder's 6 output channels"):
        kv.VQVAE(**{**SMALL, "encoder": {"name": "conv", "filters": [8], "channels": 6}})
    with pytest.raises(ValueError, match="needs a grid"):
        kv.VQVAE(**{**SMALL, "encoder": "mlp"})
    vq = kv.VQVAE(**SMALL, seed=0)
    vq.compile(optimizer="adam")
    before = _state(vq)
    with pytest.raises(ValueError, match="fit_prior needs a trained VQ-VAE"):
        vq.fit_prior(_images(), epochs=1)
    unbuilt = kv.VQVAE(**{**SMALL, "input_shape": None})
    with pytest.raises(ValueError, match="not built"):
        unbuilt.fit_prior(_images(), epochs=1)
    with pytest.raises(ValueError, match="code index 16 is outside the codebook"):
        vq.decode_codes(np.full((1, 2, 2), 16))
    with pytest.raises(ValueError, match="outside the codebook"):
        vq.decode_codes(np.full((1, 2, 2), -1))
    with pytest.raises(ValueError, match="codes have shape"):
        vq.decode_codes(np.zeros((1, 3, 3), "int32"))
    with pytest.raises(ValueError, match="NaN"):
        vq.fit(np.full((8, 8, 8, 1), np.nan, "float32"), verbose=0)
    for a, b in zip(before, _state(vq)):
        np.testing.assert_array_equal(a, b)
    assert int(vq.optimizer.iterations) == 0 and int(vq.quantizer.step) == 0


@pytest.mark.xla  # the default path (XLA on a CPU) for this family
def test_save_load_and_resume_exactly_with_the_prior(tmp_path):
    keras.utils.set_random_seed(1)
    x = _images(64)
    vq = kv.VQVAE(**SMALL, seed=5, dead_code_steps=2)
    vq.compile(optimizer=keras.optimizers.Adam(1e-2))
    vq.fit(x, epochs=2, batch_size=16, shuffle=False, verbose=0)
    vq.fit_prior(x, epochs=1, batch_size=16, verbose=0)
    vq.save(tmp_path / "vq.keras")
    loaded = kv.load_model(tmp_path / "vq.keras")
    assert isinstance(loaded, kv.VQVAE)
    names = {v.path.split("/")[-1] for v in vq.quantizer.weights}
    assert names == {"codebook", "ema_count", "ema_sum", "unused_steps", "step", "initialized"}
    for a, b in zip(vq.weights, loaded.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=a.path)
    np.testing.assert_array_equal(vq.sample(4, seed=3).numpy(), loaded.sample(4, seed=3).numpy())
    np.testing.assert_array_equal(vq.codes(x), loaded.codes(x))
    assert int(loaded.prior_optimizer.iterations) == int(vq.prior_optimizer.iterations) == 4
    # Resume: the optimizers, the EMA state and the restart counters came back too.
    vq.fit(x, epochs=1, batch_size=16, shuffle=False, verbose=0)
    loaded.fit(x, epochs=1, batch_size=16, shuffle=False, verbose=0)
    vq.fit_prior(x, epochs=1, batch_size=16, verbose=0, shuffle=False)
    loaded.fit_prior(x, epochs=1, batch_size=16, verbose=0, shuffle=False)
    for a, b in zip(vq.weights, loaded.weights):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6, err_msg=a.path)


# ------------------------------------------------------------------- the prior
def test_pixelcnn_is_causal():
    prior = kv.code_priors.PixelCNNPrior(filters=8, num_layers=3, kernel_size=3, num_embeddings=5, grid_shape=(4, 4))
    codes = np.random.default_rng(0).integers(0, 5, size=(2, 4, 4)).astype("int32")
    base = prior(codes).numpy().reshape(2, 16, 5)
    for p in range(16):
        changed = codes.copy().reshape(2, 16)
        changed[:, p:] = (changed[:, p:] + 1) % 5  # everything at and after p
        logits = prior(changed.reshape(2, 4, 4)).numpy().reshape(2, 16, 5)
        np.testing.assert_array_equal(logits[:, : p + 1], base[:, : p + 1], err_msg=f"position {p}")
        if p + 1 < 16:  # and the next position does see p (no blind spot to the left)
            assert not np.array_equal(logits[:, p + 1], base[:, p + 1])


def test_sampling_is_one_compiled_loop_and_seeded():
    prior = kv.code_priors.PixelCNNPrior(filters=8, num_layers=2, num_embeddings=5, grid_shape=(3, 4))
    a, b = prior.sample(6, seed=1), prior.sample(6, seed=1)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert a.shape == (6, 3, 4) and a.dtype == tf.int32
    prior.sample(6, seed=2)
    assert len(prior._sampler._list_all_concrete_functions()) == 1  # no retrace, no per-position calls


def test_the_prior_beats_the_unigram_entropy_and_log2_k_on_mnist(capsys):
    x_train, x_test = _mnist_sample()
    x_train, x_test = x_train[:1536], x_test[:500]
    keras.utils.set_random_seed(0)
    vq = kv.VQVAE(encoder={"name": "conv", "filters": [16, 32]}, decoder={"name": "conv", "filters": [32, 16]},
                  num_embeddings=32, embedding_dim=8, input_shape=(28, 28, 1),
                  prior={"name": "pixelcnn", "filters": 32, "num_layers": 4}, seed=0)
    vq.compile(optimizer=keras.optimizers.Adam(2e-3))
    vq.fit(x_train, epochs=2, batch_size=64, verbose=0)
    vq.fit_prior(x_train, epochs=3, batch_size=64, verbose=0)
    test_codes = vq.codes(x_test)
    stats = vq.code_statistics(codes=test_codes)
    bits = vq.prior_bits_per_code(codes=test_codes)
    with capsys.disabled():
        print(f"\nMNIST sample: prior {bits:.3f} bits/code, unigram {stats['unigram_bits']:.3f}, "
              f"log2 K {stats['uniform_bits']:.3f}, perplexity {stats['perplexity']:.1f}, "
              f"codes in use {stats['codes_in_use']:.2f}")
    assert bits < stats["unigram_bits"] < stats["uniform_bits"]
    assert vq.sample(4, seed=0).shape == (4, 28, 28, 1)


# -------------------------------------------------------------------- export
def test_saved_model_signatures_encode_decode_reconstruct_sample(tmp_path):
    vq = kv.VQVAE(**SMALL, seed=0)
    x = _images(3)
    served = tf.saved_model.load(vq.export(str(tmp_path / "serving")))
    assert {"encode", "decode", "reconstruct", "sample", "serving_default"} <= set(served.signatures)
    codes = served.signatures["encode"](x=tf.constant(x))["codes"]
    np.testing.assert_array_equal(codes.numpy(), vq.codes(x))
    np.testing.assert_allclose(served.signatures["decode"](codes=codes)["x_mean"].numpy(),
                               vq.decode_codes(codes).numpy(), atol=1e-6)
    np.testing.assert_allclose(served.signatures["reconstruct"](x=tf.constant(x))["reconstruction"].numpy(),
                               vq.reconstruct(x), atol=1e-6)
    drawn = served.signatures["sample"](seed=tf.constant([5, 6], tf.int32))
    np.testing.assert_array_equal(drawn["codes"].numpy()[:1], vq.sample_codes(1, seed=5).numpy())
    with pytest.raises(tf.errors.InvalidArgumentError, match="num_embeddings"):
        served.signatures["decode"](codes=tf.fill([1, 2, 2], 16))


# ------------------------------------------------------------------------ CLI
def test_keras_vae_train_model_vqvae(tmp_path, monkeypatch):
    import json

    from keras_vae import cli

    monkeypatch.chdir(tmp_path)
    small = '{"filters": [8, 8]}'
    code = cli.main(["train", "--model", "vqvae", "--epochs", "1", "--limit", "128", "--batch-size", "64",
                     "--latent-dim", "4", "--encoder", "conv_grid", "--encoder-options", small,
                     "--decoder", "conv_grid", "--decoder-options", small, "--output", "run"])
    assert code == 0
    vq = kv.load_model("run/model.keras")
    assert isinstance(vq, kv.VQVAE) and vq.embedding_dim == 4 and vq.grid_shape == (7, 7)
    metrics = json.load(open("run/metrics.json"))
    assert metrics["test_prior_bits_per_code"] > 0 and 0 < metrics["test_codes_in_use_whole_split"] <= 1
    assert {"samples.png", "reconstructions.png", "codebook.png"} <= set(metrics["pictures"])
    assert os.path.isdir("run/serving/1")
    assert cli.main(["train", "--model", "vqvae", "--prior", "vamp", "--output", "run2"]) == 2


def test_the_quantizer_updates_compile_with_xla():
    # On a GPU jit_compile="auto" compiles the training update: the quantizer's k-means
    # (a while loop), EMA and restarts must compile with it. (XLA's stateless random
    # draws differ from the eager ones, so the k-means++ picks do too: compare outcomes.)
    data = _mixture(2048, seed=0)
    compiled = VectorQuantizer(16, 2, dead_code_steps=1, seed=0)
    step = tf.function(lambda x: compiled(x, training=True)["perplexity"], jit_compile=True)
    for _ in range(3):
        step(tf.constant(data))
    assert int(compiled.initialized) == 1 and int(compiled.step) == 3
    out = compiled(data)
    assert float(out["perplexity"]) > 15.0 and float(out["codes_in_use"]) == 1.0


def test_litert_and_onnx_encode_and_decode(tmp_path):
    from ai_edge_litert.interpreter import Interpreter
    import onnxruntime

    vq = kv.VQVAE(**{**SMALL, "prior": None}, seed=0)
    x = _images(3)
    codes = vq.codes(x)
    files = vq.export(str(tmp_path / "litert"), format="litert")
    encode = Interpreter(model_path=files["encode"]).get_signature_runner()
    decode = Interpreter(model_path=files["decode"]).get_signature_runner()
    np.testing.assert_array_equal(encode(x=x)["codes"], codes)
    np.testing.assert_allclose(decode(codes=codes)["x_mean"], vq.decode_codes(codes).numpy(), atol=1e-5)
    files = vq.export(str(tmp_path / "onnx"), format="onnx")
    encode, decode = (onnxruntime.InferenceSession(files[p]) for p in ("encode", "decode"))
    np.testing.assert_array_equal(encode.run(None, {"x": x})[0], codes)
    np.testing.assert_allclose(decode.run(None, {"codes": codes})[0], vq.decode_codes(codes).numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="'encode' and 'decode'"):
        vq.export(str(tmp_path / "x"), format="onnx", parts=("sample",))


# ----------------------------------------------------------------- benchmark
def test_the_benchmark_trains_keras_ios_model_beside_ours(mnist_dir, capsys, monkeypatch):
    """benchmarks/vqvae.py end to end on a small budget: keras-io's codebook (an
    add_weight) trains under Keras 3, and both rows are printed."""
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "vqvae.py"
    monkeypatch.syspath_prepend(str(path.parent))  # its _common helper
    spec = importlib.util.spec_from_file_location("vqvae_benchmark", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = bench.main(["--data", str(mnist_dir), "--limit", "512", "--test-limit", "256"])
    out = capsys.readouterr().out
    assert "keras-io vq_vae.py" in out and "kv.VQVAE" in out
    (_, error_io, _, used_io, speed_io), (_, error_kv, _, used_kv, speed_kv) = rows
    assert np.isfinite([error_io, error_kv]).all() and speed_io > 0 and speed_kv > 0
    assert used_kv > used_io  # k-means + restarts already use more codes after 4 steps
    trainer = bench.VQVAETrainer(0.1)
    assert any("embeddings_vqvae" in v.path for v in trainer.trainable_variables)  # tracked, so trained
