"""The deterministic parts of a VAE as small Keras models, for Keras' own
single-endpoint exporters (LiteRT, ONNX).

``encode``: x -> the posterior's natural parameters (``mean``, ``stddev`` for the
diagonal Gaussian) and its representative ``point``; ``decode``: z -> ``x_mean``,
the mean of p(x|z). No random op: these run on any runtime that has the layers' ops.

A conditioned model's parts take the condition as a second input, ``condition``
(``(batch, *example_shape)`` in the condition layer's dtype: int32 labels for
``one_hot``, float32 for ``vector``): ``encode(x, condition)`` is q(z | x, c) and
``decode(z, condition)`` the mean of p(x | z, c). The runtimes run no checks: a label
outside ``[0, num_classes)`` becomes an all-zero one-hot there (check it on the client).
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


def _encode(vae, x, condition=None):
    x = vae.to_model_units(_f32(x))
    params = (vae.posterior_parameters(x, training=False) if condition is None
              else vae.posterior_parameters(x, training=False, condition=condition))
    try:
        outputs = {str(k): _f32(v) for k, v in vae.posterior_layer.natural_parameters(params).items()}
    except NotImplementedError:
        outputs = {}
    outputs["point"] = _f32(vae.posterior_layer.point(params))
    return outputs


def _decode(vae, z, condition=None):
    if condition is None:
        return {"x_mean": _f32(vae.likelihood(_f32(z), training=False).mean())}
    return {"x_mean": _f32(vae.likelihood(_f32(z), training=False, condition=condition).mean())}


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


class _ConditionedPart(_Part):
    """A part of a conditioned ``vae``: its input and the condition (the exporters
    bind one signature entry to each argument of ``call``)."""

    def call(self, inputs, condition):
        return self._fn(self.vae, inputs, condition)


def _condition_spec(vae) -> tf.TensorSpec | None:
    layer = getattr(vae, "condition_layer", None)
    if layer is None:
        return None
    return tf.TensorSpec((None, *layer.example_shape), layer.input_dtype, name="condition")


def part_models(vae, parts) -> dict[str, tuple[keras.Model, list[tf.TensorSpec]]]:
    """``{part: (model, input_signature)}`` for the parts asked for, in order (a
    conditioned model's parts take ``[input, condition]``)."""
    specs = {
        "encode": (_encode, tf.TensorSpec((None, *vae.data_shape), tf.float32, name="x")),
        "decode": (_decode, tf.TensorSpec((None, vae.latent_dim), tf.float32, name="z")),
    }
    condition = _condition_spec(vae)
    part = _Part if condition is None else _ConditionedPart
    extra = [] if condition is None else [condition]
    return {
        name: (part(vae, specs[name][0], name=f"{vae.name}_{name}"), [specs[name][1], *extra])
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
