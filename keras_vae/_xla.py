"""When a VAE's training step is compiled with XLA, and how.

Keras' ``jit_compile="auto"`` never uses XLA on a CPU-only machine. For a VAE that
leaves speed on the table: a dense VAE step at batch 128 is dominated by dozens of
small element-wise ops (the Adam update, the likelihood, the KL), which XLA fuses;
``benchmarks/throughput.py`` measures the difference. Convolutions are the exception:
XLA's CPU convolutions are slower than TensorFlow's oneDNN kernels, so a model that
contains any keeps the plain graph.

XLA compiles ``tf.debugging.assert_*`` into nothing, so the VAE compiles only the
update (forward, gradients, optimizer) and runs its data checks outside the
compiled cluster; ``resolve`` is the rule for ``"auto"``.
"""
from __future__ import annotations

import os
import warnings

import keras
import tensorflow as tf

from keras_vae._random import _op_determinism_enabled


def _layer_classes(*names: str) -> tuple:
    return tuple(getattr(keras.layers, n) for n in names if hasattr(keras.layers, n))


# Layers whose XLA CPU kernels are slower than TensorFlow's own (convolutions measured:
# ``benchmarks/throughput.py --arch conv --jit-compile true`` against ``false``; pooling,
# up-sampling and convolutional RNNs are built from the same kernels).
_SLOW_ON_XLA_CPU = _layer_classes(
    "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
    "SeparableConv1D", "SeparableConv2D", "DepthwiseConv1D", "DepthwiseConv2D",
    "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D",
    "MaxPooling1D", "MaxPooling2D", "MaxPooling3D",
    "AveragePooling1D", "AveragePooling2D", "AveragePooling3D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
    "UpSampling1D", "UpSampling2D", "UpSampling3D",
)
# Keras layers that run the user's own code, which may use ops XLA cannot compile.
_RUNS_USER_CODE = _layer_classes("Lambda", "TFSMLayer")
# Code we know compiles: Keras' own layers and keras_vae's built-in components.
_KNOWN_PACKAGES = ("keras.", "keras_vae.")


def _known(obj) -> bool:
    module = type(obj).__module__ + "."
    return (
        module.startswith(_KNOWN_PACKAGES)
        and not module.startswith("keras_vae.testing.")
        and not isinstance(obj, _RUNS_USER_CODE)
    )


ENV_VAR = "KERAS_VAE_JIT_COMPILE"
_OFF = ("0", "false", "off", "no")


def auto_allowed() -> bool:
    """Whether ``"auto"`` may choose XLA at all: ``$KERAS_VAE_JIT_COMPILE`` unset or
    ``auto``; ``false`` (or ``0`` / ``off`` / ``no``) makes every ``"auto"`` in
    keras_vae (training, evaluation, log-likelihood, AIS/HMC) run without XLA, e.g. when
    its compile time dominates short runs or when debugging. An explicit
    ``jit_compile=True`` is kept. ``true`` / ``1`` / ``on`` / ``yes`` mean ``auto`` (the
    variable only turns XLA off); any other value is refused with a ``ValueError``
    (tests/test_xla.py).
    """
    value = os.environ.get(ENV_VAR, "auto").strip().lower()
    if value in ("", "auto", "1", "true", "on", "yes"):
        return True
    if value in _OFF:
        return False
    raise ValueError(f"${ENV_VAR} must be 'auto' or 'false', got {value!r}")


def _has_accelerator() -> bool:
    return any(d.device_type != "CPU" for d in tf.config.list_physical_devices())


def resolve(model: keras.Model, jit_compile, run_eagerly: bool = False) -> bool:
    """The ``jit_compile`` a VAE trains with, given what ``compile`` was passed.

    ``True`` / ``False`` are kept, except that ``True`` under a ``tf.distribute``
    strategy warns and gives ``False`` (Keras also refuses ``True`` for layers that set
    ``supports_jit = False``). ``"auto"`` means XLA when all of these hold:

    * the step runs as a graph (not ``run_eagerly``), outside a ``tf.distribute``
      strategy and without op determinism (as Keras' own rule);
    * every layer reports ``supports_jit``;
    * on a CPU-only machine, in addition: float32 compute in every layer; every layer
      and the objective come from Keras or keras_vae, and no ``Lambda`` layer runs
      user code (third-party code may use ops XLA cannot compile; pass
      ``jit_compile=True`` to opt in); and no layer is a convolution, pooling or
      up-sampling layer.

    A VAE that is not built yet has no layers to judge: ``"auto"`` gives ``False``
    then, and the VAE asks again when it makes a step function. ``$KERAS_VAE_JIT_COMPILE=false``
    makes ``"auto"`` give ``False`` everywhere (``auto_allowed``).
    """
    in_strategy = tf.distribute.has_strategy() or getattr(model, "_distribute_strategy", None)
    if jit_compile == "auto" and not auto_allowed():  # checked first: a bad value is refused at compile
        return False
    if jit_compile != "auto":
        if jit_compile and in_strategy:
            # The optimizer's cross-replica update (merge_call) cannot run inside XLA.
            warnings.warn(
                "jit_compile=True is not supported for a VAE under a tf.distribute "
                "strategy; training without XLA.",
                stacklevel=3,
            )
            return False
        return bool(jit_compile)
    if model.data_shape is None or run_eagerly or in_strategy or _op_determinism_enabled():
        return False
    layers = list(model._flatten_layers(include_self=False))
    if not all(getattr(layer, "supports_jit", True) for layer in layers):
        return False
    if _has_accelerator():
        return True
    return (
        all(_compute_dtype(layer) == "float32" for layer in [model, *layers])
        and all(_known(layer) for layer in layers)
        and _known(getattr(model, "objective", None))
        and not any(isinstance(layer, _SLOW_ON_XLA_CPU) for layer in layers)
    )


def likelihood_compiles(model: keras.Model) -> bool:
    """Whether ``"auto"`` compiles the likelihood's ``log_prob`` alone with XLA, as the
    log-likelihood estimator does around a decoder left to TensorFlow's own kernels.

    The per-element density and its sum over the data are a chain of element-wise ops
    that the plain graph runs as one pass over memory each, and XLA fuses into one; the
    decoder's matrix products (or convolutions) stay on TensorFlow's oneDNN kernels,
    which are faster than XLA's on a CPU (``benchmarks/log_likelihood.py``). True when
    the likelihood head is Keras' or keras_vae's own (not user code), float32,
    ``supports_jit``, and no ``tf.distribute`` strategy or op determinism is in force.
    """
    if not auto_allowed():
        return False
    head = getattr(model, "likelihood_layer", None)
    if head is None or tf.distribute.has_strategy() or _op_determinism_enabled():
        return False
    layers = [head, *head._flatten_layers(include_self=False)]
    return all(
        getattr(layer, "supports_jit", True) and _known(layer) and _compute_dtype(layer) == "float32"
        for layer in layers
    )


def _compute_dtype(layer) -> str:
    policy = getattr(layer, "dtype_policy", None)
    return getattr(policy, "compute_dtype", "float32")
