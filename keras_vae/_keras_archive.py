"""Reading a ``.keras`` archive defensively, before Keras does: tell a truncated
or foreign file (HDF5, ``.npy``, another zip) from a model, run Keras'
decompression-bomb guard, verify every member's checksum, and quote text taken from
the file only sanitized. Used by :func:`keras_vae.saving.load_model`."""
from __future__ import annotations

import json
import re
import zipfile
import zlib
from typing import IO, Any

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_NPY_MAGIC = b"\x93NUMPY"
CONFIG = "config.json"
# Keras' own bomb rule (keras/src/saving/saving_lib.py), used if its guard moves.
_BOMB_FLOOR_BYTES = 1 << 28
_BOMB_MAX_EXPANSION = 100
_CHUNK = 1 << 20


def safe(text: Any, limit: int = 80) -> str:
    """``text`` from a file, reduced to printable identifier characters and quoted."""
    cleaned = re.sub(r"[^A-Za-z0-9_.>\-]", "?", str(text))
    if len(cleaned) > limit:
        cleaned = cleaned[:limit] + "..."
    return repr(cleaned)

def _foreign(path: str, head: bytes) -> str | None:
    """What a file that is not a ``.keras`` archive is, judged by its first bytes."""
    if not head:
        return "it is empty (0 bytes)"
    if head.startswith(_HDF5_MAGIC):
        return (
            "it is an HDF5 file (a legacy Keras .h5 model or a .weights.h5 weights file), "
            "not a .keras archive. For weights, build the same VAE and call "
            "vae.load_weights(path); models are saved with vae.save('name.keras')"
        )
    if head.startswith(_NPY_MAGIC):
        return "it is a NumPy array file (.npy), not a model"
    return None

def _check_members(archive: zipfile.ZipFile) -> None:
    """Keras' decompression-bomb guard on every member, then each member's checksum,
    read in chunks (bounded memory). Raises ``zipfile.BadZipFile`` on a bad CRC."""
    try:
        from keras.src.saving.saving_lib import _reject_zip_extract_bomb
    except ImportError:  # a Keras without the guard: the same rule here
        _reject_zip_extract_bomb = None
    if _reject_zip_extract_bomb is not None:
        _reject_zip_extract_bomb(archive)
    for info in archive.infolist():
        if info.file_size > _BOMB_FLOOR_BYTES and info.file_size > _BOMB_MAX_EXPANSION * info.compress_size:
            raise ValueError(
                f"archive member {safe(info.filename)} declares {info.file_size} bytes but "
                f"stores {info.compress_size}: refusing a potential decompression bomb"
            )
    for info in archive.infolist():
        with archive.open(info) as member:  # zipfile checks the CRC at the end
            while member.read(_CHUNK):
                pass

def read_config(handle: IO[bytes], path: str) -> dict:
    """The model config of an open ``.keras`` file, after checking the archive."""
    damaged = f"{path!r} is not a readable .keras file: it is truncated or corrupted"
    fix = "Save the model again (vae.save(path)) or restore the file from a backup."
    head = handle.read(8)
    handle.seek(0)
    foreign = _foreign(path, head)
    if foreign is not None:
        raise ValueError(f"{path!r} is not a .keras model file: {foreign}.")
    try:
        archive = zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise ValueError(
            f"{damaged} (no zip directory: {type(exc).__name__}). {fix}"
        ) from None
    with archive:
        names = archive.namelist()
        if CONFIG not in names:
            kind = (
                "a NumPy .npz archive"
                if names and all(name.endswith(".npy") for name in names)
                else f"a zip archive of {len(names)} file(s) without {CONFIG}"
            )
            raise ValueError(
                f"{path!r} is not a .keras model file: it is {kind}. keras_vae loads "
                "archives written by vae.save('name.keras')."
            )
        try:
            _check_members(archive)
            config = json.loads(archive.read(CONFIG))
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"{damaged} ({type(exc).__name__}: {exc}). {fix}") from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"{damaged} ({CONFIG} is not JSON: {exc.msg}). {fix}") from None
        except ValueError as exc:  # Keras' decompression-bomb guard
            raise ValueError(f"{path!r} is refused: {exc}") from None
    handle.seek(0)
    if not isinstance(config, dict):
        raise ValueError(f"{damaged} ({CONFIG} is not a model config). {fix}")
    return config
