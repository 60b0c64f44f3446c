"""The evaluation tools as model methods: each passes the model to
``keras_vae.evaluation``, which uses only the model's public methods."""
from __future__ import annotations

import numpy as np

from keras_vae import _errors


class EvaluationMixin:
    """``log_likelihood``, ``posterior_samples``, ``kl_per_dimension``,
    ``active_units``, ``interpolate`` and ``traverse``."""

    def log_likelihood(self, x, num_samples: int | None = None, method: str = "iwae", **kwargs):
        """log p(x) per example, in nats.

        ``method="iwae"`` (default): the importance-sampled estimate of Burda et al.
        (2015) with ``num_samples`` (default 5000) samples from q(z|x); see
        ``keras_vae.evaluation.log_likelihood`` for ``batch_size``, ``chunk_size``,
        ``seed`` and ``return_bits_per_dim``. ``method="ais"``: annealed importance
        sampling with HMC transitions (``num_steps``, ``num_chains``,
        ``anneal_from``, ...; see ``keras_vae.evaluation.ais_log_likelihood``).
        """
        from keras_vae import evaluation

        if method == "ais":
            if num_samples is not None:
                raise ValueError(
                    "method='ais' takes num_chains= and num_steps=, not num_samples= "
                    "(that is the importance-sampling estimate, method='iwae')."
                )
            with _errors.own_message_first():  # an in-graph check's message on line one
                return evaluation.ais_log_likelihood(self, x, **kwargs)
        if method != "iwae":
            raise ValueError(f"method must be 'iwae' or 'ais', got {method!r}.")
        with _errors.own_message_first():
            return evaluation.log_likelihood(
                self, x, num_samples=5000 if num_samples is None else num_samples, **kwargs
            )

    def posterior_samples(self, x, num_samples: int = 1000, method: str = "hmc", **kwargs):
        """Samples of the true posterior p(z|x) by HMC (``method="hmc"``, with R-hat
        and the step size reported), or of the amortized q(z|x) (``method="q"``)
        for comparison; see ``keras_vae.evaluation.posterior_samples``."""
        from keras_vae import evaluation

        return evaluation.posterior_samples(self, x, num_samples=num_samples, method=method, **kwargs)

    def kl_per_dimension(self, x, **kwargs):
        """Mean KL(q(z_i|x) || p(z_i)) per latent dimension (see ``keras_vae.evaluation``)."""
        from keras_vae import evaluation

        return evaluation.kl_per_dimension(self, x, **kwargs)

    def active_units(self, x, threshold: float = 0.01, **kwargs):
        """Latent units whose posterior mean varies with x (variance > threshold)."""
        from keras_vae import evaluation

        return evaluation.active_units(self, x, threshold=threshold, **kwargs)

    def interpolate(self, x1, x2, steps: int = 8, method: str = "linear", **kwargs):
        """Decoded means on a linear or slerp path between the posterior means of x1, x2."""
        from keras_vae import evaluation

        return evaluation.interpolate(self, x1, x2, steps=steps, method=method, **kwargs)

    def traverse(self, x, dim: int, values=None, **kwargs):
        """Decode x's posterior mean with latent ``dim`` set to each value (default -3..3)."""
        from keras_vae import evaluation

        values = np.linspace(-3.0, 3.0, 9) if values is None else values
        return evaluation.traverse(self, x, dim, values=values, **kwargs)

