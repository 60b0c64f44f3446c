"""Which value is drawn as which grey.

Data in [0, 1] (Bernoulli, continuous Bernoulli, Beta, scaled images) are drawn as
they are: 0 black, 1 white. Other values need a range, and a range chosen per batch
(min-max) draws the same value in different greys in two figures. So:

* ``value_range=(low, high)``, accepted by :func:`~keras_vae.plotting.sample_grid`,
  :func:`~keras_vae.plotting.reconstruction_grid` and :func:`~keras_vae.plotting.manifold`,
  fixes the map for the whole figure: ``low`` black, ``high`` white, values beyond
  clipped, and a colour bar labelled in the data's units beside the grid. Two
  figures drawn with the same range give a value the same grey.
* :func:`value_range_for` gives the range a model's pictures should use: a model of
  ``k`` levels (``categorical``, ``logistic_mixture``) ``(0, k - 1)``, a count model
  (``poisson``, ``negative_binomial``, ``zero_inflated_negative_binomial``) ``(0, the 99th percentile of the
  training counts)`` (:func:`count_range`), other models ``None`` (the [0, 1] map).
* Without a ``value_range``, a level model's figures use ``(0, k - 1)`` and a count
  model's figures use :func:`count_range` of the examples they draw (labelled so on
  the colour bar); pass ``value_range_for(vae, x_train)`` to compare figures.

Example:
    >>> import numpy as np
    >>> from keras_vae.plotting import count_range, to_display_range
    >>> train_counts = np.arange(101)  # 0..100
    >>> count_range(train_counts)
    (0.0, 99.0)
    >>> to_display_range(np.array([0.0, 49.5, 99.0, 500.0]), value_range=(0.0, 99.0))
    array([0. , 0.5, 1. , 1. ], dtype=float32)
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from keras_vae.plotting.canvas import _numpy

#: The quantile of the training counts drawn white by default.
COUNT_QUANTILE = 0.99
#: Width (inches) a colour bar adds to the right of an image figure.
COLORBAR_WIDTH = 0.9


def check_value_range(value_range: Any) -> tuple[float, float] | None:
    """``value_range`` as two finite floats ``low < high`` (or None), else ``ValueError``."""
    if value_range is None:
        return None
    try:
        low, high = (float(v) for v in value_range)
        valid = not any(isinstance(v, (bool, str)) for v in value_range)
    except (TypeError, ValueError):
        valid = False
    if not valid or not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(
            "value_range must be two finite numbers (low, high) with low < high, the values "
            f"drawn black and white (e.g. keras_vae.plotting.count_range(x_train)); got {value_range!r}."
        )
    return low, high


def to_display_range(images: Any, value_range: tuple[float, float] | None = None) -> np.ndarray:
    """Map values to [0, 1] for display.

    With ``value_range=(low, high)``: ``(v - low) / (high - low)``, clipped to [0, 1]
    (the same value always gives the same grey). Without: values that lie in [0, 1]
    are kept (clipped), others are min-max scaled over the whole array.
    Not-a-number is drawn black, infinities at the ends.

    Example:
        >>> import numpy as np
        >>> to_display_range(np.array([0.2, 0.8]))
        array([0.2, 0.8], dtype=float32)
        >>> to_display_range(np.array([-1.0, 0.0, 3.0]))  # min-max
        array([0.  , 0.25, 1.  ], dtype=float32)
        >>> to_display_range(np.array([0.0, 5.0, 20.0]), value_range=(0, 10))
        array([0. , 0.5, 1. ], dtype=float32)
    """
    images = np.asarray(images, dtype=np.float32)
    value_range = check_value_range(value_range)
    if value_range is not None:
        low, high = value_range
        scaled = (images - np.float32(low)) / np.float32(high - low)
        return np.clip(np.nan_to_num(scaled, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
    finite = images[np.isfinite(images)]
    if finite.size == 0:
        return np.zeros_like(images)
    lo, hi = float(finite.min()), float(finite.max())
    if lo >= 0.0 and hi <= 1.0:
        return np.nan_to_num(images, nan=0.0, posinf=1.0, neginf=0.0)
    scaled = (images - lo) / (hi - lo) if hi > lo else np.zeros_like(images)
    return np.clip(np.nan_to_num(scaled, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)


def count_range(x: Any, quantile: float = COUNT_QUANTILE) -> tuple[float, float]:
    """``(0, q)``: the display range of counts, ``q`` the ``quantile`` of ``x``.

    Compute it once on the training data and pass it to every figure as
    ``value_range``: zero is black, the ``quantile`` of the training counts white
    (the few larger counts are clipped white), and every figure maps a count to the
    same grey. ``q`` is at least 1, so all-zero data still have a range.

    Args:
        x: counts (any shape; non-negative).
        quantile: the quantile of the counts drawn white, in (0, 1].

    Raises:
        ValueError: ``quantile`` outside (0, 1], no finite value in ``x``, or a
            negative value in ``x``.

    Example:
        >>> import numpy as np
        >>> count_range(np.array([[0, 1, 2], [3, 4, 1000]]), quantile=0.5)
        (0.0, 2.5)
        >>> count_range(np.zeros((4, 3)))
        (0.0, 1.0)
    """
    if isinstance(quantile, bool) or not (isinstance(quantile, (int, float)) and 0.0 < quantile <= 1.0):
        raise ValueError(f"quantile must be a number in (0, 1], got {quantile!r}.")
    values = _numpy(x).astype(np.float64, copy=False).reshape(-1)
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ValueError("count_range needs at least one finite count; got none.")
    if values.min() < 0:
        raise ValueError(
            f"count_range needs counts >= 0, got a minimum of {values.min():g}: pass raw counts, "
            "or a value_range=(low, high) of your own for other data."
        )
    return 0.0, max(1.0, float(np.quantile(values, quantile)))


def _likelihood(vae: Any) -> Any:
    return getattr(vae, "likelihood_layer", None)


def _levels(vae: Any) -> int | None:
    """The number of levels of a model's likelihood (categorical, logistic mixture)."""
    levels = getattr(_likelihood(vae), "num_values", None)
    return int(levels) if isinstance(levels, (int, np.integer)) and levels >= 2 else None


