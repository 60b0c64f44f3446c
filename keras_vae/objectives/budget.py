"""How much memory a training step's latent samples take, and a budget for it.

An objective with ``num_samples = K`` decodes ``K * batch`` latents in every training
step, all at once (``Terms``): the decoder's output, the per-element densities and
their gradients are ``K * batch`` rows each. ``K = 10**6`` at batch 128 on MNIST is
hundreds of GiB, which used to be accepted until the process ran out of memory.
:func:`sample_memory` estimates those tensors; :func:`check_sample_budget` refuses,
with the figure, a setting over the budget. The model calls it when training starts
(it knows the batch size then); objectives refuse ``K > MAX_SAMPLES`` at construction.
"""
from __future__ import annotations

from keras_vae._arguments import check_number

#: Bytes a training step's sample tensors may take by default (2 GiB).
DEFAULT_MEMORY_BUDGET = 2 * 1024**3
#: The most latent samples per example an objective accepts.
MAX_SAMPLES = 100_000
_FLOAT32 = 4


def sample_memory(
    num_samples: int,
    batch_size: int,
    data_size: int,
    latent_dim: int,
    *,
    params_per_element: int = 1,
    hidden_size: int = 0,
    decoder_passes: int = 1,
) -> int:
    """Estimated bytes of the float32 tensors one training step holds for its
    ``K * batch`` latent samples, counting only what grows with them::

        4 * K * batch * passes * (2 * D * (P + 1) + 2 * H + 4 * L)

    per decoded sample: the likelihood's ``D * P`` parameters and ``D`` per-element
    log-densities, each with its gradient (``2 * D * (P + 1)``); the decoder's hidden
    activations and their gradients (``2 * H``, ``H`` the sum of its hidden widths,
    0 when unknown); the noise, the sample, ``log q`` and their gradients
    (``4 * L``). ``passes`` is 2 for the doubly reparameterized IWAE gradient (it
    decodes every sample twice). Weights, optimizer state and what TensorFlow keeps
    beside are not counted: the real peak is higher, never lower.

    Args:
        num_samples: K, latent samples per example.
        batch_size: examples per step (per replica under a distribution strategy).
        data_size: D, numbers per example (``prod(data_shape)``).
        latent_dim: L.
        params_per_element: P, the likelihood's parameters per data element
            (``likelihood_layer.num_params``: 1 for Bernoulli, 2 for a Gaussian with
            a predicted scale).
        hidden_size: H, the decoder's hidden units per sample (sum over layers).
        decoder_passes: decoder passes per step over the samples.

    Example:
        >>> sample_memory(1000, 128, 784, 20)  # MNIST, Bernoulli: 128,000 rows of 3,216 floats
        1646592000
    """
    k = int(check_number(num_samples, "num_samples", minimum=1, integer=True))
    b = int(check_number(batch_size, "batch_size", minimum=1, integer=True))
    d = int(check_number(data_size, "data_size", minimum=1, integer=True))
    latent = int(check_number(latent_dim, "latent_dim", minimum=1, integer=True))
    p = int(check_number(params_per_element, "params_per_element", minimum=1, integer=True))
    h = int(check_number(hidden_size, "hidden_size", minimum=0, integer=True))
    passes = int(check_number(decoder_passes, "decoder_passes", minimum=1, integer=True))
    return _FLOAT32 * k * b * passes * (2 * d * (p + 1) + 2 * h + 4 * latent)


def _gib(n: float) -> str:
    return f"{n / 1024**3:,.1f} GiB"


def check_sample_budget(
    num_samples: int,
    batch_size: int,
    data_size: int,
    latent_dim: int,
    *,
    params_per_element: int = 1,
    hidden_size: int = 0,
    decoder_passes: int = 1,
    budget: int | None = DEFAULT_MEMORY_BUDGET,
    what: str = "num_samples",
) -> int:
    """:func:`sample_memory` of a setting, or a ``ValueError`` with the figure when it
    is over ``budget`` bytes (``None``: no limit).

    Args:
        num_samples, batch_size, data_size, latent_dim, params_per_element,
            hidden_size, decoder_passes: as :func:`sample_memory`.
        budget: bytes the sample tensors may take (default 2 GiB).
        what: how the message names K (e.g. ``"IWAE num_samples"``).

    Returns:
        The estimate, in bytes.

    Raises:
        ValueError: naming K, the batch size, the estimate and the budget.

    Example:
        >>> check_sample_budget(5, 128, 784, 20)
        8232960
        >>> check_sample_budget(10**5, 128, 784, 20)
        Traceback (most recent call last):
        ...
        ValueError: num_samples=100000 at batch_size=128 would hold about 153.4 GiB of float32 tensors per training step (12,800,000 decoded samples, 12,864 bytes each), over the memory budget of 2.0 GiB. Lower num_samples or the batch size, or raise the objective's memory_budget.
    """
    estimate = sample_memory(
        num_samples, batch_size, data_size, latent_dim,
        params_per_element=params_per_element, hidden_size=hidden_size, decoder_passes=decoder_passes,
    )
    if budget is not None and estimate > check_number(budget, "memory_budget", minimum=0, exclusive_minimum=True):
        rows = int(num_samples) * int(batch_size) * int(decoder_passes)
        raise ValueError(
            f"{what}={int(num_samples)} at batch_size={int(batch_size)} would hold about "
            f"{_gib(estimate)} of float32 tensors per training step ({rows:,} decoded samples, "
            f"{estimate // rows:,} bytes each), over the memory budget of {_gib(budget)}. "
            f"Lower {what.split()[-1]} or the batch size, or raise the objective's memory_budget."
        )
    return estimate
