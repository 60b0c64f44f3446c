"""LiteRT and ONNX artifacts of a HierarchicalVAE: encode (every group's mean) and
decode (z_1 -> mean of p(x | z_1)) match the model; random parts and bad arguments
are refused with the reason. The conv hierarchy's artifacts: tests/test_hierarchical_conv_cli.py
(exported through keras-vae export from a trained model)."""
import numpy as np
import pytest

import keras_vae as kv
from helpers import assert_runtime_matches


def small(inference):
    return kv.HierarchicalVAE(latent_dims=(4, 2), input_shape=(8,), inference=inference, seed=0,
                              q_hidden=[[16], [8]], p_hidden=[[8], [16]])


@pytest.mark.parametrize("runtime, inference", [("litert", "residual"), ("onnx", "ladder")])
def test_runtime_artifacts_match_the_model(runtime, inference, tmp_path):
    h = small(inference)
    files = h.export(str(tmp_path), format=runtime)
    assert sorted(files) == ["decode", "encode"]
    assert_runtime_matches(h, runtime, files, np.random.default_rng(0))
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
