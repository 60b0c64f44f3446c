"""The TF Serving directory layout: ``<base>/<integer version>/``.

TF Serving reads every integer-named folder under the model's base path and serves
the highest version. This module picks the version folder of an export and refuses
paths that would nest one model inside another.
"""
from __future__ import annotations

import os
import re

import numpy as np

_VERSION_RE = re.compile(r"^\d+$")


def _is_version_name(name: str) -> bool:
    return bool(_VERSION_RE.match(name))


def _existing_versions(base: str) -> list[int]:
    if not os.path.isdir(base):
        return []
    return sorted(
        int(name)
        for name in os.listdir(base)
        if _is_version_name(name) and os.path.isdir(os.path.join(base, name))
    )


def _resolve_target(path, version, overwrite: bool) -> tuple[str, int]:
    """Return (base directory, version) for the export, or raise ValueError."""
    path = os.path.abspath(os.fspath(path))
    if version is None and _is_version_name(os.path.basename(path)):
        # "models/vae/3" already names a version directory (the quick-start form).
        base, version = os.path.dirname(path), int(os.path.basename(path))
    else:
        base = path
    if os.path.exists(base) and not os.path.isdir(base):
        raise ValueError(f"Export path {base!r} exists and is not a directory.")
    if os.path.isfile(os.path.join(base, "saved_model.pb")):
        raise ValueError(
            f"{base!r} is itself a SavedModel (a version directory of another model). "
            "Pass the model's base directory (e.g. 'models/vae'); versions are written "
            "to <base>/<integer version>/."
        )
    if version is None:
        existing = _existing_versions(base)
        version = existing[-1] + 1 if existing else 1
    elif isinstance(version, bool) or not isinstance(version, (int, np.integer)) or version < 0:
        raise ValueError(f"version must be a non-negative integer, got {version!r}.")
    version = int(version)
    target = os.path.join(base, str(version))
    if os.path.isdir(target) and os.listdir(target) and not overwrite:
        raise ValueError(
            f"{target!r} already holds a model (version {version} of {base!r}). Use "
            "another version, version=None for the next free one "
            f"({(_existing_versions(base) or [0])[-1] + 1}), or overwrite=True to replace it."
        )
    if os.path.exists(target) and not os.path.isdir(target):
        raise ValueError(f"{target!r} exists and is not a directory.")
    return base, version
