"""One registry for every swappable component, and entry-point plugin discovery.

A component is registered once, under a *kind* and a short *name*::

    @keras_vae.register("likelihood", "student_t")
    class StudentT(keras_vae.likelihoods.Likelihood):
        ...

after which ``"student_t"`` is accepted anywhere a likelihood is, and the class is
also registered with ``keras.saving.register_keras_serializable`` so ``.keras`` files
that contain it load again.

Third-party packages announce components through entry-point groups, one per kind
(``keras_vae.encoders``, ``keras_vae.decoders``, ``keras_vae.posteriors``,
``keras_vae.likelihoods``, ``keras_vae.priors``, ``keras_vae.objectives``, and for the
other kinds ``keras_vae.models``, ``keras_vae.conditions``, ``keras_vae.quantizers``,
``keras_vae.code_priors``). The entry
point's name is the component's short name and its object the class. Plugins are
loaded lazily, once, the first time a name is looked up or listed; a plugin that fails
to import (any exception, ``SystemExit`` included) is reported as a warning and skipped.

Name clashes are settled the same way whatever order the plugins are found in:

* a name registered by keras_vae or by the user's own code (a *built-in*) cannot be
  taken by a plugin: the plugin's claim is ignored with a warning;
* a name claimed by two plugins with different classes is given to neither: looking
  it up raises a ``ValueError`` naming both packages, every time, while every other
  name, and every ``.keras`` file (which names classes by package), keeps working.
"""
from __future__ import annotations

import importlib.metadata
import threading
import warnings
from typing import Any, Callable, Iterable

import keras

#: The component kinds a model is assembled from.
KINDS = ("encoder", "decoder", "posterior", "likelihood", "prior", "objective")
#: Every kind the registry holds: the components, the model classes themselves
#: (``"vae"`` and the families; ``keras-vae train --model NAME``) and the conditions
#: (raw side information -> features, for conditioned models), and the pieces of the
#: discrete-latent models: quantizers (vectors -> nearest codes) and code priors
#: (autoregressive priors over grids of code indices).
ALL_KINDS = (*KINDS, "model", "condition", "quantizer", "code_prior")
ENTRY_POINT_GROUPS = {kind: f"keras_vae.{kind}s" for kind in ALL_KINDS}

_REGISTRY: dict[str, dict[str, type]] = {kind: {} for kind in ALL_KINDS}
_PLUGINS_LOADED = False
_PLUGIN_ERRORS: dict[str, str] = {}
_LOCK = threading.RLock()
#: (kind, name) claimed by several plugins -> the error that names them.
_CONFLICTS: dict[tuple[str, str], str] = {}
#: (kind, name) registered from a plugin, with the claim that did it (dropped on rescan).
_FROM_PLUGINS: dict[tuple[str, str], str] = {}
#: While plugins are scanned: the registrations their imports make, per claim.
_SCAN: dict | None = None
_BASES: dict[str, type] = {}


def _check_kind(kind: str) -> None:
    if kind not in _REGISTRY:
        raise ValueError(
            f"Unknown component kind {kind!r}. Known kinds: {', '.join(ALL_KINDS)}."
        )


def _keras_package(cls: type) -> str:
    """The package name Keras files record for ``cls`` (its top-level module)."""
    return cls.__module__.split(".")[0]


def register(kind: str, name: str) -> Callable[[type], type]:
    """Class decorator: register a component under ``kind`` and short ``name``.

    Args:
        kind: one of ``"encoder"``, ``"decoder"``, ``"posterior"``,
            ``"likelihood"``, ``"prior"``, ``"objective"``, or ``"model"`` (a model
            class on ``keras_vae.models.LatentVariableModel``).
        name: the short name users pass as a string, e.g. ``"bernoulli"``.

    Returns:
        The decorator, which returns the class unchanged after registering it with
        keras_vae and with ``keras.saving.register_keras_serializable`` (package =
        the class's top-level module, name = the class name).

    Raises:
        ValueError: if ``kind`` is unknown or ``name`` is already taken by another
            class.

    Example:
        >>> import keras_vae as kv
        >>> @kv.register("prior", "my_prior")
        ... class MyPrior(kv.priors.StandardNormal):
        ...     pass
        >>> kv.get("prior", "my_prior").__class__.__name__
        'MyPrior'
    """
    _check_kind(kind)
    if not isinstance(name, str) or not name:
        raise ValueError(f"A component name must be a non-empty string, got {name!r}.")

    def decorator(cls: type) -> type:
        _add(kind, name, cls)
        return cls

    return decorator


