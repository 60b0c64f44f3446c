"""Saving and loading ``.keras`` files: atomic writes, clear errors, plugins found.

``VAE.save`` goes through :func:`save_model`, which never exposes a partly written
file under the target name: the archive is written to a temporary file in the same
folder, flushed to disk (``fsync``) and renamed over the target (``os.replace``, an
atomic rename on POSIX and Windows). A save that fails, or a process killed while
saving, leaves the previous file untouched; a reader that loads while another
process saves sees either the old or the new model, never a mix.

:func:`load_model` opens the file once and reads everything through that one handle
(so a concurrent save cannot switch files under it), tells a truncated or foreign
file (HDF5, NumPy, another zip) from a ``.keras`` archive, runs Keras' decompression
bomb guard before inflating anything, verifies every member's checksum, loads the
installed plugins, and names what is missing. Text taken from the file is shown only
sanitized, and ``pip install`` is suggested only for packages keras_vae knows.
"""
from __future__ import annotations

import os
import re
import stat
import tempfile
import zipfile
import zlib
from typing import IO, Any, Callable

import keras

from keras_vae import _leftovers, registry
from keras_vae._keras_archive import read_config as _read_config
from keras_vae._keras_archive import safe as _safe
from keras_vae._missing_components import missing_components, missing_error as _missing_error

__all__ = ["load_model", "missing_components", "save_model"]


# ------------------------------------------------------------------ saving
def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_directory(folder: str) -> None:
    """Persist the rename itself (best effort: not every OS opens directories)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_model(
    filepath: str | os.PathLike,
    write: Callable[[str], Any],
    overwrite: bool = True,
) -> None:
    """Write a ``.keras`` file atomically: all of it, or nothing, under ``filepath``.

    ``write(temporary_path)`` produces the archive (``VAE.save`` passes Keras'
    ``Model.save``). It runs on a hidden temporary file beside ``filepath``
    (``.<name>.<random>.tmp.keras``, same file system), which is then flushed and
    fsynced and renamed over ``filepath``. On any error, including
    ``KeyboardInterrupt``, the temporary file is removed and ``filepath`` is left as
    it was. A process killed mid-save leaves the hidden temporary file behind (its
    name holds the process id); the next save to the same name removes it.
    ``filepath`` itself is always either the old or the new model. The new file gets
    the permissions of the file it replaces, or ``0666 & ~umask`` (as a plain
    ``open`` would) when there was none.

    Args:
        filepath: the target ``.keras`` file; its folder must exist.
        write: a function that writes a ``.keras`` archive to the path it is given.
        overwrite: replace an existing file (default, as Keras); ``False`` raises
            ``FileExistsError`` instead of prompting.

    Raises:
        ValueError: ``filepath`` does not end in ``.keras`` (the message gives the fix).
        FileExistsError: the file exists and ``overwrite=False``.
        FileNotFoundError: the folder does not exist.

    Example:
        >>> import os, tempfile, keras_vae as kv
        >>> vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(4,),
        ...              likelihood="gaussian")
        >>> path = os.path.join(tempfile.mkdtemp(), "vae.keras")
        >>> vae.save(path)                       # goes through save_model
        >>> sorted(os.listdir(os.path.dirname(path)))   # no temporary file left
        ['vae.keras']
    """
    path = os.fspath(filepath)
    if not isinstance(path, str) or not path.endswith(".keras"):
        hint = ""
        if isinstance(path, str) and path.endswith((".h5", ".hdf5")):
            hint = (
                " The legacy HDF5 format cannot describe a VAE's components, so such a file "
                "would not load again."
            )
        stem = os.path.splitext(path)[0] if isinstance(path, str) else "model"
        raise ValueError(
            f"A VAE is saved as a .keras archive, got filepath={path!r}.{hint} Use a "
            f"name ending in .keras, e.g. vae.save({stem + '.keras'!r}); for weights only "
            "use vae.save_weights('name.weights.h5')."
        )
    if os.path.islink(path):  # write through the link, as a plain open() would
        path = os.path.realpath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"Cannot save to {path!r}: the folder {folder!r} does not exist. Create it "
            "first (os.makedirs(folder, exist_ok=True))."
        )
    if os.path.isdir(path):
        raise IsADirectoryError(f"Cannot save to {path!r}: it is a directory.")
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(
            f"{path!r} exists and overwrite=False. Pass overwrite=True to replace it "
            "(atomically: the old file stays intact until the new one is complete)."
        )
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mode = 0o666 & ~_umask()
    name = os.path.basename(path)
    _leftovers.sweep(folder, rf"\.{re.escape(name)}\.pid(?P<pid>\d+)\..*\.tmp\.keras")
    fd, temporary = tempfile.mkstemp(
        prefix=f".{name}.{_leftovers.tag()}.", suffix=".tmp.keras", dir=folder
    )
    os.close(fd)
    try:
        write(temporary)
        with open(temporary, "rb+") as handle:
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.remove(temporary)
        except OSError:
            pass
        raise
    _fsync_directory(folder)


# ----------------------------------------------------------------- loading
def _compile_loss_error(path: str, config: dict) -> ValueError | None:
    """A VAE computes its own loss: a file whose compile config names one was not
    written by ``VAE.save`` as is (the error gives the way to still load it)."""
    compile_config = config.get("compile_config")
    if not isinstance(compile_config, dict):
        return None
    inner = compile_config.get("config", compile_config)
    if not isinstance(inner, dict) or inner.get("loss") in (None, {}, []):
        return None
    # Model classes say so themselves (LatentVariableModel.computes_own_loss):
    # saving sits below the models and imports none of them.
    cls = keras.saving.get_registered_object(str(config.get("registered_name")))
    if not (isinstance(cls, type) and getattr(cls, "computes_own_loss", False)):
        return None
    return ValueError(
        f"{path!r} holds a VAE whose compile config has loss={_safe(inner.get('loss'))}, "
        "but a VAE computes its own loss (the negative ELBO). Load it with "
        "kv.load_model(path, compile=False) and call vae.compile(optimizer=...) again."
    )


def _keras_load(handle: IO[bytes], path: str, custom_objects, compile: bool, safe_mode: bool):
    """Keras' loader on the already open file (the one snapshot that was checked)."""
    try:
        from keras.src.saving import saving_lib
    except ImportError:  # pragma: no cover - a Keras that moved its internals
        return keras.saving.load_model(
            path, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode
        )
    return saving_lib.load_model(
        handle, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode
    )


