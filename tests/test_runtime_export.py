"""LiteRT and ONNX artifacts of the deterministic parts, run by the real runtimes
(ai-edge-litert's Interpreter, onnxruntime): outputs equal Keras' within 1e-5."""
import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_vae as kv

SHAPE = (8, 8, 1)
LATENT = 3


def _reference(vae, x, z) -> dict:
    params = vae.posterior_parameters(vae.prepare(x))
    natural = {k: v.numpy() for k, v in vae.posterior_layer.natural_parameters(params).items()}
    return {
        "encode": {**natural, "point": vae.posterior_layer.point(params).numpy()},
        "decode": {"x_mean": vae.decode(z).numpy()},
    }


def _run_litert(files, inputs) -> dict:
    from ai_edge_litert.interpreter import Interpreter

    out = {}
    for part, feed in inputs.items():
        runner = Interpreter(model_path=files[part]).get_signature_runner()
        out[part] = runner(**feed)
    return out


def _run_onnx(files, inputs) -> dict:
    import onnxruntime

    out = {}
    for part, feed in inputs.items():
        session = onnxruntime.InferenceSession(files[part], providers=["CPUExecutionProvider"])
        names = [o.name for o in session.get_outputs()]
        out[part] = dict(zip(names, session.run(names, feed)))
    return out


RUNTIMES = {"litert": ("ai_edge_litert", _run_litert), "onnx": ("onnxruntime", _run_onnx)}
MODELS = {
    # a convolutional Bernoulli VAE and a flow posterior with a Gaussian likelihood
    "conv_bernoulli": dict(encoder=kv.encoders.ConvEncoder([4]), decoder=kv.decoders.ConvDecoder([4]),
                           likelihood="bernoulli"),
    "mlp_iaf_gaussian": dict(encoder="mlp", decoder="mlp", posterior="iaf", likelihood="gaussian"),
}


@pytest.mark.parametrize("model", sorted(MODELS))
@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
def test_runtime_artifacts_match_keras(runtime, model, tmp_path):
    module, run = RUNTIMES[runtime]
    pytest.importorskip(module)
    if runtime == "onnx":
        pytest.importorskip("tf2onnx")
    vae = kv.VAE(latent_dim=LATENT, input_shape=SHAPE, seed=0, **MODELS[model])
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(5, *SHAPE)).astype("float32")
    z = rng.normal(size=(5, LATENT)).astype("float32")
    files = vae.export(tmp_path, format=runtime)
    assert sorted(files) == ["decode", "encode"]
    got = run(files, {"encode": {"x": x}, "decode": {"z": z}})
    reference = _reference(vae, x, z)
    for part in ("encode", "decode"):
        assert sorted(got[part]) == sorted(reference[part]), part
        for name, value in reference[part].items():
            assert got[part][name].shape == value.shape, (part, name)
            np.testing.assert_allclose(got[part][name], value, rtol=0, atol=1e-5, err_msg=f"{part}/{name}")
    # The batch stays dynamic: one example runs through the same file.
    one = run(files, {"decode": {"z": z[:1]}})
    np.testing.assert_allclose(one["decode"]["x_mean"], reference["decode"]["x_mean"][:1], atol=1e-5)


@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
def test_parts_a_runtime_cannot_take_are_named(runtime, tmp_path):
    vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(4,), likelihood="gaussian")
    with pytest.raises(ValueError, match=r"'sample' part cannot be exported to .*StatelessRandomNormalV2"):
        vae.export(tmp_path, format=runtime, parts=("encode", "sample"))
    with pytest.raises(ValueError, match=r"'score' part cannot be exported"):
        vae.export(tmp_path, format=runtime, parts=["score"])
    with pytest.raises(ValueError, match=r"Unknown part 'latent'.*\('encode', 'decode'\)"):
        vae.export(tmp_path, format=runtime, parts=["latent"])
    assert not list(tmp_path.iterdir())  # nothing written


class IgammaDecoder(keras.layers.Layer):
    """A decoder body with an operation (Igamma) neither LiteRT nor ONNX has."""

    def build(self, input_shape):
        self.dense = keras.layers.Dense(8)
        self.dense.build(input_shape)

    def call(self, z):
        h = 1.0 + tf.math.softplus(self.dense(z))
        return tf.math.igamma(h, h)


@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
def test_a_component_the_runtime_cannot_run_is_named(runtime, tmp_path):
    pytest.importorskip(RUNTIMES[runtime][0])
    if runtime == "onnx":
        pytest.importorskip("tf2onnx")
    vae = kv.VAE("mlp", IgammaDecoder(), latent_dim=2, input_shape=(4,), likelihood="gaussian")
    name = {"litert": "LiteRT", "onnx": "ONNX"}[runtime]
    with pytest.raises(
        ValueError,
        match=rf"'decode' part \(decoder IgammaDecoder and likelihood Gaussian\) cannot be "
        rf"converted to {name}: it uses the TensorFlow operation\(s\) Igamma",
    ):
        vae.export(tmp_path, format=runtime)
    assert (tmp_path / f"encode.{'tflite' if runtime == 'litert' else 'onnx'}").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"encode.{'tflite' if runtime == 'litert' else 'onnx'}"]


def test_existing_files_need_overwrite_and_bad_format_is_named(tmp_path):
    pytest.importorskip("ai_edge_litert")
    vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(4,), likelihood="gaussian")
    vae.export(tmp_path, format="litert", parts=["decode"])
    with pytest.raises(ValueError, match="already exists; pass overwrite=True"):
        vae.export(tmp_path, format="litert", parts=["decode"])
    vae.export(tmp_path, format="litert", parts=["decode"], overwrite=True)
    with pytest.raises(ValueError, match=r"format must be one of \('tf_saved_model', 'litert', 'onnx'\), got 'tflite'"):
        vae.export(tmp_path, format="tflite")
