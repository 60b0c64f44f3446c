"""The canvas every picture is drawn on and the file it is saved to: a matplotlib
``Figure`` on the Agg canvas (never ``pyplot``, so nothing needs a display or changes
the user's pyplot backend), saved in the format its file extension names.

Example:
    >>> from keras_vae.plotting import picture_format
    >>> picture_format("runs/samples.JPG")
    'jpeg'
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

#: Dots per inch of every figure: a figure of ``w x h`` inches is ``100 w x 100 h`` pixels.
DPI = 100
#: Picture formats by file extension (JPEG through pillow, an install requirement).
FORMATS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".pdf": "pdf", ".svg": "svg"}
_INSTALL_HINT = (
    "keras_vae.plotting needs matplotlib (an install requirement of keras-vae): install it with "
    "`pip install keras-vae[plots]` (or `pip install matplotlib`)."
)


def _figure(width: float, height: float):
    """A matplotlib Figure on the Agg canvas (no pyplot, no display)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - exercised via monkeypatch
        raise ImportError(_INSTALL_HINT) from exc
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def picture_format(path: str | os.PathLike) -> str:
    """The format a picture file's extension names; ``ValueError`` for others.

    Example:
        >>> picture_format("grid.png")
        'png'
        >>> picture_format("grid.gif")
        Traceback (most recent call last):
        ...
        ValueError: Cannot write a picture to 'grid.gif': unknown extension '.gif'; use one of .png, .jpg, .jpeg, .pdf, .svg.
    """
    extension = os.path.splitext(os.fspath(path))[1].lower()
    if extension not in FORMATS:
        raise ValueError(
            f"Cannot write a picture to {os.fspath(path)!r}: unknown extension "
            f"{extension or '(none)'!r}; use one of {', '.join(FORMATS)}."
        )
    return FORMATS[extension]


def _save(fig, path: str | os.PathLike | None):
    """Save ``fig`` at ``path`` (creating its folder) when a path is given; return it."""
    if path is not None:
        path = os.fspath(path)
        kind = picture_format(path)
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        fig.savefig(path, format=kind, dpi=DPI)
    return fig


def _numpy(x: Any) -> np.ndarray:
    """``x`` (a tensor, list or array) as a numpy array."""
    if hasattr(x, "numpy"):
        x = x.numpy()
    return np.asarray(x)


def _conditions(vae: Any, condition: Any, count: int) -> np.ndarray:
    """``condition`` as ``count`` conditions for a conditioned model (one for all is
    repeated), checked before anything is drawn; a condition for a model that takes
    none is refused."""
    if getattr(vae, "condition_layer", None) is None:
        raise ValueError(
            f"a condition was given, but {getattr(vae, 'name', 'this model')} takes none "
            "(it was built without condition=)."
        )
    c = np.asarray(vae.one_condition_each(_numpy(condition), count))
    vae.check_condition(c, count)
    return c
