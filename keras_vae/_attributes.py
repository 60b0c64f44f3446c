"""Attributes set for the length of a ``with`` block."""
from __future__ import annotations

import contextlib
from typing import Any, Iterator


@contextlib.contextmanager
def temporarily(obj: Any, **values: Any) -> Iterator[Any]:
    """Set ``obj``'s attributes to ``values`` inside the block and put the old values
    back after it, also when the block raises.

    Example:
        >>> class Settings:
        ...     steps = 32
        >>> s = Settings()
        >>> with temporarily(s, steps=1):
        ...     s.steps
        1
        >>> s.steps
        32
    """
    old = {name: getattr(obj, name) for name in values}
    for name, value in values.items():
        setattr(obj, name, value)
    try:
        yield obj
    finally:
        for name, value in old.items():
            setattr(obj, name, value)
