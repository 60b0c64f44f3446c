"""Pictures of training: the curves of each metric, and the KL of each latent
dimension (which dimensions carry information).

Example:
    >>> from keras_vae import plotting
    >>> fig = plotting.training_curves({"loss": [3.0, 2.0], "val_loss": [3.1, 2.4]})
    >>> [line.get_label() for line in fig.axes[0].get_lines()]
    ['train', 'validation']
"""
from __future__ import annotations

import csv
import math
import os
from typing import Any, Mapping

import numpy as np

from keras_vae.plotting.canvas import _figure, _save
from keras_vae.plotting.latent import _joined


def kl_per_dimension_plot(
    kl_values: Any,
    path: str | os.PathLike | None = None,
    threshold: float | None = None,
):
    """Bar chart of the average KL(q(z_i|x) || p(z_i)) of each latent dimension.

    Dimensions with (near) zero KL carry no information about x (posterior
    collapse). ``kl_values`` is what ``keras_vae.evaluation.kl_per_dimension``
    returns: one number (nats) per latent dimension, or, for a hierarchical model, one
    array per latent group (z₁ next to the data first). Groups get their own colour, a
    dotted boundary and a legend entry with their size and total KL.

    Args:
        kl_values: ``(latent_dim,)`` KL per dimension in nats, or a list of them, one
            per latent group.
        path: save the PNG here.
        threshold: optionally draw a horizontal line at this KL (e.g. the level below
            which a dimension counts as collapsed).

    Example:
        >>> import numpy as np
        >>> from keras_vae import plotting
        >>> fig = plotting.kl_per_dimension_plot([np.array([2.0, 0.0, 1.0]), np.array([0.5, 0.0])])
        >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        ['z1: 3 dims, 3.00 nats', 'z2: 2 dims, 0.50 nats']
    """
    per_group = isinstance(kl_values, (list, tuple)) and any(np.ndim(v) > 0 for v in kl_values)
    values = kl_values if per_group else [kl_values]
    # plain lists of numbers (e.g. read back from metrics.json) as well as arrays / tensors
    groups = [np.asarray(v if isinstance(v, (list, tuple)) else _joined(v), np.float64).reshape(-1) for v in values]
    kl = np.concatenate(groups)
    if kl.size == 0:
        raise ValueError("kl_per_dimension_plot got no values.")
    fig = _figure(max(4.0, min(12.0, 0.3 * kl.size + 2.0)), 3.5)
    ax = fig.add_subplot()
    start = 0
    for index, group in enumerate(groups):
        positions = np.arange(start, start + group.size)
        label = f"z{index + 1}: {group.size} dims, {group.sum():.2f} nats" if len(groups) > 1 else None
        ax.bar(positions, group, color=f"C{index}" if len(groups) > 1 else "tab:blue", label=label)
        if index > 0:
            ax.axvline(start - 0.5, color="0.4", linestyle=":", linewidth=1)
        start += group.size
    if threshold is not None:
        ax.axhline(threshold, color="tab:red", linestyle="--", linewidth=1, label=f"{threshold:g} nats")
    if threshold is not None or len(groups) > 1:
        ax.legend(fontsize=8)
    ax.set_xlabel("latent dimension" if len(groups) == 1 else "latent dimension (groups z1 ... zL, z1 next to the data)")
    ax.set_ylabel("KL (nats)")
    ax.set_title(f"KL per latent dimension (total {kl.sum():.2f} nats)", fontsize=10)
    if kl.size <= 32:
        ax.set_xticks(np.arange(kl.size))
        ax.tick_params(axis="x", labelsize=7)
    fig.tight_layout()
    return _save(fig, path)


def _read_history(history_or_csv: Any) -> dict[str, list[float]]:
    if hasattr(history_or_csv, "history") and isinstance(history_or_csv.history, Mapping):
        history = dict(history_or_csv.history)
    elif isinstance(history_or_csv, Mapping):
        history = dict(history_or_csv)
    elif isinstance(history_or_csv, (str, os.PathLike)):
        path = os.fspath(history_or_csv)
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        if not rows:
            raise ValueError(f"{path!r} holds no epochs (an empty CSVLogger file?).")
        history = {key: [row[key] for row in rows] for key in rows[0] if key != "epoch"}
    else:
        raise ValueError(
            "training_curves needs a keras History, a dict of lists or the path of a "
            f"CSVLogger file, got {type(history_or_csv).__name__}."
        )
    out = {}
    for key, values in history.items():
        try:
            out[key] = [float(v) if v not in ("", None) else math.nan for v in values]
        except (TypeError, ValueError):
            continue
    if not out:
        raise ValueError("training_curves found no numeric metrics in the history.")
    return out


def training_curves(history_or_csv: Any, path: str | os.PathLike | None = None):
    """Training (solid) and validation (dashed) curves, one panel per metric.

    Args:
        history_or_csv: the ``History`` returned by ``fit``, its ``.history`` dict,
            or the path of a ``keras.callbacks.CSVLogger`` file.
        path: save the PNG here.
    """
    history = _read_history(history_or_csv)
    names = [k for k in history if not k.startswith("val_")]
    names += [k[4:] for k in history if k.startswith("val_") and k[4:] not in history]
    preferred = ["loss", "elbo", "reconstruction_loss", "kl"]
    names = sorted(set(names), key=lambda k: (preferred.index(k) if k in preferred else 99, k))
    ncols = min(2, len(names))
    nrows = math.ceil(len(names) / ncols)
    fig = _figure(4.5 * ncols, 3.0 * nrows)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, name in zip(axes.flat, names):
        for key, style, label in ((name, "-", "train"), (f"val_{name}", "--", "validation")):
            if key in history:
                values = history[key]
                ax.plot(np.arange(1, len(values) + 1), values, style, marker="o", markersize=3, label=label)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("epoch", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.set_axis_off()
    fig.tight_layout()
    return _save(fig, path)
