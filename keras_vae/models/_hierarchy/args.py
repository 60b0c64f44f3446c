"""Argument checks of the hierarchical VAE, run before anything is built."""
from __future__ import annotations

from typing import Sequence

import numpy as np

INFERENCES = ("bottom_up", "ladder", "residual")


def _is_int(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, np.integer))


def check_latent_dims(latent_dims) -> list[int]:
    """The group sizes, z_1 first: a non-empty sequence of positive integers.

    Example:
        >>> check_latent_dims((100, 50))
        [100, 50]
    """
    if isinstance(latent_dims, (str, bytes)) or not isinstance(latent_dims, (Sequence, np.ndarray)):
        raise ValueError(
            f"latent_dims must be a sequence of group sizes, z_1 (next to the data) first, "
            f"e.g. (100, 50); got {latent_dims!r}."
        )
    dims = list(latent_dims)
    if not dims:
        raise ValueError("latent_dims is empty: give at least one group size, e.g. (100, 50).")
    bad = [d for d in dims if not _is_int(d) or d < 1]
    if bad:
        raise ValueError(f"every group size in latent_dims must be an integer >= 1; got {dims!r}.")
    return [int(d) for d in dims]


def check_inference(inference) -> str:
    if inference not in INFERENCES:
        raise ValueError(f"inference must be one of {INFERENCES}, got {inference!r}.")
    return inference


def default_hidden(num_groups: int) -> tuple[list, list]:
    """Burda et al.'s hidden sizes, extended to ``num_groups``: q bottom-up
    ``[[200, 200], [100, 100], ...]``, p top-down ``[..., [100, 100], [200, 200]]``."""
    q = [[200, 200]] + [[100, 100]] * (num_groups - 1)
    p = [[100, 100]] * (num_groups - 1) + [[200, 200]]
    return q, p


def check_hidden(hidden, num_groups: int, what: str) -> list[list[int]]:
    """One list of hidden sizes per group (``[]`` for none)."""
    message = (
        f"{what} must hold one list of hidden sizes per latent group ({num_groups}), "
        f"e.g. {default_hidden(num_groups)[0 if what == 'q_hidden' else 1]!r}; got {hidden!r}."
    )
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence) or len(hidden) != num_groups:
        raise ValueError(message)
    result = []
    for units in hidden:
        if isinstance(units, (str, bytes)) or not isinstance(units, Sequence):
            raise ValueError(message)
        if any(not _is_int(u) or u < 1 for u in units):
            raise ValueError(message)
        result.append([int(u) for u in units])
    return result


def check_soft_clamp(soft_clamp) -> float | None:
    """The residual posterior's soft-clamp bound: a positive number or ``None``."""
    if soft_clamp is None:
        return None
    if isinstance(soft_clamp, bool) or not isinstance(soft_clamp, (int, float, np.integer, np.floating)) \
            or not np.isfinite(soft_clamp) or soft_clamp <= 0:
        raise ValueError(f"soft_clamp must be a positive number (NVAE: 5) or None, got {soft_clamp!r}.")
    return float(soft_clamp)


def check_top_prior(prior_layer, inference: str) -> None:
    """The top prior p(z_L) must be unconditional; the VampPrior needs a q(z_L | x) of x
    alone (ladder, residual)."""
    if getattr(prior_layer, "takes_condition", False):
        raise ValueError(
            f"The prior {type(prior_layer).__name__} is p(z | c); HierarchicalVAE models "
            "p(x) and takes no condition: use an unconditional prior."
        )
    if getattr(prior_layer, "needs_posterior", False) or type(prior_layer).__name__ == "VampPrior":
        if inference == "bottom_up":
            raise ValueError(
                "The VampPrior is a mixture of q(z_L | u) over pseudo-inputs u; with "
                "inference='bottom_up' q(z_L | u) has no closed form. Use "
                "inference='ladder' or 'residual', or another prior."
            )
