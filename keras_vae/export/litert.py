"""LiteRT (TFLite) artifacts of the deterministic parts of a VAE.

``export_litert(vae, "models/vae_litert")`` (also ``vae.export(path,
format="litert")``) writes one ``.tflite`` file per part, through Keras' own LiteRT
exporter (``keras.Model.export(format="litert")``):

* ``encode.tflite``: input ``x`` ``(batch, *data_shape)`` -> the posterior's natural
  parameters (``mean``, ``stddev`` for the diagonal Gaussian) and ``point``;
* ``decode.tflite``: input ``z`` ``(batch, latent_dim)`` -> ``x_mean``, the mean of
  p(x|z).

A conditioned model's parts take a second input, ``condition`` (int32 labels for a
``one_hot`` condition, float32 for ``vector``): ``encode.tflite`` runs q(z | x, c) and
``decode.tflite`` the mean of p(x | z, c) (see ``keras_vae.export._parts``).

Only TFLite built-in operations are allowed (no Flex / ``SELECT_TF_OPS``: the
``ai-edge-litert`` runtime has no Flex delegate), so a file that is written runs on
that runtime; a component that needs another operation fails at export with an
error naming the part. Sampling is not exported: its seeded random op has no
built-in kernel (sample z on the device and run ``decode``).

Example:
    >>> import os, tempfile, keras_vae as kv
    >>> vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(4,), likelihood="gaussian")
    >>> files = vae.export(tempfile.mkdtemp(), format="litert")  # doctest: +SKIP
    >>> sorted(os.path.basename(f) for f in files.values())        # doctest: +SKIP
    ['decode.tflite', 'encode.tflite']
    >>> from ai_edge_litert.interpreter import Interpreter        # doctest: +SKIP
    >>> runner = Interpreter(model_path=files["decode"]).get_signature_runner()  # doctest: +SKIP
    >>> runner(z=np.zeros((3, 2), "float32"))["x_mean"].shape    # doctest: +SKIP
    (3, 4)
"""
from __future__ import annotations

import contextlib
import io
import os
from typing import Sequence

import tensorflow as tf

from keras_vae.export import _parts

__all__ = ["export_litert"]

_DETAIL = "LiteRT runs it only with the Flex delegate, which ai-edge-litert does not ship"


def export_litert(
    vae, path, parts: Sequence[str] = _parts.PARTS, overwrite: bool = False
) -> dict[str, str]:
    """Write ``<path>/<part>.tflite`` for each part; return ``{part: file}``.

    Args:
        vae: a built ``keras_vae.VAE``.
        path: a directory (created if missing).
        parts: any of ``("encode", "decode")``.
        overwrite: replace existing files.

    Raises:
        ValueError: the model is not built; a part is unknown or cannot run on LiteRT
            (``"sample"``, ``"score"``; the message says why); a file exists without
            ``overwrite``; a component uses an operation that is not a TFLite
            built-in (the message names the part and its components).
    """
    parts = _parts.check_parts(vae, parts, "LiteRT", _DETAIL)
    return _write_parts(vae, path, parts, overwrite, "LiteRT", "tflite", _litert)


def _litert(model, filepath, signature) -> None:
    model.export(
        filepath,
        format="litert",
        input_signature=signature,
        verbose=False,
        # Built-ins only: what ai-edge-litert runs (no Flex delegate).
        target_spec={"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS]},
    )


def _write_parts(vae, path, parts, overwrite, runtime, extension, write) -> dict[str, str]:
    path = os.path.abspath(os.fspath(path))
    files = {part: os.path.join(path, f"{part}.{extension}") for part in parts}
    existing = [f for f in files.values() if os.path.exists(f)]
    if existing and not overwrite:
        raise ValueError(
            f"{existing[0]} already exists; pass overwrite=True to replace it or choose "
            "another directory."
        )
    os.makedirs(path, exist_ok=True)
    for part, (model, signature) in _parts.part_models(vae, parts).items():
        staging = files[part] + ".partial." + extension
        try:
            # The converters print pages of progress; a failure is reported below.
            with contextlib.redirect_stdout(io.StringIO()):
                write(model, staging, signature)
        except Exception as err:  # noqa: BLE001 - re-raised naming the part
            if os.path.exists(staging):
                os.remove(staging)
            raise _parts.conversion_error(part, runtime, vae, err) from err
        os.replace(staging, files[part])
    return files
