"""The base class of training objectives."""
from __future__ import annotations

from typing import Any

import tensorflow as tf

from keras_vae import registry


class Objective:
    """A per-example training loss built from the :class:`Terms` of a batch.

    An objective says how many latent samples it needs per example
    (``num_samples``), which extra metrics it reports (``metric_names``), and maps
    the terms to ``(per_example_loss [B], {metric_name: per_example_value [B]})``.
    The model averages both over the batch (weighted by ``sample_weight``), so
    ``fit`` and ``evaluate`` report ``loss`` plus every name in ``metric_names``, in
    nats per example.

    Subclass it, register it, and it is usable by name everywhere (``VAE``, config
    files, the CLI, ``.keras`` files)::

        @kv.register("objective", "my_bound")
        class MyBound(kv.objectives.Objective):
            num_samples = 3
            metric_names = ("elbo",)

            def __call__(self, terms):
                elbo = terms.reconstruction() - terms.kl()
                return -elbo, {"elbo": elbo}

    Objectives are plain Python objects (not layers): they own no weights, and
    their configuration is ``get_config()`` (the constructor's arguments).

    Example:
        >>> import keras_vae as kv
        >>> kv.get("objective", {"name": "iwae", "num_samples": 5}).num_samples
        5
    """

    #: latent samples per example that the model draws for this objective.
    num_samples: int = 1
    #: the per-example metrics ``__call__`` returns (besides the loss).
    metric_names: tuple[str, ...] = ()

    def __call__(self, terms) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(terms).")

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Objective":
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


registry.register_base("objective", Objective)