def _add(kind: str, name: str, cls: type) -> None:
    with _LOCK:
        if _SCAN is not None and not cls.__module__.startswith("keras_vae."):
            # A plugin module registering itself while plugins are scanned: settled
            # with every other claim once all plugins are imported.
            _SCAN["claims"].append((kind, name, cls, _SCAN["source"]))
            return
        existing = _REGISTRY[kind].get(name)
        if existing is cls:
            return
        if existing is not None:
            raise ValueError(
                f"Duplicate {kind} name {name!r}: already registered to "
                f"{existing.__module__}.{existing.__qualname__}, cannot also register "
                f"{cls.__module__}.{cls.__qualname__}. Choose another name."
            )
        keras.saving.register_keras_serializable(
            package=_keras_package(cls), name=cls.__name__
        )(cls)
        _REGISTRY[kind][name] = cls
        cls.component_kind = kind
        cls.component_name = name


def _entry_points(group: str) -> Iterable[importlib.metadata.EntryPoint]:
    return importlib.metadata.entry_points(group=group)


def _source(ep) -> str:
    """``package (module:object)`` of an entry point, for messages."""
    dist = getattr(ep, "dist", None)
    package = getattr(dist, "name", None) or ep.value.split(":")[0].split(".")[0]
    return f"{package} ({ep.value})"


def _class_source(cls: type) -> str:
    return f"{_keras_package(cls)} ({cls.__module__}:{cls.__qualname__})"


def load_plugins(force: bool = False) -> None:
    """Import every installed plugin (once; ``force=True`` rescans).

    Never raises for a plugin's sake. A plugin that fails to import (any exception,
    ``SystemExit`` included; only ``KeyboardInterrupt`` propagates) gives a
    ``RuntimeWarning`` naming the plugin and the error and is skipped. A plugin
    claiming a built-in name is ignored with a warning. A name claimed by two
    plugins is unavailable: a warning now, and ``get`` / ``get_class`` raise a
    ``ValueError`` naming both packages every time it is looked up. The outcome does
    not depend on the order in which plugins are found.

    Example:
        >>> import keras_vae as kv
        >>> kv.load_plugins()          # idempotent; plugins are also loaded lazily
    """
    global _PLUGINS_LOADED, _SCAN
    with _LOCK:
        if _PLUGINS_LOADED and not force:
            return
        _PLUGINS_LOADED = True
        for kind, name in list(_FROM_PLUGINS):  # a rescan starts from the built-ins
            _REGISTRY[kind].pop(name, None)
        _FROM_PLUGINS.clear()
        _CONFLICTS.clear()
        _PLUGIN_ERRORS.clear()
        claims: list[tuple[str, str, type, str]] = []
        for kind, group in ENTRY_POINT_GROUPS.items():
            for ep in sorted(_entry_points(group), key=lambda e: (e.name, e.value)):
                _SCAN = {"claims": [], "source": _source(ep)}
                try:
                    obj = ep.load()
                    if not isinstance(obj, type):
                        raise TypeError(f"{ep.value} is not a class")
                except KeyboardInterrupt:
                    raise
                except BaseException as exc:  # a broken plugin must not break keras_vae
                    _skip_plugin(ep, group, exc)
                    continue
                finally:
                    made, _SCAN = _SCAN["claims"], None
                claims.extend(made)
                claims.append((kind, ep.name, obj, _source(ep)))
        _settle(claims)


def _settle(claims: list[tuple[str, str, type, str]]) -> None:
    """Register the plugin claims: built-ins win, a name two plugins claim is nobody's."""
    by_name: dict[tuple[str, str], dict[type, str]] = {}
    for kind, name, cls, source in claims:
        by_name.setdefault((kind, name), {}).setdefault(cls, source)
    for (kind, name), classes in sorted(by_name.items()):
        builtin = _REGISTRY[kind].get(name)
        others = {cls: src for cls, src in classes.items() if cls is not builtin}
        if builtin is not None:
            for source in sorted(others.values()):
                warnings.warn(
                    f"keras_vae plugin {source} claims the {kind} name {name!r}, which "
                    f"belongs to {_class_source(builtin)}; the plugin's claim is ignored. "
                    "Rename the plugin's entry point.",
                    RuntimeWarning,
                    stacklevel=3,
                )
            continue
        for cls in classes:  # .keras files name classes by package: all stay loadable
            keras.saving.register_keras_serializable(package=_keras_package(cls), name=cls.__name__)(cls)
        if len(classes) > 1:
            packages = " and ".join(sorted(classes.values()))
            _CONFLICTS[(kind, name)] = (
                f"The {kind} name {name!r} is claimed by several plugins: {packages}. It is "
                "unavailable until one of them is uninstalled or renames its entry point; "
                "use the class itself (or a .keras file) meanwhile."
            )
            warnings.warn(_CONFLICTS[(kind, name)], RuntimeWarning, stacklevel=3)
            continue
        (cls, source), = classes.items()
        _add(kind, name, cls)
        _FROM_PLUGINS[(kind, name)] = source


def _skip_plugin(ep, group: str, exc: BaseException) -> None:
    _PLUGIN_ERRORS[ep.name] = f"{type(exc).__name__}: {exc}"
    warnings.warn(
        f"keras_vae plugin {ep.name!r} ({ep.value}, group {group}) failed to load and "
        f"is skipped: {type(exc).__name__}: {exc}",
        RuntimeWarning,
        stacklevel=4,
    )


