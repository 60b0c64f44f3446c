"""What the count likelihoods share: the support rule, the dispersion weights and
size factors from the library size."""
from __future__ import annotations

import math
import numbers

import tensorflow as tf
import tensorflow_probability as tfp

from keras_vae.likelihoods.likelihood import Likelihood

tfd = tfp.distributions

DISPERSIONS = ("per_feature", "shared", "predicted")


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
    is the log-mean, ``params[..., -1]`` the log inverse dispersion when predicted.
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
                 data_shape=None, **kwargs):
        super().__init__(data_shape=data_shape, **kwargs)
        if library_size is not None:
            if (
                isinstance(library_size, bool)
                or not isinstance(library_size, numbers.Real)
                or not (math.isfinite(library_size) and library_size > 0)
            ):
                raise ValueError(
                    f"{type(self).__name__} library_size must be None or a positive number "
                    f"(e.g. the mean total count per example, float(x.sum(axis=1).mean())), "
                    f"got {library_size!r}."
                )
            library_size = float(library_size)
        self.library_size = library_size
        if not self.uses_dispersion and dispersion is not None:
            raise ValueError(f"{type(self).__name__} has no dispersion; got dispersion={dispersion!r}.")
        if self.uses_dispersion:
            dispersion = "per_feature" if dispersion is None else dispersion
            if dispersion not in DISPERSIONS:
                raise ValueError(
                    f"{type(self).__name__} dispersion must be one of {DISPERSIONS}, got {dispersion!r}."
                )
            self.dispersion = dispersion
            if dispersion == "predicted":
                self.num_params = type(self).num_params + 1

    def build_scale_weights(self):
        if self.uses_dispersion and self.dispersion != "predicted":
            shape = () if self.dispersion == "shared" else tuple(self.data_shape)
            # log theta = 0: inverse dispersion 1 at the start (variance mu + mu^2).
            self.log_theta = self.add_weight(
                name="log_theta", shape=shape, initializer="zeros", dtype="float32"
            )

    def _log_theta(self, params):
        if self.dispersion == "predicted":
            return params[..., -1]
        return tf.broadcast_to(tf.cast(self.log_theta, tf.float32), tf.shape(params)[:-1])

    def elementwise(self, params, log_size_factor=None):
        log_mean = params[..., 0]
        if log_size_factor is not None:
            log_mean = log_mean + log_size_factor
        return self.counts(params, log_mean)

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
        config.update(library_size=self.library_size)
        if self.uses_dispersion:
            config.update(dispersion=self.dispersion)
        return config

