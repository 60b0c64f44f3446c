"""Printing for people: lines on stdout, two-column tables."""
from __future__ import annotations

from typing import Sequence


def say(*lines: str) -> None:
    print(*lines, sep="\n", flush=True)


def table(rows: Sequence[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k.ljust(width)}  {v}" for k, v in rows)
