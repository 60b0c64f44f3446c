"""Integer-valued likelihoods on the command line: raw levels in, bits/dim only where
it means something.

The 8-bit likelihoods (``logistic_mixture``, ``categorical``) and the count
likelihoods set ``integer_valued``: their data must stay whole numbers (0..255 for
8-bit images; no silent rescaling). The commands therefore load a named data set
(``mnist``, ``fashion_mnist``, ``sample``) or an 8-bit file *without* the usual
``/ 255`` when the model's likelihood is integer-valued, and ``keras-vae train``
gives the encoder ``input_scale = 1 / (num_values - 1)`` for a likelihood over
levels (one with ``num_values``), as the likelihoods' docstrings recommend (a
``Rescaling(1 / 255)`` in front of the encoder), unless ``--encoder-options``
sets ``input_scale`` itself or the encoder has no such option.

Bits per dimension, ``-log p(x) / (D ln 2)``, is a code length only for a
likelihood whose ``discrete`` flag is set (a probability mass); for a density
(Gaussian, continuous Bernoulli, Beta) it is shown as "n/a".
"""
from __future__ import annotations

import dataclasses

CONTINUOUS_NOTE = "n/a (continuous likelihood)"


def likelihood_class(name: str) -> type:
    """The registered likelihood class called ``name``."""
    from keras_vae.cli._startup import load_library

    load_library()
    from keras_vae import registry

    return registry.get_class("likelihood", name)


def integer_valued(likelihood_name: str) -> bool:
    """Whether the likelihood ``likelihood_name`` takes whole numbers (raw levels, counts).

    Example:
        >>> from keras_vae.cli.levels import integer_valued
        >>> integer_valued("categorical"), integer_valued("bernoulli")
        (True, False)
    """
    return bool(getattr(likelihood_class(likelihood_name), "integer_valued", False))


def real_valued(likelihood_name: str) -> bool:
    """Whether the likelihood ``likelihood_name`` takes any real number (no bounded
    support, no integers): the ones standardization applies to.

    Example:
        >>> from keras_vae.cli.levels import real_valued
        >>> real_valued("gaussian"), real_valued("categorical"), real_valued("bernoulli")
        (True, False, False)
    """
    cls = likelihood_class(likelihood_name)
    return not (
        getattr(cls, "support", None) is not None
        or getattr(cls, "integer_valued", False)
        or getattr(cls, "discrete", False)
    )


def with_encoder_scaling(settings):
    """``settings`` with ``input_scale = 1 / (num_values - 1)`` in the encoder options
    when the likelihood is over levels 0..num_values-1, the encoder takes
    ``input_scale`` and none was given; otherwise ``settings`` unchanged.

    Example:
        >>> from keras_vae.cli.levels import with_encoder_scaling
        >>> from keras_vae.cli.settings import TrainSettings
        >>> s = with_encoder_scaling(TrainSettings(likelihood="categorical"))
        >>> round(s.encoder_options["input_scale"] * 255, 6)
        1.0
    """
    from keras_vae.cli.components import options_of
    from keras_vae import registry

    likelihood = likelihood_class(settings.likelihood)
    if not getattr(likelihood, "integer_valued", False):
        return settings
    num_values = settings.likelihood_options.get("num_values", options_of(likelihood).get("num_values"))
    if not isinstance(num_values, int) or num_values < 2:  # counts: no fixed top level
        return settings
    encoder = registry.get_class("encoder", settings.encoder)
    if "input_scale" not in options_of(encoder) or "input_scale" in settings.encoder_options:
        return settings
    options = dict(settings.encoder_options, input_scale=1.0 / (num_values - 1))
    return dataclasses.replace(settings, encoder_options=options)


def load(name_or_path: str, split: str, vae=None, likelihood_name: str | None = None, **kwargs):
    """``datasets.load_dataset`` with raw levels (no ``/ 255``) for an integer-valued
    likelihood, given as the model ``vae`` or by name; ``(x, y)``."""
    from keras_vae import datasets

    if vae is not None:
        raw = bool(getattr(vae.likelihood_layer, "integer_valued", False))
    else:
        raw = likelihood_name is not None and integer_valued(likelihood_name)
    return datasets.load_dataset(name_or_path, split=split, normalize=not raw, **kwargs)


def is_discrete(vae) -> bool:
    """Whether ``vae``'s log-likelihood is a probability mass (bits/dim meaningful)."""
    return bool(getattr(vae.likelihood_layer, "discrete", False))


def bits_text(vae, bits_per_dim) -> str:
    """``bits_per_dim`` formatted, or :data:`CONTINUOUS_NOTE` for a density."""
    if bits_per_dim is None or not is_discrete(vae):
        return CONTINUOUS_NOTE
    return f"{float(bits_per_dim):.4f}"
