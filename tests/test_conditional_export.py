"""LiteRT and ONNX artifacts of a conditioned model: ``encode(x, condition)`` and
``decode(z, condition)``, run by the real runtimes (ai-edge-litert's Interpreter,
onnxruntime), equal the model's own conditioned outputs within 1e-5."""
import numpy as np
import pytest

import keras_vae as kv

DIM, LATENT, K = 5, 2, 3
CONDITIONS = {
    "one_hot": ({"name": "one_hot", "num_classes": K}, lambda rng, n: rng.integers(0, K, n).astype("int32")),
    "vector": ({"name": "vector", "shape": (2,)}, lambda rng, n: rng.normal(size=(n, 2)).astype("float32")),
}


def _run(runtime, file, feed) -> dict:
    if runtime == "litert":
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter(model_path=file).get_signature_runner()(**feed)
    import onnxruntime

    session = onnxruntime.InferenceSession(file, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feed)))


@pytest.mark.parametrize("runtime, condition", [("litert", "one_hot"), ("onnx", "one_hot"), ("litert", "vector"), ("onnx", "vector")])
def test_conditioned_runtime_parts_take_the_condition_and_match_keras(runtime, condition, tmp_path):
    pytest.importorskip("ai_edge_litert" if runtime == "litert" else "onnxruntime")
    if runtime == "onnx":
        pytest.importorskip("tf2onnx")
    spec, draw = CONDITIONS[condition]
    vae = kv.VAE("mlp", "mlp", latent_dim=LATENT, input_shape=(DIM,), likelihood="gaussian",
                 prior="conditional_gaussian", condition=spec, seed=0)
    files = vae.export(tmp_path, format=runtime)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, DIM)).astype("float32")
    z = rng.normal(size=(4, LATENT)).astype("float32")
    c = draw(rng, 4)
    encoded = _run(runtime, files["encode"], {"x": x, "condition": c})
    np.testing.assert_allclose(encoded["point"], vae.encode(x, condition=c), atol=1e-5)
    decoded = _run(runtime, files["decode"], {"z": z, "condition": c})
    if runtime == "litert":  # the condition is an input of its own, and a required one
        from ai_edge_litert.interpreter import Interpreter

        runner = Interpreter(model_path=files["decode"]).get_signature_runner()
        assert sorted(runner.get_input_details()) == ["condition", "z"]
        with pytest.raises(ValueError):
            runner(z=z)
    np.testing.assert_allclose(decoded["x_mean"], vae.decode(z, condition=c), atol=1e-5)
    # The condition matters: another condition gives another decoding.
    other = draw(np.random.default_rng(1), 4)
    moved = _run(runtime, files["decode"], {"z": z, "condition": other})["x_mean"]
    changed = np.any(other != c, axis=tuple(range(1, other.ndim)))
    assert changed.any() and np.abs(moved - decoded["x_mean"])[changed].max() > 1e-4