def list_components(kind: str | None = None) -> dict[str, list[str]] | list[str]:
    """The registered names, built-in and plugin.

    Args:
        kind: a kind to list; ``None`` lists all kinds.

    Returns:
        A sorted list of names for one kind, or a dict ``{kind: [names]}``.

    Example:
        >>> import keras_vae as kv
        >>> "bernoulli" in kv.list_components("likelihood")
        True
    """
    load_plugins()
    if kind is None:
        return {k: sorted(v) for k, v in _REGISTRY.items()}
    _check_kind(kind)
    return sorted(_REGISTRY[kind])


def get_class(kind: str, name: str) -> type:
    """The class registered under ``kind`` / ``name`` (loads plugins if needed)."""
    _check_kind(kind)
    if name not in _REGISTRY[kind]:
        load_plugins()
    if (kind, name) in _CONFLICTS:
        raise ValueError(_CONFLICTS[(kind, name)])
    try:
        return _REGISTRY[kind][name]
    except KeyError:
        available = ", ".join(sorted(_REGISTRY[kind])) or "none"
        hint = ""
        if name in _PLUGIN_ERRORS:
            hint = f" A plugin named {name!r} is installed but failed to load: {_PLUGIN_ERRORS[name]}."
        raise ValueError(
            f"Unknown {kind} {name!r}. Available {kind}s: {available}.{hint} "
            f"Third-party {kind}s are found through the '{ENTRY_POINT_GROUPS[kind]}' "
            "entry-point group once their package is installed."
        ) from None


def get(kind: str, spec: Any, **overrides: Any) -> Any:
    """Turn a component spec into an instance.

    Args:
        kind: the component kind (see ``KINDS``).
        spec: a registered name (``"bernoulli"``); a dict ``{"name": ..., **kwargs}``
            or ``{"name": ..., "config": {...}}``; a Keras serialized dict (with
            ``"class_name"``); or an instance, returned as is. For encoders and
            decoders any ``keras.layers.Layer`` (including a functional model) is an
            instance.
        **overrides: extra constructor arguments used when a new instance is built
            from a name or dict.

    Raises:
        ValueError: unknown name (the message lists the available ones), or a spec
            of an unsupported type.

    Example:
        >>> import keras_vae as kv
        >>> kv.get("likelihood", {"name": "gaussian", "scale": 0.5}).scale
        0.5
    """
    return _checked(kind, _make(kind, spec, overrides))


def register_base(kind: str, cls: type) -> type:
    """Declare the base class every ``kind`` component must be an instance of.

    Each component package's base class calls this (as TFP's KL registry knows no
    distribution, the registry imports no component). Encoders and decoders need
    only be Keras layers.
    """
    _check_kind(kind)
    _BASES[kind] = cls
    return cls


def _base_class(kind: str) -> type:
    """What an instance of ``kind`` must be (declared by the kind's base class)."""
    if kind in ("encoder", "decoder"):
        return keras.layers.Layer
    return _BASES.get(kind, object)


def _checked(kind: str, obj: Any) -> Any:
    base = _base_class(kind)
    if kind == "objective":
        # An Objective subclass, or (older style) a callable
        # objective(log_likelihood, kl) with get_config; never a layer.
        ok = isinstance(obj, base) or (
            callable(obj) and hasattr(obj, "get_config") and not isinstance(obj, keras.layers.Layer)
        )
    else:
        ok = isinstance(obj, base)
    if not ok:
        expected = (
            "a keras_vae.objectives.Objective (or a callable objective(log_likelihood, "
            "kl) with get_config), not a layer"
            if kind == "objective"
            else base.__name__
        )
        raise ValueError(
            f"A {kind} must be {expected}, got {type(obj).__name__}. Available {kind}s: "
            f"{', '.join(list_components(kind))}."
        )
    return obj


def _make(kind: str, spec: Any, overrides: dict) -> Any:
    _check_kind(kind)
    if isinstance(spec, str):
        return get_class(kind, spec)(**overrides)
    if isinstance(spec, dict):
        if "class_name" in spec:
            return keras.saving.deserialize_keras_object(spec)
        if "name" not in spec:
            raise ValueError(
                f"A {kind} given as a dict needs a 'name' key naming a registered "
                f"{kind} (available: {', '.join(list_components(kind))}), got keys "
                f"{sorted(spec)}."
            )
        kwargs = dict(spec.get("config", {}))
        kwargs.update({k: v for k, v in spec.items() if k not in ("name", "config")})
        kwargs.update(overrides)
        return get_class(kind, spec["name"])(**kwargs)
    if isinstance(spec, keras.layers.Layer) or hasattr(spec, "get_config"):
        return spec
    raise ValueError(
        f"Cannot make a {kind} from {spec!r} (type {type(spec).__name__}). Pass a "
        f"registered name (one of: {', '.join(list_components(kind))}), a config dict "
        f"or a keras.layers.Layer instance."
    )
