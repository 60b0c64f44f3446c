"""A progress bar on stderr for long work (so that --json output stays clean)."""
from __future__ import annotations

import sys
import time


class Progress:
    """``update(done)`` redraws ``[=====>    ] 40%  400/1000 examples  3 s`` on a
    terminal; elsewhere (a log file, CI) it prints a line at every tenth.

    Args:
        total: the amount of work.
        what: its unit, e.g. ``"examples"``.
        enabled: ``False`` prints nothing.
        stream: where to write (default ``sys.stderr``).
    """

    def __init__(self, total: int, what: str = "examples", enabled: bool = True, stream=None):
        self.total = max(1, int(total))
        self.what = what
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.started = time.perf_counter()
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_tenth = -1

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        fraction = min(1.0, done / self.total)
        elapsed = time.perf_counter() - self.started
        width = 30
        filled = int(round(width * fraction))
        bar = "=" * max(0, filled - 1) + (">" if filled else "") + " " * (width - filled)
        line = f"[{bar}] {fraction:4.0%}  {done}/{self.total} {self.what}  {elapsed:.0f} s"
        if self._tty:
            self.stream.write("\r" + line + ("\n" if done >= self.total else ""))
            self.stream.flush()
            return
        tenth = int(fraction * 10)
        if tenth > self._last_tenth:
            self._last_tenth = tenth
            self.stream.write(line + "\n")
            self.stream.flush()
