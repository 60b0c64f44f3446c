"""Naming what a ``.keras`` file needs that is not installed: the non-Keras classes
its config names, the plugins keras_vae knows of, and the advice to give (``pip
install`` is suggested only for packages keras_vae knows). Used by
:func:`keras_vae.saving.load_model`."""
from __future__ import annotations

import importlib.metadata
from typing import Any, Iterator

import keras

from keras_vae import registry
from keras_vae._keras_archive import safe as _safe


def _custom_classes(config: Any) -> Iterator[tuple[str, str]]:
    """Yield ``(registered_name, module)`` of every non-Keras class in a config."""
    if isinstance(config, dict):
        name = config.get("registered_name")
        if isinstance(name, str) and ">" in name and "class_name" in config:
            yield name, str(config.get("module") or name.split(">")[0])
        for value in config.values():
            yield from _custom_classes(value)
    elif isinstance(config, list):
        for value in config:
            yield from _custom_classes(value)

def missing_components(config: dict) -> dict[str, str]:
    """``{registered_name: module}`` of classes in ``config`` that are not importable."""
    return {
        name: module
        for name, module in _custom_classes(config)
        if keras.saving.get_registered_object(name) is None
    }


def _plugin_entry_points() -> list:
    """Every announced keras_vae plugin entry point (loaded or not)."""
    found = []
    for group in registry.ENTRY_POINT_GROUPS.values():
        try:
            found.extend(registry._entry_points(group))
        except Exception:  # noqa: BLE001 - broken metadata must not hide the real error
            continue
    return found


def _top_module(entry_point) -> str:
    return entry_point.value.split(":")[0].split(".")[0].strip()


def _known_packages() -> dict[str, str]:
    """``{top-level module: distribution}`` of packages keras_vae knows: those of
    registered components and those announcing keras_vae plugin entry points. Only
    these are ever suggested for ``pip install``; a module named by a file is not."""
    try:
        distributions = importlib.metadata.packages_distributions()
    except Exception:  # noqa: BLE001
        distributions = {}
    known = {"keras_vae": "keras-vae"}
    for classes in registry._REGISTRY.values():
        for cls in classes.values():
            top = registry._keras_package(cls)
            known.setdefault(top, (distributions.get(top) or [top.replace("_", "-")])[0])
    for ep in _plugin_entry_points():
        dist = getattr(ep, "dist", None)
        known.setdefault(_top_module(ep), getattr(dist, "name", None) or _top_module(ep).replace("_", "-"))
    return known


def missing_error(path: str, missing: dict[str, str]) -> ImportError:
    listing = "; ".join(
        f"{_safe(name)} (module {_safe(module)})" for name, module in sorted(missing.items())[:10]
    )
    if len(missing) > 10:
        listing += f"; and {len(missing) - 10} more"
    known = _known_packages()
    entry_points = _plugin_entry_points()
    advice = []
    for top in sorted({module.split(".")[0] for module in missing.values()}):
        if top not in known:
            advice.append(
                f"module {_safe(top)} is not a known keras_vae component package: install "
                "the plugin the model's author used, from a source you trust"
            )
            continue
        advice.append(
            f"install or upgrade {known[top]} (`pip install -U {known[top]}`): the "
            f"installed version does not provide these classes"
        )
        for ep in entry_points:
            if _top_module(ep) == top and ep.name in registry._PLUGIN_ERRORS:
                advice.append(
                    f"its plugin {ep.name!r} is installed but failed to load: "
                    f"{registry._PLUGIN_ERRORS[ep.name]}"
                )
    return ImportError(
        f"{path!r} needs components that are not installed: {listing}. To load it, "
        + "; ".join(advice)
        + "; then load again (or pass custom_objects={...})."
    )
