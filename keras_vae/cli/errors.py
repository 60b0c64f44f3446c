"""How the command line reports errors: one line, naming what to change."""
from __future__ import annotations


class UsageError(Exception):
    """A bad command line or config file: exit status 2.

    The message names the flag (``--epochs``) or the config-file key to change.
    """


def one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line (TensorFlow errors: their own message)."""
    text = str(exc)
    if isinstance(exc, KeyError) and exc.args:
        text = str(exc.args[0])
    if isinstance(getattr(exc, "message", None), str):  # tf.errors.OpError
        text = exc.message
    return " ".join(text.split()) or type(exc).__name__


def is_expected(exc: BaseException) -> bool:
    """Errors whose message is written for the user (bad data, missing files, ...);
    anything else is reported with its type and a pointer to ``--debug``."""
    if isinstance(exc, (ValueError, OSError, ImportError, KeyError)):
        return True
    import sys

    tf = sys.modules.get("tensorflow")
    return tf is not None and isinstance(exc, tf.errors.OpError)
