"""The deterministic parts of a VAE as small Keras models, for Keras' own
single-endpoint exporters (LiteRT, ONNX).

``encode``: x -> the posterior's natural parameters (``mean``, ``stddev`` for the
diagonal Gaussian) and its representative ``point``; ``decode``: z -> ``x_mean``,
the mean of p(x|z). No random op: these run on any runtime that has the layers' ops.
"""
from __future__ import annotations

import re
from typing import Callable

import keras
import tensorflow as tf

#: the parts every runtime format writes, in order.
PARTS = ("encode", "decode")
#: parts a runtime cannot take, with the reason (the error message says it).
UNSUPPORTED = {
    "sample": (
        "it draws random numbers: the seeded stateless random ops "
        "(StatelessRandomGetKeyCounter, StatelessRandomNormalV2) have no {runtime} kernel "
        "({detail}; checked with Keras' exporter). Sample z ~ N(0, I) "
        "on the client and run the 'decode' part, or serve the SavedModel's 'sample' "
        "signature"
    ),
    "score": (
        "it decodes K importance samples per example and is served by the SavedModel's "
        "'score' signature; export 'encode' and 'decode' and compute the estimate on "
        "the client if {runtime} is a must"
    ),
    "reconstruct": (
        "it is decode(encode(x)['point']): run the two parts in a row"
    ),
}


def _f32(t) -> tf.Tensor:
    return tf.cast(t, tf.float32)


def _encode(vae, x):
    params = vae.posterior_parameters(vae.to_model_units(_f32(x)), training=False)
    try:
        outputs = {str(k): _f32(v) for k, v in vae.posterior_layer.natural_parameters(params).items()}
    except NotImplementedError:
        outputs = {}
    outputs["point"] = _f32(vae.posterior_layer.point(params))
    return outputs


def _decode(vae, z):
    return {"x_mean": _f32(vae.likelihood(_f32(z), training=False).mean())}


class _Part(keras.Model):
    """One part of ``vae`` as a Keras model whose ``call`` is that part (shares the
    VAE's variables; never saved)."""

    def __init__(self, vae, fn: Callable, **kwargs):
        super().__init__(**kwargs)
        self.vae = vae
        self._fn = fn
        self.built = True  # the VAE is built; this wrapper adds no weights

    def call(self, inputs):
        return self._fn(self.vae, inputs)


def part_models(vae, parts) -> dict[str, tuple[keras.Model, list[tf.TensorSpec]]]:
    """``{part: (model, input_signature)}`` for the parts asked for, in order."""
    specs = {
        "encode": (_encode, tf.TensorSpec((None, *vae.data_shape), tf.float32, name="x")),
        "decode": (_decode, tf.TensorSpec((None, vae.latent_dim), tf.float32, name="z")),
    }
    return {
        name: (_Part(vae, specs[name][0], name=f"{vae.name}_{name}"), [specs[name][1]])
        for name in parts
    }


def check_parts(vae, parts, runtime: str, detail: str) -> tuple[str, ...]:
    """Validate ``parts`` (a sequence of part names) for ``runtime``; return them."""
    if getattr(vae, "data_shape", None) is None:
        raise ValueError(
            f"{getattr(vae, 'name', 'The VAE')} is not built, so the input shapes of the "
            f"{runtime} model are unknown. Build it first: pass input_shape=... to VAE() or "
            "fit it on data."
        )
    if isinstance(parts, str):
        parts = (parts,)
    parts = tuple(parts)
    if not parts:
        raise ValueError(f"parts must name at least one of {PARTS}, got {parts!r}.")
    for part in parts:
        if part in UNSUPPORTED:
            reason = UNSUPPORTED[part].format(runtime=runtime, detail=detail)
            raise ValueError(f"The '{part}' part cannot be exported to {runtime}: {reason}.")
        if part not in PARTS:
            raise ValueError(
                f"Unknown part {part!r} for {runtime}: the parts are {PARTS} (deterministic); "
                f"{tuple(UNSUPPORTED)} are served by the SavedModel export."
            )
    return parts


def conversion_error(part: str, runtime: str, vae, error: BaseException) -> ValueError:
    """A converter's failure, naming the part, the components it runs and why."""
    components = (
        f"encoder {type(vae.encoder).__name__} and posterior {type(vae.posterior_layer).__name__}"
        if part == "encode"
        else f"decoder {type(vae.decoder).__name__} and likelihood {type(vae.likelihood_layer).__name__}"
    )
    text = str(error)
    # The converters name the failing TensorFlow op as fused["Op:", ...] (LiteRT)
    # or in the checker's "No Op registered for Op" (ONNX).
    ops = sorted(
        (set(re.findall(r'fused\["([A-Za-z0-9_]+):', text))
         | set(re.findall(r"No Op registered for ([A-Za-z0-9_]+)", text)))
        - {"StatefulPartitionedCall", "PartitionedCall"}  # the call wrappers, not the op
    )
    if ops:
        why = f"it uses the TensorFlow operation(s) {', '.join(ops)}, which {runtime} has no built-in kernel for"
    else:
        first = next((line for line in text.strip().splitlines() if line.strip()), "")
        why = f"{type(error).__name__}: {first[:300]}"
    return ValueError(
        f"The '{part}' part ({components}) cannot be converted to {runtime}: {why}. "
        "Use operations the runtime supports in that component, or serve this part "
        "from the SavedModel export (which runs every TensorFlow operation)."
    )
