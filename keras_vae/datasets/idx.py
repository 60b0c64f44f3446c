"""The IDX file format of MNIST-style data sets (gzipped or plain)."""
from __future__ import annotations

import gzip
import os
import pathlib
import zlib

import numpy as np

# IDX type codes (third byte of the magic number) -> big-endian numpy dtype.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped or plain.

    The header is two zero bytes, a type code (``0x08`` uint8, ``0x09`` int8,
    ``0x0B`` int16, ``0x0C`` int32, ``0x0D`` float32, ``0x0E`` float64), the number of
    dimensions, then one big-endian uint32 per dimension; the data follow in C order.

    Args:
        path: the file; gzip compression is detected from its first bytes.

    Returns:
        An array of the stored shape, in native byte order.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not IDX, or is corrupted or truncated.

    Example:
        >>> from keras_vae.datasets import read_idx
        >>> labels = read_idx("t10k-labels-idx1-ubyte.gz")  # doctest: +SKIP
        >>> labels.shape, labels.dtype                          # doctest: +SKIP
        ((10000,), dtype('uint8'))
    """
    path = pathlib.Path(path)
    raw = path.read_bytes()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            raise ValueError(
                f"{path} is a corrupted or truncated gzip file ({error}). Delete it and "
                "download it again."
            ) from None
    return _parse_idx(raw, str(path))


def _parse_idx(raw: bytes, name: str) -> np.ndarray:
    if len(raw) < 4:
        raise ValueError(f"{name} is not an IDX file: only {len(raw)} bytes, no header.")
    zero0, zero1, code, ndim = raw[0], raw[1], raw[2], raw[3]
    if zero0 != 0 or zero1 != 0 or code not in _IDX_DTYPES:
        raise ValueError(
            f"{name} is not an IDX file: bad magic number 0x{raw[:4].hex()} (expected "
            "0x0000TTNN with type code TT in "
            f"{', '.join(f'0x{c:02x}' for c in _IDX_DTYPES)} and NN dimensions)."
        )
    if ndim == 0:
        raise ValueError(f"{name}: IDX header declares 0 dimensions.")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(
            f"{name} is truncated: its header declares {ndim} dimensions but the file "
            f"has only {len(raw)} bytes."
        )
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    actual = len(raw) - header
    if actual != expected:
        what = "truncated" if actual < expected else "corrupted (trailing bytes)"
        raise ValueError(
            f"{name} is {what}: shape {dims} of {dtype.newbyteorder('=').name} needs "
            f"{expected} data bytes, found {actual}. Delete it and download it again."
        )
    data = np.frombuffer(raw, dtype, offset=header).reshape(dims)
    return data.astype(dtype.newbyteorder("="))
