"""keras_vae._attributes.temporarily: the old values come back, also after an error."""
import doctest

import pytest

from keras_vae import _attributes
from keras_vae._attributes import temporarily


class _Settings:
    steps, jit_compile = 32, "auto"


def test_the_old_values_come_back_after_the_block_and_after_an_error():
    s = _Settings()
    with temporarily(s, steps=1, jit_compile=False):
        assert (s.steps, s.jit_compile) == (1, False)
    assert (s.steps, s.jit_compile) == (32, "auto")
    with pytest.raises(RuntimeError), temporarily(s, steps=1):
        raise RuntimeError("tracing failed")
    assert s.steps == 32


def test_the_docstring_example_runs():
    assert doctest.testmod(_attributes).failed == 0
