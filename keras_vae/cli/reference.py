"""The command-line reference of the documentation (``docs/guide/cli.md``), generated
from the parser.

    python -m keras_vae.cli.reference            # print the Markdown
    python -m keras_vae.cli.reference --write docs/guide/cli.md

``--write`` replaces the text between the page's ``<!-- cli-reference:start -->``
and ``<!-- cli-reference:end -->`` lines; a test checks that the page holds
exactly what this prints, so the reference cannot drift from the parser.
"""
from __future__ import annotations

import argparse
import sys

START = "<!-- cli-reference:start -->"
END = "<!-- cli-reference:end -->"


def _flag(action: argparse.Action) -> str:
    names = ", ".join(action.option_strings) if action.option_strings else action.metavar or action.dest
    if action.option_strings and action.nargs != 0:
        metavar = action.metavar or action.dest.upper()
        names += f" {metavar}" + (" ..." if action.nargs == "+" else "")
    return names


def markdown() -> str:
    """The reference: one table of arguments per command."""
    from keras_vae.cli.parser import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {choice.dest: choice.help for choice in sub._choices_actions}
    parts = []
    for name, command in sub.choices.items():
        parts.append(f"**`keras-vae {name}`**: {helps[name]}\n")
        parts.append("| argument | what |\n| --- | --- |")
        for action in command._actions:
            if isinstance(action, argparse._HelpAction) or action.dest == "debug":
                continue
            text = " ".join((action.help or "").split()).replace("|", "\\|")
            if action.choices and not action.option_strings:
                text += f" (one of: {', '.join(action.choices)})"
            parts.append(f"| `{_flag(action)}` | {text} |".replace("`DATASET|PATH`", "`DATASET\\|PATH`"))
        parts.append("")
    parts.append("Every command also takes `--debug` (full tracebacks) and `-h` / `--help`.")
    return "\n".join(parts)


def replace_in(text: str) -> str:
    """``text`` with its reference block replaced by :func:`markdown`."""
    if START not in text or END not in text:
        raise ValueError(f"no {START} ... {END} block to replace")
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    return f"{before}{START}\n{markdown()}\n{END}{after}"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="the keras-vae command-line reference (Markdown)")
    parser.add_argument("--write", metavar="README", help="replace the reference block in this file")
    args = parser.parse_args(argv)
    if not args.write:
        print(markdown())
        return
    with open(args.write, encoding="utf-8") as f:
        text = f.read()
    with open(args.write, "w", encoding="utf-8") as f:
        f.write(replace_in(text))


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
