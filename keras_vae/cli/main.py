"""``main()``: parse, run one command, turn errors into one line and an exit status."""
from __future__ import annotations

import sys
from typing import Sequence

from keras_vae.cli._startup import configure_environment
from keras_vae.cli.errors import UsageError, is_expected, one_line
from keras_vae.cli.parser import PROG, build_parser


def _dataset_hint(exc: BaseException) -> str | None:
    """One line for a data set that was not found (its own message spans lines and
    speaks of Python arguments)."""
    from keras_vae.datasets import DatasetNotFoundError  # only reached after a command ran

    if not isinstance(exc, DatasetNotFoundError) or exc.dataset is None:
        return None
    return (
        f"{exc.dataset} ({exc.split} split) was not found and could not be downloaded: set "
        f"KERAS_VAE_DATA to a folder holding {exc.dataset}/*-ubyte.gz, give such a folder as "
        "DATASET, or go online (--debug lists every place searched)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``keras-vae`` command line and return its exit status.

    Args:
        argv: the arguments (default ``sys.argv[1:]``).

    Returns:
        0 on success, 1 when a command fails, 2 for usage errors (argparse's own
        exits, e.g. ``--help``, return their status too).

    Example:
        >>> from keras_vae.cli import main
        >>> main(["--version"])  # doctest: +SKIP
        keras-vae 0.1.0
        0
    """
    configure_environment()
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        debug = bool(getattr(args, "debug", False))
        if args.command is None:
            parser.print_help()
            return 2
        from keras_vae.cli.commands import COMMANDS

        return COMMANDS[args.command](args)
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except UsageError as exc:
        if debug:
            raise
        print(f"{PROG}: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            raise
        hint = _dataset_hint(exc) if "keras_vae.datasets" in sys.modules else None
        if hint is not None:
            print(f"{PROG}: error: {hint}", file=sys.stderr)
        elif is_expected(exc):
            print(f"{PROG}: error: {one_line(exc)}", file=sys.stderr)
        else:
            # An unexpected failure: still one line, but say how to see more.
            print(
                f"{PROG}: error: {type(exc).__name__}: {one_line(exc)} (run with --debug "
                "for the traceback)",
                file=sys.stderr,
            )
        return 1
