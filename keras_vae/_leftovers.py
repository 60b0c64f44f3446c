"""Temporary files and folders of a save or export whose process was killed.

A save or export writes to a hidden temporary name holding its process id and renames
it into place; a process killed in between cannot clean up. The next save or export in
the same folder removes such leftovers of processes that no longer run (never those
of a live process, which may still be writing)."""
from __future__ import annotations

import os
import re
import shutil


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def tag() -> str:
    """The part of a temporary name that says which process writes it."""
    return f"pid{os.getpid()}"


def sweep(folder: str, pattern: str) -> list[str]:
    """Remove the entries of ``folder`` matching ``pattern`` (a regex whose group
    ``pid`` is the writer's process id) whose process is gone; return their names."""
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        match = re.fullmatch(pattern, name)
        if match is None or _alive(int(match.group("pid"))):
            continue
        path = os.path.join(folder, name)
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.remove(path)
            removed.append(name)
        except OSError:
            pass
    return removed
