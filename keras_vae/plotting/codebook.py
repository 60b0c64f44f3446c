"""The codebook usage histogram of a VQ-VAE."""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from keras_vae.plotting.canvas import _figure, _numpy, _save


def codebook_usage(counts: Any, path: str | os.PathLike | None = None):
    """Bar chart of how often each code is used (e.g. ``vq.code_statistics(x)["counts"]``),
    codes sorted by use, with the perplexity and the number of codes in use in the title.

    Example:
        >>> from keras_vae import plotting
        >>> fig = plotting.codebook_usage([5, 0, 3, 1])
        >>> fig.axes[0].get_title()
        'codebook usage: 3 of 4 codes in use, perplexity 2.55'
    """
    counts = _numpy(counts).astype(np.float64).reshape(-1)
    if counts.size == 0 or counts.sum() <= 0:
        raise ValueError("codebook_usage needs counts with a positive total.")
    p = counts[counts > 0] / counts.sum()
    perplexity = float(np.exp(-np.sum(p * np.log(p))))
    fig = _figure(max(4.0, min(12.0, 0.05 * counts.size + 3.0)), 3.2)
    ax = fig.add_subplot()
    ax.bar(np.arange(counts.size), np.sort(counts)[::-1] / counts.sum(), color="tab:blue", width=1.0)
    ax.set_xlabel("code (sorted by use)")
    ax.set_ylabel("share of positions")
    ax.set_title(f"codebook usage: {int(np.count_nonzero(counts))} of {counts.size} codes in use, "
                 f"perplexity {perplexity:.2f}", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)
