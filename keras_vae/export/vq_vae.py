"""A TF Serving SavedModel of a ``kv.VQVAE``: encode to code indices, decode from them,
reconstruct, and sample through the code prior."""
from __future__ import annotations

import keras
import tensorflow as tf

from keras_vae import _seeds
from keras_vae.export import versions

#: The signatures of an exported VQ-VAE (``sample`` only with a prior).
VQ_SIGNATURES = ("encode", "decode", "reconstruct", "sample")


def _make_endpoints(vq) -> dict:
    grid = list(vq.grid_shape)

    def quantize(x):
        x = vq.prepare(tf.cast(x, tf.float32))
        return vq.quantizer(vq.encoder(vq.likelihood_layer.encoder_input(x), training=False))

    def mean_of(z_q):
        params = vq.likelihood_layer(vq.decoder(z_q, training=False), training=False)
        # In the user's units (a model made with standardize=True maps back).
        return vq.to_data_units(vq.likelihood_layer.distribution(params).mean())

    def encode(x):
        return {"codes": quantize(x)["indices"]}

    def decode(codes):
        codes = vq.check_codes(codes)  # in-graph range checks
        return {"x_mean": mean_of(vq.quantizer.lookup(codes))}

    def reconstruct(x):
        return {"reconstruction": mean_of(quantize(x)["quantized"])}

    def sample(seed):
        # One grid per row's seed: the same draw as vq.sample(1, seed=s) for an int s.
        seeds = tf.reshape(tf.cast(seed, tf.int32), [-1])

        def one(s):
            stateless = vq.noise_seed(s, stream=_seeds.SAMPLE_Z)
            return vq.prior_layer.sample_graph(tf.constant(1), stateless)[0]

        codes = tf.map_fn(one, seeds, fn_output_signature=tf.TensorSpec(grid, tf.int32))
        return {"codes": codes, "x": mean_of(vq.quantizer.lookup(codes))}

    x_spec = tf.TensorSpec((None, *vq.data_shape), tf.float32, name="x")
    endpoints = {
        "reconstruct": (reconstruct, [x_spec]),
        "encode": (encode, [x_spec]),
        "decode": (decode, [tf.TensorSpec((None, *grid), tf.int32, name="codes")]),
    }
    if vq.prior_layer is not None:
        endpoints["sample"] = (sample, [tf.TensorSpec((None,), tf.int32, name="seed")])
    return endpoints


def export_vq_vae(vq, path, version: int | None = None, overwrite: bool = False) -> str:
    """Write ``vq`` as a TF Serving SavedModel to ``<path>/<version>/`` and return it.

    Signatures (batch dimension free): ``reconstruct`` (also ``serving_default``;
    ``x`` -> ``reconstruction``), ``encode`` (``x`` -> int32 ``codes``
    ``[batch, *grid]``), ``decode`` (int32 ``codes`` -> ``x_mean``; an index outside
    the codebook fails the request), and, with a prior, ``sample`` (int32 ``seed``
    ``[n]`` -> ``codes`` and ``x``, one grid per seed, the loop over positions inside
    the graph). Needs neither keras_vae nor TensorFlow Probability to serve.

    Example:
        >>> import tempfile, keras_vae as kv
        >>> vq = kv.VQVAE(encoder={"name": "conv", "filters": [4]}, decoder={"name": "conv", "filters": [4]},
        ...               num_embeddings=4, embedding_dim=2, input_shape=(4, 4, 1),
        ...               prior={"name": "pixelcnn", "filters": 4, "num_layers": 1})
        >>> vq.export(tempfile.mkdtemp()).endswith("/1")
        True
    """
    if getattr(vq, "data_shape", None) is None or vq.grid_shape is None:
        raise ValueError(f"{vq.name} is not built: give input_shape= or fit it before exporting.")
    base, version = versions._resolve_target(path, version, overwrite)
    archive = keras.export.ExportArchive()
    archive.track(vq)
    for name, (fn, signature) in _make_endpoints(vq).items():
        try:
            archive.add_endpoint(name, fn, input_signature=signature).get_concrete_function()
        except Exception as err:  # noqa: BLE001
            raise ValueError(
                f"Cannot export the '{name}' signature: tracing failed with {type(err).__name__}: {err}"
            ) from err
    return versions.publish(base, version, lambda staging: archive.write_out(staging, verbose=False), overwrite)


def _encode_part(vq, x):
    x = vq.to_model_units(x)  # float32, standardized when the model standardizes
    return {"codes": vq.quantizer(vq.encoder(vq.likelihood_layer.encoder_input(x), training=False))["indices"]}


def _decode_part(vq, codes):
    z_q = vq.quantizer.lookup(codes)
    params = vq.likelihood_layer(vq.decoder(z_q, training=False), training=False)
    return {"x_mean": vq.to_data_units(vq.likelihood_layer.distribution(params).mean())}


def export_vq_runtime(vq, path, format: str, parts=("encode", "decode"), overwrite: bool = False) -> dict[str, str]:
    """Write ``<path>/encode.<ext>`` (x -> int32 ``codes``) and ``<path>/decode.<ext>``
    (int32 ``codes`` -> ``x_mean``) for LiteRT (``format="litert"``, built-in ops only)
    or ONNX (``format="onnx"``) through Keras' own exporters; return ``{part: file}``.
    These parts hold no range check: give ``decode`` indices in ``[0, K)``.

    Example:
        >>> import tempfile, keras_vae as kv
        >>> vq = kv.VQVAE(num_embeddings=4, embedding_dim=2, input_shape=(8, 8, 1), prior=None)
        >>> sorted(vq.export(tempfile.mkdtemp(), format="onnx"))   # doctest: +SKIP
        ['decode', 'encode']
    """
    import contextlib
    import io
    import os

    from keras_vae.export import _parts

    extension = {"litert": "tflite", "onnx": "onnx"}[format]
    unknown = [p for p in parts if p not in ("encode", "decode")]
    if unknown:
        raise ValueError(
            f"{format} export writes the parts 'encode' and 'decode', not {unknown}: sampling draws "
            "random numbers in a loop over positions; serve the SavedModel's 'sample' signature."
        )
    if getattr(vq, "grid_shape", None) is None:
        raise ValueError(f"{vq.name} is not built: give input_shape= or fit it before exporting.")
    path = os.path.abspath(os.fspath(path))
    files = {part: os.path.join(path, f"{part}.{extension}") for part in parts}
    existing = [f for f in files.values() if os.path.exists(f)]
    if existing and not overwrite:
        raise ValueError(f"{existing[0]} already exists; pass overwrite=True or choose another directory.")
    os.makedirs(path, exist_ok=True)
    specs = {
        "encode": (_encode_part, tf.TensorSpec((None, *vq.data_shape), tf.float32, name="x")),
        "decode": (_decode_part, tf.TensorSpec((None, *vq.grid_shape), tf.int32, name="codes")),
    }
    for part in parts:
        fn, spec = specs[part]
        model = _parts._Part(vq, fn, name=f"{vq.name}_{part}")
        staging = files[part] + ".partial." + extension
        kwargs = {"target_spec": {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS]}} if format == "litert" else {}
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                model.export(staging, format=format, input_signature=[spec], verbose=False, **kwargs)
        except Exception as err:  # noqa: BLE001
            if os.path.exists(staging):
                os.remove(staging)
            raise ValueError(f"Cannot write the {format} '{part}' part: {type(err).__name__}: {err}") from err
        os.replace(staging, files[part])
    return files
