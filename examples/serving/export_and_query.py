"""Train a small VAE on MNIST, export it for TF Serving, and print how to query it.

    python examples/serving/export_and_query.py                 # bundled MNIST sample
    python examples/serving/export_and_query.py --data /path/to/train-images-idx3-ubyte.gz
    python examples/serving/export_and_query.py --data mnist    # a name keras-vae knows

``--data`` is anything ``keras_vae.datasets.load_dataset`` reads: a data-set name
(``sample``, ``mnist`` from ``$KERAS_VAE_DATA`` or the Keras cache, ``fashion_mnist``),
an IDX images file, a ``.npz`` / ``.npy`` file or an image folder of 28 x 28 images.

It writes ``<out>/vae/<version>/`` (a SavedModel with the signatures encode, decode,
reconstruct = serving_default, sample and score, plus warm-up requests), JSON request
bodies under ``<out>/requests/``, and prints:

* the ``docker run ... tensorflow/serving`` command that serves the export,
* a ``curl`` request per signature in both REST formats (row ``instances`` and
  columnar ``inputs``),
* gRPC client code (``tensorflow_serving.apis``) for every signature.

Before printing, it runs every request body against the exported SavedModel in this
process, so the printed requests are known to work.
"""
from __future__ import annotations

import argparse
import json
import os
import textwrap

import numpy as np
import tensorflow as tf

import keras_vae as kv

MODEL_NAME = "vae"


def load_images(data: str | None, n: int) -> np.ndarray:
    """n images in [0, 1], shape (n, 28, 28, 1): the bundled sample by default."""
    from keras_vae import datasets

    data = data or "sample"
    if data.endswith(("-ubyte", "-ubyte.gz")):
        x = datasets.read_idx(data)
        if x.ndim != 3:
            raise SystemExit(
                f"--data {data!r} holds an array of shape {x.shape}, not images (N, 28, 28): "
                "give the *images* file (train-images-idx3-ubyte.gz), not the labels file."
            )
        x = x[..., None].astype("float32") / 255.0
    else:
        try:
            x, _ = datasets.load_dataset(data, split="train")
        except (OSError, ValueError) as error:
            raise SystemExit(f"--data {data!r}: {' '.join(str(error).split())}") from None
    x = np.asarray(x[:n], "float32")
    if x.shape[1:] != (28, 28, 1):
        raise SystemExit(f"--data {data!r}: expected 28 x 28 grey images, got examples of shape {x.shape[1:]}.")
    return x


def train(x: np.ndarray, epochs: int, latent_dim: int) -> kv.VAE:
    vae = kv.VAE(
        encoder=kv.encoders.MLPEncoder([256]),
        decoder=kv.decoders.MLPDecoder([256]),
        latent_dim=latent_dim,
        input_shape=x.shape[1:],
        likelihood="bernoulli",
        seed=0,
    )
    vae.compile(optimizer="adam")
    history = vae.fit(x, epochs=epochs, batch_size=128, verbose=0)
    print(f"trained {epochs} epochs on {len(x)} images: "
          f"elbo {history.history['elbo'][-1]:.1f} nats/example")
    return vae


def request_bodies(x: np.ndarray, latent_dim: int) -> dict[str, dict]:
    """REST :predict bodies for every signature, row and columnar format."""
    images = np.round(x[:2], 4).tolist()
    z = [[0.0] * latent_dim, [1.0] + [0.0] * (latent_dim - 1)]
    seeds = [1, 2, 3]
    bodies = {}
    for signature, name, value in [
        ("encode", "x", images),
        ("decode", "z", z),
        ("reconstruct", "x", images),
        ("sample", "seed", seeds),
        ("score", "x", images),
    ]:
        bodies[f"{signature}_rows"] = {"signature_name": signature, "instances": value}
        bodies[f"{signature}_columns"] = {"signature_name": signature, "inputs": {name: value}}
    bodies["serving_default_rows"] = {"instances": images}  # no signature_name
    return bodies


