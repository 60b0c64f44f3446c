"""The capacity-annealed β-VAE objective of Burgess et al. (2018)."""
from __future__ import annotations

import tensorflow as tf

from keras_vae._arguments import check_number
from keras_vae.objectives.budget import MAX_SAMPLES
from keras_vae.objectives.objective import Objective
from keras_vae.registry import register


@register("objective", "capacity_elbo")
class CapacityELBO(Objective):
    """Per-example loss ``-E_q log p(x|z) + gamma |KL(q(z|x) || p(z)) - C|``.

    The capacity ``C`` rises linearly from 0 to ``capacity_max`` nats over the
    first ``capacity_steps`` training steps, then stays there ("Understanding
    disentangling in β-VAE", Burgess et al., 2018; their dSprites setting is
    ``gamma=1000``, ``capacity_max=25``, ``capacity_steps=100000``)::

        C(step) = capacity_max * min(step / capacity_steps, 1)

    ``step`` is the model's optimizer step counter (``Terms.step``), which the
    optimizer saves with its state, so a model saved mid-schedule and loaded again
    resumes the schedule exactly where it stopped. Outside training (``evaluate``)
    ``C`` is its value at the optimizer's current step; terms built without a step
    (``vae.terms(...)`` called directly) use ``capacity_max``.

    Reports ``elbo``, ``reconstruction_loss``, ``kl`` and ``capacity`` (``C``).

    Args:
        gamma: weight of ``|KL - C|``, ``>= 0``.
        capacity_max: the final capacity in nats, ``>= 0``.
        capacity_steps: training steps over which C rises, ``>= 1``.
        num_samples: latent samples per example.

    Example:
        >>> import keras_vae as kv
        >>> objective = kv.objectives.CapacityELBO(gamma=100.0, capacity_max=10.0, capacity_steps=1000)
        >>> float(objective.capacity(500))
        5.0
    """

    metric_names = ("elbo", "reconstruction_loss", "kl", "capacity")

    def __init__(
        self,
        gamma: float = 1000.0,
        capacity_max: float = 25.0,
        capacity_steps: int = 100_000,
        num_samples: int = 1,
    ):
        self.gamma = check_number(gamma, "gamma", minimum=0.0)
        self.capacity_max = check_number(capacity_max, "capacity_max", minimum=0.0)
        self.capacity_steps = int(check_number(capacity_steps, "capacity_steps", minimum=1, integer=True))
        self.num_samples = int(
            check_number(num_samples, "CapacityELBO num_samples", minimum=1, maximum=MAX_SAMPLES, integer=True)
        )

    def capacity(self, step) -> tf.Tensor:
        """``C`` at a training step (float32 scalar); ``None`` gives ``capacity_max``."""
        if step is None:
            return tf.constant(self.capacity_max, tf.float32)
        fraction = tf.minimum(tf.cast(step, tf.float32) / float(self.capacity_steps), 1.0)
        return self.capacity_max * fraction

    def __call__(self, terms):
        reconstruction, kl = terms.reconstruction(), terms.kl()
        capacity = self.capacity(terms.step)
        loss = -reconstruction + self.gamma * tf.abs(kl - capacity)
        return loss, {
            "elbo": reconstruction - kl,
            "reconstruction_loss": -reconstruction,
            "kl": kl,
            "capacity": capacity * tf.ones_like(kl),
        }

    def get_config(self) -> dict:
        return {
            "gamma": self.gamma,
            "capacity_max": self.capacity_max,
            "capacity_steps": self.capacity_steps,
            "num_samples": self.num_samples,
        }
