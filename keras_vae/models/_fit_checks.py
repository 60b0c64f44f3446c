"""What ``fit`` checks or binds before the first step, beyond the data: the memory
budget of an objective's latent samples and the dataset size an objective needs."""
from __future__ import annotations

import numpy as np
import tensorflow as tf

class FitChecksMixin:
    """Needs ``objective``, ``built``, ``data_shape`` (and ``latent_dim``,
    ``likelihood_layer`` where the model has them)."""

    def _bind_dataset_size(self, x) -> None:
        """Give an objective that needs it (``Objective.needs_dataset_size``) the
        number of training examples: the length of arrays / tensors (or of a dict
        batch's ``"x"``), ``None`` for a dataset or a generator (the objective then
        needs it from its own arguments, or refuses before any step)."""
        if not getattr(self.objective, "needs_dataset_size", False):
            return
        data = x.get("x") if isinstance(x, dict) else x
        size = None
        if isinstance(data, (np.ndarray, tf.Tensor)) or hasattr(data, "__array__"):
            shape = getattr(data, "shape", None)
            if shape is not None and len(shape) and shape[0] is not None:
                size = int(shape[0])
        if self.objective.bind_dataset_size(size):
            # The size is a constant of the traced steps: trace them again.
            self.train_function = self.test_function = None

    def _check_sample_budget(self, x, batch_size) -> None:
        """Refuse, before the first step, an objective whose latent samples would not
        fit its memory budget at this batch size (``Objective.check_sample_budget``)."""
        check = getattr(self.objective, "check_sample_budget", None)
        if check is None or not self.built or self.data_shape is None or not getattr(self, "latent_dim", None):
            return  # a model without one latent vector (a toy on the base) has nothing to budget
        if isinstance(x, tf.data.Dataset):
            spec = x.element_spec
            spec = spec[0] if isinstance(spec, tuple) else spec
            spec = spec.get("x") if isinstance(spec, dict) else spec
            batch_size = getattr(spec, "shape", None) and spec.shape[0]
        elif batch_size is None:
            batch_size = 32  # Keras' default
        if not batch_size:
            return  # unknown until the data flow: the step itself is the check
        likelihood = getattr(self, "likelihood_layer", None)
        check(int(batch_size), int(np.prod(self.data_shape)), int(self.latent_dim),
              params_per_element=int(getattr(likelihood, "num_params", 1) or 1))

