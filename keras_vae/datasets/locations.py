"""The data folder: one environment variable, read by the library, the tests and the
benchmarks alike."""
from __future__ import annotations

import os
import pathlib
import warnings

ENV_VAR = "KERAS_VAE_DATA"
# The name the test suite used before KERAS_VAE_DATA was read everywhere; still honoured.
OLD_ENV_VAR = "KERAS_VAE_TEST_DATA"


def data_folder(default: str | os.PathLike | None = None) -> pathlib.Path | None:
    """The folder that holds data sets (``mnist/``, ``fashion-mnist/``, your own files).

    ``$KERAS_VAE_DATA`` when set; else ``$KERAS_VAE_TEST_DATA`` (its former name, with
    a ``DeprecationWarning``); else ``default`` (``None`` if not given).

    Example:
        >>> import os
        >>> from keras_vae.datasets import data_folder
        >>> os.environ["KERAS_VAE_DATA"] = "/data"
        >>> str(data_folder())
        '/data'
        >>> del os.environ["KERAS_VAE_DATA"]
    """
    for name in (ENV_VAR, OLD_ENV_VAR):
        value = os.environ.get(name)
        if value:
            if name == OLD_ENV_VAR:
                warnings.warn(
                    f"{OLD_ENV_VAR} is read as {ENV_VAR}; set {ENV_VAR} instead.",
                    DeprecationWarning,
                    stacklevel=2,
                )
            return pathlib.Path(value).expanduser()
    return None if default is None else pathlib.Path(default).expanduser()
