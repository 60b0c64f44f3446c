"""ONNX artifacts of the deterministic parts of a VAE.

``export_onnx(vae, "models/vae_onnx")`` (also ``vae.export(path, format="onnx")``)
writes one ``.onnx`` file per part through Keras' own ONNX exporter
(``keras.Model.export(format="onnx")``, which converts the traced TensorFlow graph
with ``tf2onnx``; ``tf2onnx.convert.from_keras`` itself fails on Keras 3 models):

* ``encode.onnx``: input ``x`` ``(batch, *data_shape)`` -> the posterior's natural
  parameters (``mean``, ``stddev`` for the diagonal Gaussian) and ``point``;
* ``decode.onnx``: input ``z`` ``(batch, latent_dim)`` -> ``x_mean``, the mean of
  p(x|z).

A conditioned model's parts take a second input, ``condition`` (int32 labels for a
``one_hot`` condition, float32 for ``vector``): ``encode.onnx`` runs q(z | x, c) and
``decode.onnx`` the mean of p(x | z, c) (see ``keras_vae.export._parts``).

The batch dimension stays dynamic. Sampling is not exported (tf2onnx has no
conversion for the seeded stateless random op); a component with an operation
tf2onnx cannot convert fails at export with an error naming the part.

Needs ``tf2onnx`` (``pip install tf2onnx``; the dev extra has it); run the files with
``onnxruntime``.

Example:
    >>> import tempfile, numpy as np, keras_vae as kv
    >>> vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(4,), likelihood="gaussian")
    >>> files = vae.export(tempfile.mkdtemp(), format="onnx")    # doctest: +SKIP
    >>> import onnxruntime                                        # doctest: +SKIP
    >>> session = onnxruntime.InferenceSession(files["decode"])   # doctest: +SKIP
    >>> session.run(["x_mean"], {"z": np.zeros((3, 2), "float32")})[0].shape  # doctest: +SKIP
    (3, 4)
"""
from __future__ import annotations

import importlib.util
from typing import Sequence

from keras_vae.export import _parts
from keras_vae.export.litert import _write_parts

__all__ = ["export_onnx"]

_DETAIL = "tf2onnx has no conversion for them"


def export_onnx(
    vae, path, parts: Sequence[str] = _parts.PARTS, overwrite: bool = False,
    opset_version: int | None = None,
) -> dict[str, str]:
    """Write ``<path>/<part>.onnx`` for each part; return ``{part: file}``.

    Args:
        vae: a built ``keras_vae.VAE``.
        path: a directory (created if missing).
        parts: any of ``("encode", "decode")``.
        overwrite: replace existing files.
        opset_version: the ONNX opset (default: tf2onnx's).

    Raises:
        ImportError: ``tf2onnx`` is not installed (the message says what to install).
        ValueError: as ``export_litert``, for ONNX.
    """
    parts = _parts.check_parts(vae, parts, "ONNX", _DETAIL)
    if importlib.util.find_spec("tf2onnx") is None:
        raise ImportError(
            "format='onnx' converts through tf2onnx, which is not installed: "
            "pip install tf2onnx (or keras-vae[dev])."
        )

    def write(model, filepath, signature) -> None:
        model.export(filepath, format="onnx", input_signature=signature, verbose=False,
                     opset_version=opset_version)
        # tf2onnx writes a graph even when it could not convert an op (the op is
        # left in under its TensorFlow name): the checker refuses such a file here,
        # not the runtime later.
        import onnx

        onnx.checker.check_model(onnx.load(filepath), full_check=True)

    return _write_parts(vae, path, parts, overwrite, "ONNX", "onnx", write)
