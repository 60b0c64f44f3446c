"""Argument checks shared by every constructor: one wording for every error."""
from __future__ import annotations

import math
import numbers
from typing import Any, Sequence


def check_number(
    value: Any,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
    integer: bool = False,
) -> float | int:
    """Return ``value`` as a float (or int) after checking it is a finite real number
    in range; else raise ``ValueError`` naming the argument, the value and the range.

    Example:
        >>> check_number(2, "num_samples", minimum=1, integer=True)
        2
        >>> check_number(0.0, "min_scale", minimum=0.0, exclusive_minimum=True)
        Traceback (most recent call last):
        ...
        ValueError: min_scale must be a finite number > 0, got 0.0.
    """
    kind = "an integer" if integer else "a finite number"
    bounds = []
    if minimum is not None:
        bounds.append(f"{'>' if exclusive_minimum else '>='} {minimum:g}")
    if maximum is not None:
        bounds.append(f"<= {maximum:g}")
    wanted = f"{name} must be {kind}" + (f" {' and '.join(bounds)}" if bounds else "")
    is_real = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not is_real or not math.isfinite(float(value)):
        raise ValueError(f"{wanted}, got {value!r}.")
    if integer and float(value) != int(value):
        raise ValueError(f"{wanted}, got {value!r}.")
    number = int(value) if integer else float(value)
    too_low = minimum is not None and (number <= minimum if exclusive_minimum else number < minimum)
    too_high = maximum is not None and number > maximum
    if too_low or too_high:
        raise ValueError(f"{wanted}, got {value!r}.")
    return number


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``choices``; else a ``ValueError`` listing them.

    Example:
        >>> check_choice("dreg", "gradient", ("standard", "dreg"))
        'dreg'
    """
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}.")
    return value