def load_model(
    path: str | os.PathLike,
    custom_objects: dict | None = None,
    compile: bool = True,
    safe_mode: bool = True,
) -> keras.Model:
    """Load a ``.keras`` file saved by ``VAE.save`` (or any Keras model).

    Unlike a bare ``keras.saving.load_model`` it reads one snapshot of the file
    (a concurrent ``vae.save`` to the same path cannot tear it), reports a
    truncated, corrupted or foreign file (HDF5, ``.npy``, another zip) as such with
    the path, checks the archive with Keras' decompression-bomb guard before reading
    any member, imports installed keras_vae plugins, and names what to install when
    a component is missing.

    Args:
        path: the ``.keras`` file.
        custom_objects: extra classes, as for ``keras.saving.load_model``.
        compile: restore the optimizer and its state.
        safe_mode: refuse lambda deserialization (keep the default).

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is damaged or not a ``.keras`` model.
        ImportError: the file needs a component that is not installed.

    Example:
        >>> import os, tempfile, keras_vae as kv
        >>> vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(4,),
        ...              likelihood="gaussian")
        >>> path = os.path.join(tempfile.mkdtemp(), "vae.keras")
        >>> vae.save(path)
        >>> kv.load_model(path).latent_dim
        2
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, "saved_model.pb")):
            raise ValueError(
                f"{path!r} is a TensorFlow SavedModel (an export for serving), not a .keras "
                "file: serve it, or load it with tf.saved_model.load(path). Load the .keras "
                "file the model was saved to instead."
            )
        raise FileNotFoundError(f"No .keras file at {path!r}: it is a directory.")
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        raise FileNotFoundError(f"No .keras file at {path!r}.") from None
    with handle:
        config = _read_config(handle, path)
        registry.load_plugins()
        missing = {
            name: module
            for name, module in missing_components(config).items()
            if not (custom_objects and (name in custom_objects or name.split(">")[-1] in custom_objects))
        }
        if missing:
            raise _missing_error(path, missing)
        if compile:
            error = _compile_loss_error(path, config)
            if error is not None:
                raise error
        try:
            return _keras_load(handle, path, custom_objects, compile, safe_mode)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise ValueError(
                f"{path!r} is not a readable .keras file: it is truncated or corrupted "
                f"({type(exc).__name__}: {exc})."
            ) from None