def is_count_model(vae: Any) -> bool:
    """Whether ``vae``'s likelihood is a count likelihood: integer data on 0, 1, 2, ...
    without an upper level (``poisson``, ``negative_binomial``, ``zero_inflated_negative_binomial``).

    Example:
        >>> import keras_vae as kv
        >>> vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(4,), likelihood="poisson")
        >>> is_count_model(vae)
        True
    """
    likelihood = _likelihood(vae)
    support = getattr(likelihood, "support", None)
    return bool(
        getattr(likelihood, "integer_valued", False)
        and support is not None
        and math.isinf(float(support[1]))
    )


def value_range_for(vae: Any, x: Any = None, quantile: float = COUNT_QUANTILE) -> tuple[float, float] | None:
    """The fixed display range of ``vae``'s pictures (see the module docstring).

    Args:
        vae: a ``keras_vae`` model.
        x: the training data (needed for a count model only).
        quantile: for a count model, the quantile of ``x`` drawn white.

    Returns:
        ``(0, k - 1)`` for a model of ``k`` levels, :func:`count_range` of ``x`` for a
        count model, ``None`` (values drawn on [0, 1]) otherwise.

    Raises:
        ValueError: a count model without ``x``.

    Example:
        >>> import numpy as np, keras_vae as kv
        >>> vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(4,), likelihood="poisson")
        >>> value_range_for(vae, np.array([[0, 3, 7, 40]] * 10), quantile=0.75)
        (0.0, 15.25)
    """
    levels = _levels(vae)
    if levels is not None:
        return 0.0, float(levels - 1)
    if is_count_model(vae):
        if x is None:
            raise ValueError(
                "A count model's display range comes from its training counts: pass them, "
                "value_range_for(vae, x_train)."
            )
        return count_range(x, quantile)
    return None


def _resolve(vae: Any, shown: Any, value_range: Any) -> tuple[tuple[float, float] | None, str | None]:
    """The range a figure of ``vae`` draws ``shown`` on, and the colour bar's label
    (``None``: the plain [0, 1] map, no colour bar)."""
    value_range = check_value_range(value_range)
    counts, levels = is_count_model(vae), _levels(vae)
    unit = "count" if counts else "level" if levels is not None else "value"
    if value_range is not None:
        return value_range, unit
    if levels is not None:
        return (0.0, float(levels - 1)), unit
    if counts:
        q = round(100 * COUNT_QUANTILE)
        return count_range(shown), f"count (0 to the {q}th percentile of these examples)"
    return None, None


def _colorbar(fig, value_range: tuple[float, float], label: str, bottom: float, height: float) -> None:
    """A grey colour bar for ``value_range`` in the right ``COLORBAR_WIDTH`` inches of ``fig``."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    fig_w = fig.get_figwidth()
    cax = fig.add_axes([1 - 0.75 * COLORBAR_WIDTH / fig_w, bottom, 0.15 / fig_w, height])
    mappable = ScalarMappable(norm=Normalize(*value_range), cmap="gray")
    bar = fig.colorbar(mappable, cax=cax)
    bar.set_label(label, fontsize=7)
    bar.ax.tick_params(labelsize=6)
