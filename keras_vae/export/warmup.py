"""TF Serving warm-up requests (``assets.extra/tf_serving_warmup_requests``).

TF Serving replays these ``PredictionLog`` records when it loads a version, so the
first real request does not pay for graph initialization. Writing them needs the
``tensorflow-serving-api`` package (``keras-vae[serving]``).
"""
from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")


def _warmup_inputs(vae, warmup_batch) -> dict[str, dict[str, np.ndarray]]:
    if warmup_batch is None:
        # A stand-in inside the likelihood's support (zeros are outside a Beta's).
        x = np.asarray(vae.likelihood_layer.valid_example(), np.float32)[None]
    else:
        x = np.asarray(warmup_batch, dtype=np.float32)
        if x.shape == tuple(vae.data_shape):
            x = x[None]
        vae.check_data(x, "warmup_batch")
    n = int(x.shape[0])
    inputs = {
        "encode": {"x": x},
        "decode": {"z": np.zeros((n, vae.latent_dim), np.float32)},
        "reconstruct": {"x": x},
        "sample": {"seed": np.arange(n, dtype=np.int64)},
        "score": {"x": x},
    }
    layer = getattr(vae, "condition_layer", None)
    if layer is not None:  # every signature of a conditioned model takes the condition
        condition = np.zeros((n, *layer.example_shape), layer.input_dtype)  # label 0 / zero covariates
        for request in inputs.values():
            request["condition"] = condition
    return inputs


def _serving_api_available() -> bool:
    try:
        from tensorflow_serving.apis import predict_pb2, prediction_log_pb2  # noqa: F401
    except ImportError:
        return False
    return True


def _write_warmup(directory: str, inputs: dict, serving_default: str) -> str:
    from tensorflow_serving.apis import predict_pb2, prediction_log_pb2

    path = os.path.join(directory, WARMUP_FILE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    records = dict(inputs)
    records["serving_default"] = inputs[serving_default]
    with tf.io.TFRecordWriter(path) as writer:
        for signature, feeds in records.items():
            request = predict_pb2.PredictRequest()
            request.model_spec.signature_name = signature
            for name, value in feeds.items():
                request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
            log = prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request)
            )
            writer.write(log.SerializeToString())
    return path
