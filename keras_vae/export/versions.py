"""The TF Serving directory layout: ``<base>/<integer version>/``.

TF Serving reads every integer-named folder under the model's base path as a version
(an int64) and serves the highest. This module picks the version folder of an export,
refuses paths that would nest one model inside another (a base inside a version
folder or inside any SavedModel), and publishes a finished export atomically with the
permissions a server running as another user can read.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from typing import Callable

import numpy as np

from keras_vae import _leftovers

#: The largest version TF Serving can represent (versions are int64).
MAX_VERSION = 2**63 - 1
_VERSION_RE = re.compile(r"^\d{1,19}$")


def _is_version_name(name: str) -> bool:
    """Whether TF Serving would read ``name`` as a version (a decimal int64)."""
    return bool(_VERSION_RE.match(name)) and int(name) <= MAX_VERSION


def _existing_versions(base: str) -> list[int]:
    if not os.path.isdir(base):
        return []
    return sorted(
        int(name)
        for name in os.listdir(base)
        if _is_version_name(name) and os.path.isdir(os.path.join(base, name))
    )


def _enclosing_saved_model(path: str) -> str | None:
    """The nearest folder at or above ``path`` that is a SavedModel, if any."""
    current = path
    while True:
        if os.path.isfile(os.path.join(current, "saved_model.pb")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def _check_version(version) -> int:
    if (
        isinstance(version, bool)
        or not isinstance(version, (int, np.integer))
        or not 0 <= int(version) <= MAX_VERSION
    ):
        raise ValueError(
            f"version must be an integer in [0, 2**63 - 1] (TF Serving reads versions "
            f"as int64), got {version!r}. Pass version=None for the next free one."
        )
    return int(version)


def _resolve_target(path, version, overwrite: bool) -> tuple[str, int]:
    """Return (base directory, version) for the export, or raise ValueError.

    Example:
        >>> import tempfile
        >>> base = tempfile.mkdtemp()
        >>> _resolve_target(base, None, False)[1]       # a new base starts at 1
        1
        >>> _resolve_target(f"{base}/7", None, False)[1]  # "<base>/7": version 7
        7
    """
    path = os.path.abspath(os.fspath(path))
    name = os.path.basename(path)
    enclosing = _enclosing_saved_model(path)
    if enclosing is not None:
        what = "itself a SavedModel" if enclosing == path else f"inside the SavedModel {enclosing!r}"
        if not (version is None and enclosing == path and _VERSION_RE.match(name)):
            # (an existing "<base>/3" without version= is version 3: refused below)
            raise ValueError(
                f"{path!r} is {what} (a version folder of another model). Pass the "
                "model's own base directory (e.g. 'models/vae'); versions are written to "
                "<base>/<integer version>/."
            )
    if version is None and _VERSION_RE.match(name):
        # "models/vae/3" already names a version directory (the quick-start form).
        base, version = os.path.dirname(path), _check_version(int(name))
    elif version is not None and _VERSION_RE.match(name):
        raise ValueError(
            f"{path!r} ends in the integer {name}, which TF Serving reads as a version "
            f"folder, and version={version!r} would nest a version inside it. Pass the "
            f"model's base directory, export({os.path.dirname(path)!r}, "
            f"version={version!r}), or the version folder alone, export({path!r})."
        )
    else:
        base = path
    if os.path.exists(base) and not os.path.isdir(base):
        raise ValueError(f"Export path {base!r} exists and is not a directory.")
    enclosing = _enclosing_saved_model(base)
    if enclosing is not None:
        raise ValueError(
            f"{base!r} is inside the SavedModel {enclosing!r}. Pass the model's own base "
            "directory (e.g. 'models/vae'); versions are written to <base>/<integer version>/."
        )
    if version is None:
        existing = _existing_versions(base)
        if existing and existing[-1] >= MAX_VERSION:
            raise ValueError(
                f"{base!r} already holds version {existing[-1]}, the largest TF Serving "
                "can read (2**63 - 1): there is no next version. Pass version= explicitly."
            )
        version = existing[-1] + 1 if existing else 1
    version = _check_version(version)
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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _make_readable(root: str) -> None:
    """Folders ``0777 & ~umask`` and files ``0666 & ~umask`` (``0755`` / ``0644``
    under the usual umask), as Keras' own export and a plain ``mkdir`` give: the
    staging folder starts ``0700`` and a server running as another user must read it."""
    mask = _umask()
    os.chmod(root, 0o777 & ~mask)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            os.chmod(os.path.join(folder, name), 0o777 & ~mask)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o666 & ~mask)


def publish(base: str, version: int, write: Callable[[str], None], overwrite: bool) -> str:
    """Write a version with ``write(staging_folder)`` and rename it into place.

    The staging folder is hidden (``.tmp-export-<version>-*``: not an integer, so TF
    Serving ignores it) and in ``base`` (same file system). When ``overwrite``
    replaces a version, the old folder is first renamed aside, so the version is
    never half-written; it is missing only between two renames. Leftovers of an
    export whose process was killed are removed first.

    Returns:
        The version folder.
    """
    os.makedirs(base, exist_ok=True)
    target = os.path.join(base, str(version))
    # Staging and retired folders of exports whose process was killed.
    _leftovers.sweep(base, r"\.(tmp|old)-export-\d+-pid(?P<pid>\d+)-.*")
    staging = tempfile.mkdtemp(prefix=f".tmp-export-{version}-{_leftovers.tag()}-", dir=base)
    retired = None
    try:
        write(staging)
        _make_readable(staging)
        if os.path.isdir(target):
            if os.listdir(target) and not overwrite:
                raise ValueError(
                    f"{target!r} was created by someone else while exporting; not "
                    "replacing it."
                )
            retired = tempfile.mkdtemp(prefix=f".old-export-{version}-{_leftovers.tag()}-", dir=base)
            os.rename(target, os.path.join(retired, "old"))
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if retired is not None and not os.path.exists(target):
            os.rename(os.path.join(retired, "old"), target)  # put the old version back
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)
        raise
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)
    return target
