"""LiteRT and ONNX artifacts of a HierarchicalVAE, MLP and conv (NVAE-style): encode
(every group's mean) and decode (z_1, or every group for the conv hierarchy -> mean of
p(x | z)) match the model; random parts and bad arguments are refused with the reason."""
import numpy as np
import pytest

import keras_vae as kv


def small(inference):
    return kv.HierarchicalVAE(latent_dims=(4, 2), input_shape=(8,), inference=inference, seed=0,
                              q_hidden=[[16], [8]], p_hidden=[[8], [16]])


def small_conv():
    """NVAE's conv hierarchy, 2 scales x 1 group on 8 x 8 images: stride-2 convolutions,
    transposed convolutions between scales and to the image size, residual cells."""
    return kv.HierarchicalVAE(input_shape=(8, 8, 1), inference="residual", architecture="conv", scales=2,
                              groups_per_scale=1, channels=4, seed=0)


def run_litert(files, x, z):
    from ai_edge_litert.interpreter import Interpreter

    encode = Interpreter(model_path=files["encode"]).get_signature_runner()(x=x)
    decode = Interpreter(model_path=files["decode"]).get_signature_runner()(z=z)
    return encode, decode["x_mean"]


def run_onnx(files, x, z):
    import onnxruntime

    session = onnxruntime.InferenceSession(files["encode"])
    encode = dict(zip([o.name for o in session.get_outputs()], session.run(None, {"x": x})))
    decode = onnxruntime.InferenceSession(files["decode"]).run(["x_mean"], {"z": z})[0]
    return encode, decode


@pytest.mark.parametrize("runtime, inference, architecture", [
    ("litert", "residual", "mlp"), ("onnx", "ladder", "mlp"), ("litert", "residual", "conv"), ("onnx", "residual", "conv"),
])
def test_runtime_artifacts_match_the_model(runtime, inference, architecture, tmp_path):
    h = small_conv() if architecture == "conv" else small(inference)
    rng = np.random.default_rng(0)
    files = h.export(str(tmp_path), format=runtime)
    assert sorted(files) == ["decode", "encode"]
    for batch in (3, 1):  # the batch dimension stays dynamic
        x = rng.integers(0, 2, (batch, *h.data_shape)).astype("float32")
        means = [np.asarray(m) for m in h.encode(x)]
        # decode takes z_1 (MLP) or every group (conv: p(x | z) reads them all)
        z = np.concatenate(means, axis=-1) if architecture == "conv" else means[0]
        assert z.shape == (batch, h.decode_width)
        encode, x_mean = (run_litert if runtime == "litert" else run_onnx)(files, x, z)
        assert sorted(encode) == [f"z_{g + 1}_mean" for g in range(len(means))]
        for g, mean in enumerate(means):
            np.testing.assert_allclose(encode[f"z_{g + 1}_mean"], mean, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(x_mean, h.decode(z).numpy(), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="overwrite"):
        h.export(str(tmp_path), format=runtime, parts=["decode"])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"format": "litert", "parts": ["sample"]}, "random numbers"),
        ({"format": "onnx", "parts": ["score"]}, "'score' part cannot be exported"),
        ({"format": "litert", "parts": ["nope"]}, "Unknown part"),
        ({"format": "litert", "version": 3}, "version="),
        ({"format": "onnx", "score_samples": 4}, "takes"),
        ({"format": "tflite"}, "format must be one of"),
    ],
)
def test_random_parts_and_bad_arguments_are_refused(kwargs, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        small("bottom_up").export(str(tmp_path / "out"), **kwargs)
    assert not (tmp_path / "out").exists()
