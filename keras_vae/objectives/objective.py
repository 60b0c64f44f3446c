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

    Objectives are plain Python objects (not layers); their configuration is
    ``get_config()`` (the constructor's arguments).

    **Batch-level terms and auxiliary networks** (the wider contract; every hook
    has a do-nothing default, so the objectives above need none of it):

    * ``terms`` always hold the *whole* batch: ``terms.q`` has batch shape ``[B]``
      and ``terms.z`` is ``[K, B, L]``, so an objective may compare every example's
      code with every other example's posterior (β-TCVAE's ``B x B x L`` density
      tensor) or take batch statistics (DIP-VAE's covariance). It still returns a
      per-example loss; a batch-level scalar is added to every example. Under a
      distribution strategy "the batch" is one replica's batch.
    * ``needs_dataset_size = True``: ``fit`` measures the number of training
      examples (arrays, tensors, dicts of them) and calls
      :meth:`bind_dataset_size` with it, or ``None`` when it cannot be known (a
      ``tf.data.Dataset``, a generator) — the objective then raises a clear error
      unless it was given the size, before any training step runs.
    * ``terms.step`` (the optimizer's step counter, saved with the optimizer, so a
      schedule built on it resumes exactly) and ``terms.objective_seed`` (a
      stateless seed that moves with the step, for an objective's own noise) are
      set by the model's train / test steps.
    * :meth:`auxiliary_networks` / :meth:`auxiliary_optimizers` (dicts keyed by the
      same names) declare Keras layers the objective trains itself, each with its
      own optimizer. The model tracks them (``model.objective_networks``,
      ``model.objective_optimizers``): their weights and optimizer state are saved
      in ``.keras`` files and restored, the model's own optimizer never touches
      them, and :meth:`build_auxiliary` builds them when the model is built. In
      every training step the model evaluates :meth:`auxiliary_losses` (a scalar
      per network) in the same tape as the model's loss, and applies each
      network's optimizer to the gradient of its loss with respect to that
      network's weights only, after the model's update.

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

    #: whether ``__call__`` needs the number of training examples (see
    #: :meth:`bind_dataset_size`).
    needs_dataset_size: bool = False

    def bind_dataset_size(self, dataset_size: int | None) -> bool:
        """Called by ``fit`` before training when ``needs_dataset_size``, with the
        number of training examples (``None`` when ``fit`` cannot know it). Raise a
        ``ValueError`` when the objective cannot train without it; return ``True``
        when the value the objective uses changed (the model then retraces its
        steps). The default does nothing."""
        return False

    def auxiliary_networks(self) -> dict[str, Any]:
        """Keras layers this objective owns and trains itself, by name (default none)."""
        return {}

    def auxiliary_optimizers(self) -> dict[str, Any]:
        """One ``keras.optimizers.Optimizer`` per auxiliary network, same names."""
        return {}

    def build_auxiliary(self, latent_dim: int | None, data_shape: tuple[int, ...]) -> None:
        """Build the auxiliary networks (called by the model's ``build``)."""

    def auxiliary_losses(self, terms) -> dict[str, tf.Tensor]:
        """A scalar loss per auxiliary network for this training batch; the model
        differentiates each with respect to that network's trainable weights only."""
        return {}

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
