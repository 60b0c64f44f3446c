"""Printing for people: lines on stdout, two-column tables."""
from __future__ import annotations

import contextlib
import sys
import warnings
from typing import Iterator, Sequence


def say(*lines: str) -> None:
    print(*lines, sep="\n", flush=True)


def table(rows: Sequence[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k.ljust(width)}  {v}" for k, v in rows)


@contextlib.contextmanager
def relay_warnings(prog: str = "keras-vae") -> Iterator[None]:
    """Python warnings raised inside (e.g. a loader's note that it left columns out)
    printed as one ``keras-vae: warning: ...`` line each on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    seen = set()
    for w in caught:
        text = str(w.message)
        if text not in seen:
            seen.add(text)
            print(f"{prog}: warning: {text}", file=sys.stderr, flush=True)
