"""LiteRT and ONNX artifacts of a hierarchical VAE's deterministic parts.

``h.export(path, format="litert")`` (or ``"onnx"``) writes, through Keras' own
single-endpoint exporters as for a ``VAE`` (``keras_vae.export.litert`` / ``.onnx``):

* ``encode.<ext>``: input ``x`` ``(batch, *data_shape)`` -> ``z_1_mean`` ..
  ``z_L_mean``, each group's mean given its parents' means (the SavedModel's
  ``encode`` means; ``h.encode(x)``);
* ``decode.<ext>``: input ``z`` ``(batch, h.decode_width)`` -> ``x_mean``, the mean
  of p(x | z) (``h.decode(z)``): z_1 for the MLP hierarchy; every group
  concatenated for the conv hierarchy (``architecture="conv"``), whose p(x | z) reads
  them all.

The conv hierarchy converts as it is (LiteRT built-ins only; tf2onnx), batch
dimension dynamic; its artifacts are tested against the model as the MLP's are.

The ancestral *draws* (``sample``, the SavedModel's ``z_g`` outputs and ``score``)
are not exported: their seeded random ops have no built-in LiteRT kernel and no
tf2onnx conversion (see ``keras_vae.export._parts.UNSUPPORTED``); serve them from the
SavedModel, or draw on the client and run ``decode``.

Example:
    >>> import tempfile, keras_vae as kv
    >>> h = kv.HierarchicalVAE(latent_dims=(3, 2), input_shape=(4,), seed=0,
    ...                        q_hidden=[[8], [8]], p_hidden=[[8], [8]], likelihood="gaussian")
    >>> files = h.export(tempfile.mkdtemp(), format="onnx")    # doctest: +SKIP
    >>> sorted(files)                                           # doctest: +SKIP
    ['decode', 'encode']
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import os
from typing import Sequence

import tensorflow as tf

from keras_vae.export import _parts, litert, onnx

__all__ = ["export_hierarchical_runtime"]

RUNTIMES = {"litert": ("LiteRT", "tflite", litert._DETAIL), "onnx": ("ONNX", "onnx", onnx._DETAIL)}


def _encode(model, x):
    q = model._posterior_chain(model.prepare(tf.cast(x, tf.float32)), False)
    return {f"z_{g + 1}_mean": tf.cast(m, tf.float32) for g, m in enumerate(q.point())}


def _decode(model, z):
    return {"x_mean": tf.cast(model.likelihood(tf.cast(z, tf.float32), training=False).mean(), tf.float32)}


def _write_onnx(opset_version):
    def write(part_model, filepath, signature) -> None:
        part_model.export(filepath, format="onnx", input_signature=signature, verbose=False,
                          opset_version=opset_version)
        import onnx as onnx_lib  # the checker refuses a graph with an unconverted op

        onnx_lib.checker.check_model(onnx_lib.load(filepath), full_check=True)

    return write


def export_hierarchical_runtime(model, path, format: str, parts: Sequence[str] = _parts.PARTS,
                                overwrite: bool = False, opset_version: int | None = None) -> dict[str, str]:
    """Write ``<path>/<part>.tflite`` (``format="litert"``) or ``.onnx`` for each part
    of a built ``HierarchicalVAE``; return ``{part: file}``.

    Raises:
        ValueError: the model is not built; a part is unknown or random (``sample``,
            ``score``: the message says why); a file exists without ``overwrite``; a
            component uses an operation the runtime cannot run (named).
        ImportError: ``format="onnx"`` without ``tf2onnx``.
    """
    runtime, extension, detail = RUNTIMES[format]
    parts = _parts.check_parts(model, parts, runtime, detail)
    if format == "onnx" and importlib.util.find_spec("tf2onnx") is None:
        raise ImportError("format='onnx' converts through tf2onnx, which is not installed: pip install tf2onnx.")
    write = litert._litert if format == "litert" else _write_onnx(opset_version)
    path = os.path.abspath(os.fspath(path))
    files = {part: os.path.join(path, f"{part}.{extension}") for part in parts}
    existing = [f for f in files.values() if os.path.exists(f)]
    if existing and not overwrite:
        raise ValueError(f"{existing[0]} already exists; pass overwrite=True to replace it or choose another directory.")
    specs = {
        "encode": (_encode, tf.TensorSpec((None, *model.data_shape), tf.float32, name="x")),
        "decode": (_decode, tf.TensorSpec((None, model.decode_width), tf.float32, name="z")),
    }
    os.makedirs(path, exist_ok=True)
    for part in parts:
        fn, spec = specs[part]
        staging = files[part] + ".partial." + extension
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # the converters print pages
                write(_parts._Part(model, fn, name=f"{model.name}_{part}"), staging, [spec])
        except Exception as err:  # noqa: BLE001 - re-raised naming the part
            if os.path.exists(staging):
                os.remove(staging)
            raise ValueError(
                f"The '{part}' part of {model.name} (inference={model.inference!r}, architecture="
                f"{model.architecture!r}, likelihood "
                f"{type(model.likelihood_layer).__name__}) cannot be converted to {runtime}: "
                f"{type(err).__name__}: {str(err).strip().splitlines()[0][:300] if str(err).strip() else ''}. "
                "Serve this part from the SavedModel export (which runs every TensorFlow operation)."
            ) from err
        os.replace(staging, files[part])
    return files
