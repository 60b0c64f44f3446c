"""Checks of setting values: each returns the clean value or raises ``ValueError``
with a message that completes ``<flag or key> ...``. No numpy, no TensorFlow."""
from __future__ import annotations

import json
import math
import numbers
import os
from typing import Any, Callable

INT32_MAX = 2**31 - 1


def integer(value: Any) -> int | None:
    """``value`` as an int if it is one (or an integral float / digit string)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        return int(value)
    return None


def positive_int(value: Any) -> int:
    number = integer(value)
    if number is None or number < 1:
        raise ValueError(f"must be an integer >= 1, got {value!r}")
    return number


def optional_positive_int(value: Any) -> int | None:
    return None if value is None else positive_int(value)


def seed(value: Any) -> int:
    number = integer(value)
    if number is None or not 0 <= number <= INT32_MAX:
        raise ValueError(f"must be an integer in [0, 2**31 - 1], got {value!r}")
    return number


def number(minimum: float, inclusive: bool) -> Callable[[Any], float]:
    relation = ">=" if inclusive else ">"

    def check(value: Any) -> float:
        if isinstance(value, bool):
            raise ValueError(f"must be a number {relation} {minimum:g}, got {value!r}")
        try:
            result = float(value)
        except (TypeError, ValueError):
            result = math.nan
        ok = math.isfinite(result) and (result >= minimum if inclusive else result > minimum)
        if not ok:
            raise ValueError(f"must be a number {relation} {minimum:g}, got {value!r}")
        return result

    return check


def optional(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def maybe(value: Any) -> Any:
        return None if value is None else check(value)

    return maybe


def string(value: Any) -> str:
    if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
        raise ValueError(f"must be a non-empty string, got {value!r}")
    return os.fspath(value)


def optional_string(value: Any) -> str | None:
    return None if value is None else string(value)


def optional_choice(*choices: str) -> Callable[[Any], str | None]:
    """One of ``choices`` (or None), e.g. ``--architecture mlp|conv``."""

    def check(value: Any) -> str | None:
        if value is None:
            return None
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}, got {value!r}")
        return value

    return check


def units(value: Any) -> list[int]:
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError(f"must be a non-empty list of integers >= 1, got {value!r}")
    try:
        return [positive_int(v) for v in value]
    except ValueError:
        raise ValueError(f"must be a non-empty list of integers >= 1, got {value!r}") from None


def optional_units(value: Any) -> list[int] | None:
    return None if value is None else units(value)


def optional_group_sizes(value: Any) -> list[int] | None:
    """Latent group sizes: ``"100,50"``, ``["100", "50"]`` or ``[100, 50]`` (or None)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = [v for v in value.replace(",", " ").split()]
    elif isinstance(value, (list, tuple)):
        value = [w for v in value for w in (str(v).replace(",", " ").split() if isinstance(v, str) else [v])]
    return units(value)


def optional_names(value: Any) -> list[str] | None:
    """``None`` or a non-empty list of non-empty strings (e.g. column names)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"must be a non-empty list of names, got {value!r}")
    return [v.strip() for v in value]


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
        return value.lower() in ("true", "yes", "on", "1")
    raise ValueError(f"must be true or false, got {value!r}")


def component_name(value: Any) -> str:
    """A registered name (checked against the registry later, when it is loaded)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"must be the name of a registered component, got {value!r}")
    return value.strip()


def options(value: Any) -> dict:
    """A mapping of constructor options: a dict, or its JSON text."""
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"must be a JSON object such as '{{\"scale\": \"shared\"}}', got {value!r} ({exc.msg})"
            ) from None
    if not isinstance(value, dict):
        raise ValueError(f"must be a JSON object of options (name: value), got {value!r}")
    return {str(k): v for k, v in value.items()}
