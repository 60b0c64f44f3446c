"""What the count likelihoods share: the support rule, a mean and a dispersion that
stay finite for any decoder output, the log(1 + x) encoder input, the dispersion
weights and size factors from the library size."""
from __future__ import annotations

import math
import numbers

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from keras_vae.likelihoods.likelihood import Likelihood, soft_bound

tfd = tfp.distributions

DISPERSIONS = ("per_feature", "shared", "predicted")
#: The default ``mean_range``: the means on which the decoder's output is exactly
#: the log-mean (beyond, see ``soft_bound``).
MEAN_RANGE = (1e-8, 1e6)
#: The inverse dispersions theta on which the learned or predicted value is exactly
#: log theta; beyond, ``soft_bound``. theta = 1e6 is a Poisson for any mean below
#: 1e3 (variance mu + mu^2 / theta); theta = 1e-6 puts almost all mass at 0.
LOG_THETA_RANGE = (math.log(1e-6), math.log(1e6))
#: The zero-inflation logits that are used as predicted (pi from 1e-13 to 1 - 1e-13).
ZERO_LOGIT_RANGE = (-30.0, 30.0)


def _check_mean_range(owner: str, mean_range) -> tuple[float, float]:
    """``mean_range`` as two floats ``0 < low < high < inf``, or a ``ValueError``."""
    try:
        low, high = (float(v) for v in mean_range)
        valid = all(not isinstance(v, bool) for v in mean_range)
    except (TypeError, ValueError):
        valid = False
    if not valid or not (0.0 < low < high < math.inf):
        raise ValueError(
            f"{owner} mean_range must be two numbers 0 < low < high, the means the "
            f"decoder's output gives exactly (default {MEAN_RANGE}), got {mean_range!r}."
        )
    return low, high


class SizeFactorScaled(tfd.Distribution):
    """p(x | z, library size of x): a count distribution whose mean is scaled per
    example by ``s = sum(x) / library_size`` when ``log_prob(x)`` is asked.

    ``make(log_s)`` builds the count distribution (event shape = the data shape)
    with every mean multiplied by ``exp(log_s)`` (``log_s`` of shape
    ``(batch, 1, ..., 1)``). ``mean``, ``sample`` and the shapes are those of
    ``make(0)``: an example whose library size is ``library_size``.
    """

    def __init__(self, make, library_size: float, event_ndims: int, name: str = "SizeFactorScaled"):
        parameters = dict(locals())
        self._make = make
        self._library_size = float(library_size)
        self._event_ndims = int(event_ndims)
        self._reference = make(None)
        super().__init__(
            dtype=self._reference.dtype,
            reparameterization_type=tfd.NOT_REPARAMETERIZED,
            validate_args=False,
            allow_nan_stats=True,
            parameters=parameters,
            name=name,
        )

    def _batch_shape(self):
        return self._reference.batch_shape

    def _batch_shape_tensor(self):
        return self._reference.batch_shape_tensor()

    def _event_shape(self):
        return self._reference.event_shape

    def _event_shape_tensor(self):
        return self._reference.event_shape_tensor()

    def _sample_n(self, n, seed=None):
        return self._reference.sample(n, seed=seed)

    def _mean(self):
        return self._reference.mean()

    def _log_prob(self, x):
        x = tf.convert_to_tensor(x, self.dtype)
        event_axes = list(range(-self._event_ndims, 0))
        # An all-zero example counts as library size 1 (log 0 would give 0 * inf).
        library = tf.maximum(tf.reduce_sum(x, axis=event_axes, keepdims=True), 1.0)
        log_s = tf.math.log(library) - math.log(self._library_size)
        # log_s has the example's batch dims and ones for the event dims; the
        # elementwise parameters carry the same layout.
        return self._make(log_s).log_prob(x)