def check_locally(version_dir: str, bodies: dict[str, dict]) -> None:
    """Feed each body to the SavedModel the way TF Serving parses it."""
    loaded = tf.saved_model.load(version_dir)
    print("\nLocal check of every request body against the SavedModel:")
    for name, body in bodies.items():
        fn = loaded.signatures[body.get("signature_name", "serving_default")]
        (input_name, spec), = fn.structured_input_signature[1].items()
        value = body["instances"] if "instances" in body else body["inputs"][input_name]
        out = fn(**{input_name: tf.constant(np.asarray(value, spec.dtype.as_numpy_dtype))})
        shapes = ", ".join(f"{k} {tuple(v.shape)}" for k, v in sorted(out.items()))
        print(f"  {name:22s} -> {shapes}")


def grpc_client_code(latent_dim: int) -> str:
    return textwrap.dedent(f'''\
        # pip install tensorflow-serving-api grpcio
        import grpc
        import numpy as np
        import tensorflow as tf
        from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

        channel = grpc.insecure_channel("localhost:8500")
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)

        def predict(signature, **inputs):
            request = predict_pb2.PredictRequest()
            request.model_spec.name = "{MODEL_NAME}"
            request.model_spec.signature_name = signature
            for name, value in inputs.items():
                request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
            response = stub.Predict(request, timeout=10.0)
            return {{k: tf.make_ndarray(v) for k, v in response.outputs.items()}}

        x = np.zeros((2, 28, 28, 1), np.float32)          # images in [0, 1]
        z = np.zeros((2, {latent_dim}), np.float32)                  # latent codes
        codes = predict("encode", x=x)                    # mean, stddev, z
        images = predict("decode", z=z)                   # x_mean, x_sample
        recon = predict("reconstruct", x=x)               # reconstruction
        recon = predict("serving_default", x=x)           # the same
        samples = predict("sample", seed=np.array([1, 2, 3], np.int64))   # x
        scores = predict("score", x=x)                    # elbo, reconstruction_log_prob, kl
        print({{k: v.shape for k, v in codes.items()}}, scores["elbo"])
        ''')


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="an MNIST train-images-idx3-ubyte.gz file or a data set "
                        "keras_vae.datasets.load_dataset reads (default: the bundled sample)")
    parser.add_argument("--out", default=os.path.join("runs", "serving_demo"),
                        help="output directory (default: runs/serving_demo, ignored by git)")
    parser.add_argument("--n", type=int, default=3000, help="training images")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--latent-dim", type=int, default=8)
    args = parser.parse_args(argv)

    x = load_images(args.data, args.n)
    vae = train(x, args.epochs, args.latent_dim)
    base = os.path.abspath(os.path.join(args.out, MODEL_NAME))
    version_dir = vae.export(base, warmup_batch=x[:2])
    print(f"exported version {os.path.basename(version_dir)} to {version_dir}")

    bodies = request_bodies(x, args.latent_dim)
    request_dir = os.path.abspath(os.path.join(args.out, "requests"))
    os.makedirs(request_dir, exist_ok=True)
    for name, body in bodies.items():
        with open(os.path.join(request_dir, f"{name}.json"), "w") as f:
            json.dump(body, f)
    check_locally(version_dir, bodies)

    url = f"http://localhost:8501/v1/models/{MODEL_NAME}:predict"
    print("\n# 1. Serve it (REST on 8501, gRPC on 8500):")
    print(f"docker run -p 8501:8501 -p 8500:8500 \\\n"
          f"  --mount type=bind,source={base},target=/models/{MODEL_NAME} \\\n"
          f"  -e MODEL_NAME={MODEL_NAME} -t tensorflow/serving")
    print(f"\n# Model status and signatures:\ncurl http://localhost:8501/v1/models/{MODEL_NAME}"
          f"\ncurl http://localhost:8501/v1/models/{MODEL_NAME}/metadata")
    print("\n# 2. REST requests (bodies written to " + request_dir + "):")
    for name, body in bodies.items():
        text = json.dumps(body)
        if len(text) <= 200:
            print(f"curl -X POST {url} -d '{text}'")
        else:
            print(f"curl -X POST {url} -d @{os.path.join(request_dir, name + '.json')}"
                  f"   # {text[:70]}...")
    print("\n# 3. gRPC client (port 8500):")
    print(grpc_client_code(args.latent_dim))


if __name__ == "__main__":
    main()
