"""The base class of training objectives."""
from __future__ import annotations

from typing import Any

import tensorflow as tf

from keras_vae import registry
from keras_vae.objectives.budget import DEFAULT_MEMORY_BUDGET, check_sample_budget


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
    #: bytes a training step's sample tensors may take (``None``: no limit); see
    #: :meth:`check_sample_budget`.
    memory_budget: int | None = DEFAULT_MEMORY_BUDGET
    #: decoder passes over the samples per training step.
    decoder_passes: int = 1

    def check_sample_budget(
        self,
        batch_size: int,
        data_size: int,
        latent_dim: int,
        params_per_element: int = 1,
        hidden_size: int = 0,
    ) -> int:
        """Estimated bytes of one training step's sample tensors at this batch size
        (:func:`keras_vae.objectives.budget.sample_memory` with this objective's
        ``num_samples`` and ``decoder_passes``), or a ``ValueError`` naming the figure
        when it exceeds ``memory_budget``. The model calls it before training.

        Example:
            >>> import keras_vae as kv
            >>> kv.objectives.IWAE(num_samples=50).check_sample_budget(128, 784, 20)
            82329600
        """
        return check_sample_budget(
            self.num_samples, batch_size, data_size, latent_dim,
            params_per_element=params_per_element, hidden_size=hidden_size,
            decoder_passes=self.decoder_passes, budget=self.memory_budget,
            what=f"{type(self).__name__} num_samples",
        )

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
