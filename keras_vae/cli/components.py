"""Components for the command line, straight from the registry.

Every kind takes any registered name, built-in or plugin, and its options are the
keyword arguments of the registered class (read with ``inspect.signature``); nothing
here knows a component by name.
"""
from __future__ import annotations

import inspect
import json
from typing import Any

from keras_vae.cli.errors import UsageError
from keras_vae.cli.kinds import COMPONENT_KINDS

# Constructor arguments the VAE gives its components itself (from --latent-dim and
# the data's shape): never options.
MODEL_SUPPLIED = ("latent_dim", "data_shape")
# keras.layers.Layer's own keyword arguments, kept out of the options of a component
# read from a VAE.get_config() entry.
_LAYER_KEYS = ("name", "trainable", "dtype", "autocast", "input_dim", "input_shape")


def _registry():
    from keras_vae.cli._startup import load_library

    load_library()
    from keras_vae import registry

    return registry


def options_of(cls: type) -> dict[str, Any]:
    """``{option: default}`` of a component class (``inspect.Parameter.empty`` when
    required), without ``self``, ``*args``, ``**kwargs`` and :data:`MODEL_SUPPLIED`.

    Example:
        >>> import keras_vae as kv
        >>> from keras_vae.cli.components import options_of
        >>> options_of(kv.registry.get_class("encoder", "mlp"))["hidden_units"]
        (400,)
    """
    try:
        signature = inspect.signature(cls.__init__)
    except (TypeError, ValueError):  # pragma: no cover - builtins without signatures
        return {}
    found = {}
    for index, (name, parameter) in enumerate(signature.parameters.items()):
        if index == 0 or parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if name in MODEL_SUPPLIED:
            continue
        found[name] = parameter.default
    return found


def _shown(value: Any) -> str:
    if value is inspect.Parameter.empty:
        return "(required)"
    if isinstance(value, tuple):
        value = list(value)
    try:
        return json.dumps(value)
    except TypeError:
        return repr(value)


def describe(kind: str, name: str) -> dict:
    """``{"name", "class", "source", "options": {option: default as JSON text}}``."""
    registry = _registry()
    cls = registry.get_class(kind, name)
    package = cls.__module__.split(".")[0]
    return {
        "name": name,
        "class": f"{cls.__module__}.{cls.__qualname__}",
        "source": "built-in" if package == "keras_vae" else f"plugin ({package})",
        "options": {option: _shown(default) for option, default in options_of(cls).items()},
    }


def spec_from_mapping(kind: str, value: dict) -> tuple[str, dict]:
    """``(name, options)`` from ``{"name": ..., **options}`` or from a component's
    entry of ``VAE.get_config()`` (a Keras-serialized layer).

    Options equal to the class's defaults are left out of a ``get_config()`` entry, so
    a model read back from its config is described as it was given.
    """
    if "name" in value and "class_name" not in value:
        options = {k: v for k, v in value.items() if k not in ("name", "config")}
        options.update(value.get("config") or {})
        return value["name"], options
    if "class_name" not in value:
        raise ValueError(
            f"a {kind} given as a mapping needs 'name' (a registered {kind}) and its options, "
            f"e.g. {{\"name\": \"...\", \"option\": value}}; got keys {sorted(value)}"
        )
    registry = _registry()
    import keras

    registered = value.get("registered_name") or value["class_name"]
    cls = keras.saving.get_registered_object(registered)
    if cls is None:
        cls = type(keras.saving.deserialize_keras_object(value))
    name = getattr(cls, "component_name", None)
    if name is None or registry.get_class(kind, name) is not cls:
        raise ValueError(f"{registered!r} is not a registered {kind}")
    config = value.get("config") or {}
    defaults = options_of(cls)
    options = {}
    for option, default in defaults.items():
        if option in config and option not in _LAYER_KEYS:
            given = config[option]
            same = default is not inspect.Parameter.empty and _json_equal(given, default)
            if not same:
                options[option] = given
    return name, options


def _json_equal(a: Any, b: Any) -> bool:
    try:
        return json.dumps(a, sort_keys=True, default=list) == json.dumps(b, sort_keys=True, default=list)
    except TypeError:
        return a == b


def _where(key: str, flag_keys: set, source: str) -> str:
    if key in flag_keys:
        return "--" + key.replace("_", "-")
    return f"{source}: {key}"