class CountLikelihood(Likelihood):
    """Base of the count heads: non-negative integer data, a log-mean predicted
    per element, an optional dispersion and optional size factors.

    Subclasses set ``num_params`` (without a predicted dispersion) and
    ``uses_dispersion``, and implement ``counts(params, log_mean)``; ``params[..., 0]``
    is the raw log-mean, ``params[..., -1]`` the raw log inverse dispersion when
    predicted.

    **Finite for any decoder output.** The log-mean is ``soft_bound(raw, log low,
    log high)`` with ``(low, high) = mean_range``: exactly the decoder's output for
    means in the range, and beyond it a log-mean that grows only logarithmically
    (the mean itself linearly) and never stops rising. A plain log-link turns a
    large output into an infinite mean (``exp`` overflows float32 above 88.7):
    raw counts fed to the encoder give such outputs at initialisation, and the
    Poisson ELBO was -inf and every weight NaN after the first step. Bounded this
    way, ``log_prob`` and its gradient are finite for any finite output (with the
    default range the mean stays within about 1e21), and a count beyond the range is
    still fitted: its optimum mean is still the count. The inverse dispersion theta gets the same
    treatment on ``LOG_THETA_RANGE`` (1e-6 to 1e6) and the zero-inflation logit on
    ``ZERO_LOGIT_RANGE`` (+-30).

    **Encoder input.** ``encoder_input(x)`` is ``log(1 + x)`` (``log1p_inputs=True``,
    the default, as in scVI): counts in the thousands would make the encoder's
    first activations, its posterior and the KL term huge. The likelihood still
    scores the raw counts. Files saved before the option existed load with
    ``log1p_inputs=False``, the input their encoder was trained on.

    Args:
        library_size: None (no size factors) or the reference library size.
        dispersion: for heads with a dispersion, how theta is set.
        log1p_inputs: give the encoder ``log(1 + x)`` (True) or the raw counts.
        mean_range: ``(low, high)``, the means the decoder's output gives exactly.
        data_shape: the shape of one example (filled in by the VAE).
    """

    support = (0, math.inf)
    integer_valued = True
    discrete = True
    support_fix = (
        "Pass raw counts (non-negative integers), not normalized or log-transformed "
        "values; for real-valued data use 'gaussian'."
    )
    uses_dispersion = False

    def __init__(self, library_size: float | None = None, dispersion: str | None = None,
                 log1p_inputs: bool = True, mean_range=MEAN_RANGE, data_shape=None, **kwargs):
        super().__init__(data_shape=data_shape, **kwargs)
        owner = type(self).__name__
        if library_size is not None:
            if (
                isinstance(library_size, bool)
                or not isinstance(library_size, numbers.Real)
                or not (math.isfinite(library_size) and library_size > 0)
            ):
                raise ValueError(
                    f"{owner} library_size must be None or a positive number "
                    f"(e.g. the mean total count per example, float(x.sum(axis=1).mean())), "
                    f"got {library_size!r}."
                )
            library_size = float(library_size)
        self.library_size = library_size
        if not isinstance(log1p_inputs, (bool, np.bool_)):
            raise ValueError(f"{owner} log1p_inputs must be True or False, got {log1p_inputs!r}.")
        self.log1p_inputs = bool(log1p_inputs)
        self.mean_range = _check_mean_range(owner, mean_range)
        if not self.uses_dispersion and dispersion is not None:
            raise ValueError(f"{owner} has no dispersion; got dispersion={dispersion!r}.")
        if self.uses_dispersion:
            dispersion = "per_feature" if dispersion is None else dispersion
            if dispersion not in DISPERSIONS:
                raise ValueError(
                    f"{owner} dispersion must be one of {DISPERSIONS}, got {dispersion!r}."
                )
            self.dispersion = dispersion
            if dispersion == "predicted":
                self.num_params = type(self).num_params + 1

    def encoder_input(self, x):
        """``log(1 + x)`` as float32 (``x`` itself with ``log1p_inputs=False``).

        Example:
            >>> import numpy as np, keras_vae as kv
            >>> head = kv.likelihoods.Poisson(data_shape=(3,))
            >>> np.round(head.encoder_input(np.array([[0, 1, 9999]])).numpy(), 4)
            array([[0.    , 0.6931, 9.2103]], dtype=float32)
        """
        if not self.log1p_inputs:
            return x
        x = tf.convert_to_tensor(x)
        if not x.dtype.is_floating:
            x = tf.cast(x, tf.float32)
        return tf.math.log1p(x)

    def build_scale_weights(self):
        if self.uses_dispersion and self.dispersion != "predicted":
            shape = () if self.dispersion == "shared" else tuple(self.data_shape)
            # log theta = 0: inverse dispersion 1 at the start (variance mu + mu^2).
            self.log_theta = self.add_weight(
                name="log_theta", shape=shape, initializer="zeros", dtype="float32"
            )

    #: The smallest mean a count head starts at (``parameters_for_mean``): a feature
    #: that is 0 in every example starts at log(1e-3), not at -inf.
    mean_clip = 1e-3

    def parameters_for_mean(self, mean: np.ndarray) -> np.ndarray:
        """The raw log-mean ``log m`` of the mean ``m`` (at least ``mean_clip``, and
        within ``mean_range``), and
        the other parameters (a predicted dispersion, a zero-inflation logit) at 0,
        where a zero bias starts them; ``[*mean.shape, num_params]``. (The
        zero-inflated head starts at ``log 2m``: its zero logit 0 puts half the mass
        at 0, so its negative binomial's mean is twice the data's.)

        With ``library_size=L`` the decoder's mean is that of an example of library
        size ``L``: the start is ``m * L / sum(m)`` (the maximum-likelihood rate of
        every example scaled by its size factor, for a shared composition).

        Example:
            >>> import numpy as np, keras_vae as kv
            >>> head = kv.likelihoods.Poisson(data_shape=(3,))
            >>> np.round(head.parameters_for_mean(np.array([0.0, 2.0, 5000.0]))[:, 0], 3)  # log 1e-3, log 2, log 5000
            array([-6.908,  0.693,  8.517], dtype=float32)
        """
        m = np.asarray(mean, np.float64)
        if self.library_size is not None:
            # The mean library size: the elements' means summed over the whole example
            # (``mean`` may be per channel of a feature map: its average times the
            # number of elements of an example is the same total).
            total = float(m.mean()) * float(np.prod(self.data_shape or m.shape))
            m = m * self.library_size / max(total, 1e-12)
        # The count distribution's mean, within mean_range: beyond it soft_bound would
        # bend the raw log-mean, and the decoded start would not be the mean.
        low, high = self.mean_range
        mu = np.clip(np.maximum(m, self.mean_clip) / self.zero_bias_nonzero_fraction, low, high)
        log_mean = np.log(mu)
        params = np.zeros((*m.shape, self.num_params), np.float32)
        params[..., 0] = log_mean
        return params

    #: The fraction of the mean a zero bias leaves to the count distribution (a
    #: zero-inflated head's zero logit 0 leaves half).
    zero_bias_nonzero_fraction = 1.0

    def _log_theta(self, params):
        """log theta, soft-bounded to ``LOG_THETA_RANGE``, per element."""
        if self.dispersion == "predicted":
            raw = params[..., -1]
        else:
            raw = tf.broadcast_to(tf.cast(self.log_theta, tf.float32), tf.shape(params)[:-1])
        return soft_bound(raw, *LOG_THETA_RANGE)

    def _log_mean(self, raw_log_mean):
        """The log-mean from the decoder's output, soft-bounded to ``mean_range``."""
        low, high = self.mean_range
        return soft_bound(raw_log_mean, math.log(low), math.log(high))

    def elementwise(self, params, log_size_factor=None):
        raw = params[..., 0]
        if log_size_factor is not None:
            raw = raw + log_size_factor
        return self.counts(params, self._log_mean(raw))

    def counts(self, params, log_mean):
        raise NotImplementedError

    def distribution(self, params):
        """p(x|z); with ``library_size`` set, p(x | z, library size of x)."""
        if self.library_size is None:
            return super().distribution(params)
        params = tf.cast(params, tf.float32)
        ndims = len(self.data_shape)

        def make(log_s):
            return tfd.Independent(self.elementwise(params, log_s), reinterpreted_batch_ndims=ndims)

        return SizeFactorScaled(make, self.library_size, ndims)

    def get_config(self):
        config = super().get_config()
        config.update(
            library_size=self.library_size,
            log1p_inputs=self.log1p_inputs,
            mean_range=list(self.mean_range),
        )
        if self.uses_dispersion:
            config.update(dispersion=self.dispersion)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        # Saved before the option existed: the encoder was trained on raw counts.
        config.setdefault("log1p_inputs", False)
        return super().from_config(config)
