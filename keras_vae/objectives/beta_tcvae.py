"""β-TCVAE (Chen et al., 2018): the KL split into index-code mutual information,
total correlation and dimension-wise KL, each with its own weight."""
from __future__ import annotations

import tensorflow as tf

from keras_vae._arguments import check_choice, check_number
from keras_vae.objectives._decomposition import ESTIMATORS, decompose
from keras_vae.objectives.objective import Objective
from keras_vae.registry import register


@register("objective", "beta_tcvae")
class BetaTCVAE(Objective):
    """Per-example loss ``-E_q log p(x|z) + alpha MI + beta TC + gamma DKL``.

    With ``z ~ q(z|x)`` and the aggregate posterior ``q(z) = (1/N) sum_n q(z|x_n)``::

        log q(z|x) - log p(z) = [log q(z|x) - log q(z)]               mutual information (MI)
                              + [log q(z) - sum_j log q(z_j)]         total correlation (TC)
                              + [sum_j log q(z_j) - log p(z)]          dimension-wise KL (DKL)

    ``log q(z)`` and ``log q(z_j)`` are estimated from the batch: the ``B x B x L``
    tensor ``log q(z_{i,l} | x_j)`` (every sample against every example's
    posterior, one vectorised op) reduced by ``logsumexp`` with importance weights:
    ``estimator="mss"`` (minibatch stratified sampling, default, less biased) or
    ``"mws"`` (minibatch weighted sampling). Both need N, the number of training
    examples: ``dataset_size``, or (when ``None``) the size of the arrays given to
    ``fit``; a ``tf.data.Dataset`` needs ``dataset_size=`` (a clear error says so
    before any step). ``alpha = beta = gamma = 1`` is the ELBO (with the Monte Carlo
    KL); the paper's β-TCVAE is ``alpha = gamma = 1, beta > 1``.

    The posterior must factorize over the latent dimensions (the diagonal Gaussian).
    Reports ``elbo`` (analytic KL where TFP has it), ``reconstruction_loss``,
    ``kl``, ``mutual_information``, ``total_correlation``, ``dimension_kl``.

    Args:
        alpha: weight of the mutual information, ``>= 0``.
        beta: weight of the total correlation, ``>= 0``.
        gamma: weight of the dimension-wise KL, ``>= 0``.
        estimator: ``"mss"`` or ``"mws"``.
        dataset_size: N (``None``: from ``fit``'s data).
        num_samples: latent samples per example (1 to 100).

    Example:
        >>> import keras_vae as kv
        >>> kv.get("objective", {"name": "beta_tcvae", "beta": 6.0}).get_config()["beta"]
        6.0
    """

    metric_names = ("elbo", "reconstruction_loss", "kl", "mutual_information", "total_correlation", "dimension_kl")
    needs_dataset_size = True

    def __init__(
        self,
        alpha: float = 1.0,
        beta: float = 6.0,
        gamma: float = 1.0,
        estimator: str = "mss",
        dataset_size: int | None = None,
        num_samples: int = 1,
        fitted_dataset_size: int | None = None,
    ):
        self.alpha = check_number(alpha, "alpha", minimum=0.0)
        self.beta = check_number(beta, "beta", minimum=0.0)
        self.gamma = check_number(gamma, "gamma", minimum=0.0)
        self.estimator = check_choice(estimator, "estimator", ESTIMATORS)
        self.dataset_size = None if dataset_size is None else int(
            check_number(dataset_size, "dataset_size", minimum=2, integer=True)
        )
        self.fitted_dataset_size = None if fitted_dataset_size is None else int(
            check_number(fitted_dataset_size, "fitted_dataset_size", minimum=1, integer=True)
        )
        self.num_samples = int(check_number(num_samples, "BetaTCVAE num_samples", minimum=1, maximum=100, integer=True))

    @property
    def effective_dataset_size(self) -> int | None:
        """N as used: ``dataset_size`` when given, else the size ``fit`` measured."""
        return self.dataset_size if self.dataset_size is not None else self.fitted_dataset_size

    def bind_dataset_size(self, dataset_size: int | None) -> bool:
        if self.dataset_size is not None:
            return False
        if dataset_size is None:
            if self.fitted_dataset_size is not None:
                return False  # a reloaded model resumed on a dataset: keep the size it was trained with
            raise ValueError(
                "beta_tcvae needs the number of training examples N to estimate log q(z), and "
                "fit cannot count the examples of a tf.data.Dataset or a generator: give it, "
                "e.g. objective={'name': 'beta_tcvae', 'dataset_size': 60000}."
            )
        changed = dataset_size != self.fitted_dataset_size
        self.fitted_dataset_size = int(dataset_size)
        return changed

    def _size(self) -> int:
        size = self.effective_dataset_size
        if size is None:
            raise ValueError(
                "beta_tcvae needs the number of training examples N: give dataset_size= "
                "(e.g. {'name': 'beta_tcvae', 'dataset_size': 60000}) or fit on arrays first."
            )
        return size

    def decomposition(self, terms) -> dict[str, tf.Tensor]:
        """MI, TC and dimension-wise KL at each sample (``[K, B]`` each) plus
        ``log_qz_given_x``; see :func:`keras_vae.objectives._decomposition.decompose`."""
        return decompose(terms.q, terms.z, terms.log_pz, self._size(), self.estimator)

    def __call__(self, terms):
        parts = {name: tf.reduce_mean(value, axis=0) for name, value in self.decomposition(terms).items()}
        reconstruction = terms.reconstruction()
        penalty = (
            self.alpha * parts["mutual_information"]
            + self.beta * parts["total_correlation"]
            + self.gamma * parts["dimension_kl"]
        )
        kl = terms.kl()
        return -(reconstruction - penalty), {
            "elbo": reconstruction - kl,
            "reconstruction_loss": -reconstruction,
            "kl": kl,
            "mutual_information": parts["mutual_information"],
            "total_correlation": parts["total_correlation"],
            "dimension_kl": parts["dimension_kl"],
        }

    def get_config(self) -> dict:
        return {
            "alpha": self.alpha,
            "beta": self.beta,
            "gamma": self.gamma,
            "estimator": self.estimator,
            "dataset_size": self.dataset_size,
            "num_samples": self.num_samples,
            "fitted_dataset_size": self.fitted_dataset_size,
        }
