"""Starting the likelihood head at the data's mean (``initialize_output_bias``)."""
from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from keras_vae.models._conditioning import split_inputs


class OutputBiasMixin:
    """``initialize_output_bias``; needs the model's ``likelihood_layer``,
    ``_check_x`` (the input checks) and ``data_shape``."""

    def initialize_output_bias(self, x: Any) -> None:
        """Sets the likelihood head's bias so that, before training, every decoded
        example is the data's mean.

        With a zero bias a Bernoulli decoder starts at 0.5 grey for every pixel and
        spends its first epochs learning the mean image; Burda et al.'s released code
        starts the output bias at the logit of each pixel's training mean (what it
        changes on their MNIST model: ``benchmarks/paper_table.py --output-bias
        data-mean`` and the benchmarks page). Call it once, before ``fit``; the
        decoder's weights stay as initialized.

        A head whose mean cannot be inverted (see ``Likelihood.parameters_for_mean``;
        Bernoulli, continuous Bernoulli, Gaussian and the count heads can) is refused, as is a model made with ``standardize=True``. Where
        the head works per position of a feature map (a ``ConvDecoder``), the bias is
        shared by all positions and starts at the parameters of each channel's mean
        over all positions. A dataset builds an unbuilt model from its element spec,
        as ``fit`` does.

        Args:
            x: the training data, as ``fit`` takes it: an array, or a
                ``tf.data.Dataset`` of batches (of x, of ``(x, ...)`` tuples or of
                ``{"x": ...}`` dicts; read once, in full). Every value is checked as
                ``fit`` checks it (shape, NaN / inf, the likelihood's support) before
                the bias changes.

        Raises:
            TypeError: the likelihood defines no parameters for a mean.
            ValueError: data that ``fit`` would refuse, or no examples.

        Example:
            >>> import numpy as np, keras_vae as kv
            >>> x = (np.random.default_rng(0).random((64, 4)) < [0.1, 0.5, 0.5, 0.9]).astype("float32")
            >>> vae = kv.VAE("mlp", "mlp", input_shape=(4,), latent_dim=2, likelihood="bernoulli", seed=0)
            >>> vae.initialize_output_bias(x)
            >>> bias = vae.likelihood_layer.projection.bias.numpy()
            >>> bool(np.allclose(1 / (1 + np.exp(-bias)), x.mean(0), atol=1e-6))
            True
        """
        head = self.likelihood_layer
        # Refused before the data are read (or a lazy model is built from them).
        probe = np.full(tuple(self.data_shape or (1,)), 0.5)
        if head.parameters_for_mean(probe) is None:
            raise TypeError(self._no_mean_message())
        if getattr(self, "standardization", None) is not None:
            raise TypeError(
                "initialize_output_bias takes the mean in the data's units, but this model computes "
                "in standardized units (standardize=True); start its head yourself."
            )
        mean = self._data_mean(x)
        if getattr(head, "projection", None) is None:
            raise TypeError(
                f"{type(head).__name__} has no `projection` layer whose bias initialize_output_bias "
                "could set (a head that builds its own layers sets its own start)."
            )
        if head._pointwise:
            # One bias per channel, shared by every position of the feature map: the
            # parameters of each channel's mean over all positions (the best constant
            # for the whole map, where averaging per-position logits is not).
            mean = mean.reshape(-1, mean.shape[-1]).mean(axis=0)
        params = head.parameters_for_mean(mean)
        if params is None:
            raise TypeError(self._no_mean_message())
        params = np.asarray(params, np.float32)
        bias = head.projection.bias
        if not np.all(np.isfinite(params)) or params.size != bias.shape[0]:
            raise ValueError(
                f"{type(head).__name__}.parameters_for_mean gave {params.size} values "
                f"(finite: {bool(np.all(np.isfinite(params)))}) for a bias of {bias.shape[0]}."
            )
        bias.assign(params.reshape(-1))

    def _no_mean_message(self) -> str:
        return (
            f"{type(self.likelihood_layer).__name__} defines no parameters for a given mean "
            "(Likelihood.parameters_for_mean), so initialize_output_bias cannot start it at the "
            "data's mean; it works with 'bernoulli', 'continuous_bernoulli', 'gaussian' and the count "
            "heads ('poisson', 'negative_binomial', 'zero_inflated_negative_binomial'). Train without it, or override "
            "parameters_for_mean in a subclass of the likelihood."
        )

    def _data_mean(self, x: Any) -> np.ndarray:
        """The mean of each data element over all examples (float64), every batch
        checked as ``fit`` checks it."""
        if not isinstance(x, tf.data.Dataset):
            x = split_inputs(x)[0]  # a {"x": ...} dict's x (its keys checked), else x itself
            if not isinstance(x, (np.ndarray, tf.Tensor)):
                x = np.asarray(x)  # lists: checked as arrays, not skipped
            self._check_x(x, "x")
            # float64 sums without a float64 copy of the whole data.
            return np.mean(np.asarray(x), axis=0, dtype=np.float64).reshape(self.data_shape)
        if x.cardinality() == tf.data.INFINITE_CARDINALITY:
            raise ValueError("x is an infinite dataset (ds.repeat()?); give one pass over the training data.")
        self._check_x(x.map(_x_of), "x")
        total, count = None, 0
        for batch in x.map(_x_of):
            batch = batch.numpy()
            self._check_x(batch, "a batch of x")
            part = batch.astype(np.float64).sum(axis=0)
            total = part if total is None else total + part
            count += len(batch)
        if count == 0:
            raise ValueError("x yields no examples; give the training data.")
        return total / count


def _x_of(*element):
    """x of a dataset element: x, ``(x, ...)`` or ``{"x": x, ...}``."""
    return split_inputs(element[0])[0]
