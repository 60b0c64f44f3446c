"""A griffe extension for the API reference: keras_vae's docstrings title their
doctests ``Example:`` (singular), which griffe's Google parser reads as a generic
admonition (so ``x[0][1]`` in a doctest becomes a Markdown reference link). Read it as
the ``Examples:`` section, rendered as code."""
from __future__ import annotations

import re

import griffe

_SINGULAR = re.compile(r"^(\s*)Example:\s*$", re.M)


class ExampleSections(griffe.Extension):
    def on_instance(self, *, obj, **kwargs) -> None:  # noqa: ANN001
        docstring = getattr(obj, "docstring", None)
        if docstring is not None and "Example:" in docstring.value:
            docstring.value = _SINGULAR.sub(r"\1Examples:", docstring.value)
