"""Every docstring example of keras_vae runs as a doctest.

The examples are written the one way both tools read: an ``Example:`` (or
``Examples:``) section of ``>>>`` lines. doctest runs them here; mkdocstrings renders
them as code in the API reference (``docs/griffe_examples.py`` reads the singular
title as the ``Examples`` section). Each public module's examples run in the module's
namespace, as ``python -m doctest`` would, with ``ELLIPSIS`` and
``NORMALIZE_WHITESPACE``. They must stay fast (tiny models, ``epochs=1``,
``verbose=0``): the whole file runs in CI.
"""
import doctest
import importlib
import pkgutil
import re

import pytest

import keras_vae

OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _public_modules() -> list[str]:
    """keras_vae and every module under it whose dotted name has no ``_`` part."""
    names = [
        info.name
        for info in pkgutil.walk_packages(keras_vae.__path__, "keras_vae.")
        if not any(part.startswith("_") for part in info.name.split("."))
    ]
    return ["keras_vae", *sorted(names)]


MODULES = _public_modules()

def _doctests(module_name: str) -> list[doctest.DocTest]:
    module = importlib.import_module(module_name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    return [test for test in finder.find(module, module_name) if test.examples]


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples_run(module_name):
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    report = []
    for test in _doctests(module_name):
        runner.run(test, out=report.append)
    results = runner.summarize(verbose=False)
    assert results.failed == 0, "".join(report)


def test_the_public_modules_have_examples():
    """The collection is real: the components, the tools and the models all carry
    examples."""
    with_examples = {name for name in MODULES if _doctests(name)}
    for name in ("keras_vae.plotting.grids", "keras_vae.plotting.display_range",
                 "keras_vae.likelihoods.poisson", "keras_vae.callbacks", "keras_vae.models.vae",
                 "keras_vae.datasets.tabular", "keras_vae.priors.vamp", "keras_vae.cli.splits"):
        assert name in with_examples, name
    assert len(with_examples) >= 80, sorted(set(MODULES) - with_examples)


_PROMPT = re.compile(r"^\s*>>>", re.M)
_SECTION = re.compile(r"^\s*Examples?:\s*$", re.M)


@pytest.mark.parametrize("module_name", MODULES)
def test_examples_sit_in_an_example_section(module_name):
    """mkdocstrings renders ``>>>`` lines as code only inside an ``Example:`` /
    ``Examples:`` section; elsewhere they become prose (and ``x[0][1]`` a link)."""
    for test in _doctests(module_name):
        lines = test.docstring.splitlines()
        for example in test.examples:
            before = "\n".join(lines[: example.lineno])
            assert _SECTION.search(before), (
                f"{test.name}: the example `{example.source.strip()}` is not under an "
                "'Example:' section"
            )
