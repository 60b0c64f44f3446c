"""A quiet, quick start: TensorFlow is imported only by the commands that need it,
and its C++ start-up lines (oneDNN, CUDA stubs, CPU features, ``failed call to
cuInit`` on a machine without a GPU) are kept out of the terminal."""
from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile

# Set before TensorFlow is imported (a user's own setting wins).
_ENVIRONMENT = {
    "TF_CPP_MIN_LOG_LEVEL": "2",  # TensorFlow's own INFO and WARNING logs
    "GRPC_VERBOSITY": "ERROR",
    "KERAS_BACKEND": "tensorflow",
}

# Lines TensorFlow writes to the process's stderr while it starts, which say nothing
# the user can act on. Anything else written then (a real error) is shown.
_CHATTER = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|[IW]\d{4} [\d:. ]+\s*\d+ \S+:\d+\]"
    r"|E\d{4} [\d:. ]+\s*\d+ \S+:\d+\] failed call to cuInit"
    r"|To enable the following instructions: .* rebuild TensorFlow"
    r"|.*This TensorFlow binary is optimized to use available CPU instructions)"
)


def configure_environment() -> None:
    """Set the environment variables above where the user has not."""
    for key, value in _ENVIRONMENT.items():
        os.environ.setdefault(key, value)


@contextlib.contextmanager
def _filtered_native_stderr():
    """Send file descriptor 2 to a temporary file for the block, then write back the
    lines that are not start-up chatter."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no real stderr (embedded use): nothing to filter
        yield
        return
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode("utf-8", "replace")
            kept = [line for line in text.splitlines() if line.strip() and not _CHATTER.match(line)]
            if kept:
                print("\n".join(kept), file=sys.stderr, flush=True)


def load_library():
    """Import keras_vae in full (TensorFlow, every component, installed plugins are
    found later on demand) without TensorFlow's start-up lines; returns the module."""
    configure_environment()
    import keras_vae

    if "tensorflow" in sys.modules:  # already started (tests, notebooks)
        keras_vae._import_all()
        return keras_vae
    with _filtered_native_stderr():
        keras_vae._import_all()
        import tensorflow as tf

        tf.config.list_physical_devices()  # device start-up (cuInit) happens here, filtered
    return keras_vae