def resolve_components(settings, flag_keys: set = frozenset(), source: str = "settings"):
    """Check every component against the registry and fold ``hidden_units`` and
    ``beta`` into the options of the components that take them.

    Each component is built once from its options, so that a bad option value is
    reported here, naming its flag (or config key), before any data is read.

    Returns:
        A new ``TrainSettings`` with ``hidden_units`` and ``beta`` set to ``None``
        and their values in the options, and options equal to the class's defaults
        left out: one description of the model, the same as :func:`settings_of_model`
        reads from ``VAE.get_config()``.

    Raises:
        UsageError: an unknown name (the message lists the registered ones), an
            unknown option (the message lists the class's), or a value the component
            refuses.
    """
    import dataclasses

    registry = _registry()
    values = settings.to_dict()
    classes = {}
    for kind in COMPONENT_KINDS:
        name = values[kind]
        try:
            classes[kind] = registry.get_class(kind, name)
        except ValueError:
            available = ", ".join(registry.list_components(kind))
            raise UsageError(
                f"{_where(kind, flag_keys, source)}: unknown {kind} {name!r}; registered "
                f"{kind}s: {available} (keras-vae components shows their options)."
            ) from None

    try:
        registry.get_class("model", values["model"])
    except ValueError:
        raise UsageError(
            f"{_where('model', flag_keys, source)}: unknown model {values['model']!r}; registered "
            f"models: {', '.join(registry.list_components('model'))}."
        ) from None

    def fill(kind: str, option: str, value: Any, origin: str) -> None:
        options = values[f"{kind}_options"]
        if option in options_of(classes[kind]) and option not in options:
            options[option] = value
            return
        if option not in options_of(classes[kind]):
            raise UsageError(
                f"{_where(origin, flag_keys, source)}: the {kind} {values[kind]!r} has no "
                f"{option} option (its options: {', '.join(options_of(classes[kind])) or 'none'})."
            )

    if values["hidden_units"] is not None:
        units = list(values["hidden_units"])
        body_takes = [k for k in ("encoder", "decoder") if "hidden_units" in options_of(classes[k])]
        if not body_takes:
            raise UsageError(
                f"{_where('hidden_units', flag_keys, source)}: neither the encoder "
                f"{values['encoder']!r} nor the decoder {values['decoder']!r} takes hidden_units; "
                "give their options with --encoder-options / --decoder-options."
            )
        for kind in body_takes:
            fill(kind, "hidden_units", units if kind == "encoder" else units[::-1], "hidden_units")
    if values["beta"] is not None:
        fill("objective", "beta", values["beta"], "beta")
    values["hidden_units"] = None
    values["beta"] = None

    for kind in COMPONENT_KINDS:
        key = f"{kind}_options"
        known = options_of(classes[kind])
        for option in values[key]:
            if option in MODEL_SUPPLIED:
                raise UsageError(
                    f"{_where(key, flag_keys, source)}: {option} is set by the model "
                    f"({'--latent-dim' if option == 'latent_dim' else 'the data'}), not an option."
                )
            if option not in known:
                shown = ", ".join(f"{k}={_shown(v)}" for k, v in known.items()) or "none"
                raise UsageError(
                    f"{_where(key, flag_keys, source)}: the {kind} {values[kind]!r} has no option "
                    f"{option!r}; its options: {shown}."
                )
        # One description: options equal to the class's defaults are left out.
        values[key] = {
            option: value
            for option, value in values[key].items()
            if known[option] is inspect.Parameter.empty or not _json_equal(value, known[option])
        }
        try:
            registry.get(kind, {"name": values[kind], **values[key]})
        except (ValueError, TypeError) as exc:
            from keras_vae.cli.errors import one_line

            raise UsageError(f"{_where(key, flag_keys, source)}: {one_line(exc)}") from None
    return dataclasses.replace(settings, **values)


def model_class(settings) -> type:
    """The model class ``settings.model`` names (``VAE`` for ``"vae"``)."""
    return _registry().get_class("model", settings.model)


def model_arguments(settings, input_shape) -> dict:
    """The model's keyword arguments that ``settings`` describe."""
    # A family that reads the settings itself (HierarchicalVAE, with --latent-dims,
    # --inference, --architecture ...; the VQ-VAE): see keras_vae/cli/families.py.
    from keras_vae.cli.families import arguments_hook

    custom = arguments_hook(settings.model, model_class(settings))
    if custom is not None:
        return custom(settings, tuple(input_shape))
    from keras_vae.cli.hierarchical import refuse_flags

    refuse_flags(settings, settings.model)
    arguments = {
        kind: {"name": name, **options} for kind, (name, options) in settings.components().items()
    }
    extra = {"standardize": True} if getattr(settings, "standardize", False) else {}
    return {
        **arguments,
        "latent_dim": settings.latent_dim,
        "input_shape": tuple(input_shape),
        "seed": settings.seed,
        **extra,  # the statistics travel inside the model (keras_vae.preprocessing)
    }


def settings_of_model(vae) -> dict:
    """``{kind: name, kind_options: {...}}`` of a built VAE, read from its
    ``get_config()``: the same description a config file or the flags give."""
    config = vae.get_config()
    described = {}
    for kind in COMPONENT_KINDS:
        name, options = spec_from_mapping(kind, config[kind])
        described[kind] = name
        described[f"{kind}_options"] = options
    return described
