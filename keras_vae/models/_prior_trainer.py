"""Fits a code prior (kind ``"code_prior"``) to grids of codes with Keras' ``fit``."""
from __future__ import annotations

import math

import keras
import tensorflow as tf


class PriorTrainer(keras.Model):
    """A throw-away ``keras.Model`` around a code prior: maximum likelihood on code
    grids, reporting ``loss`` (nats per grid) and ``bits_per_code``. The prior's
    weights stay in the VQ-VAE that owns it (and in its ``.keras`` file)."""

    def __init__(self, prior, grid_shape, **kwargs):
        super().__init__(**kwargs)
        self.prior = prior
        self.positions = math.prod(grid_shape)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.bits_tracker = keras.metrics.Mean(name="bits_per_code")
        self.built = True

    def call(self, codes):
        return self.prior(codes)

    @property
    def metrics(self):
        return [self.loss_tracker, self.bits_tracker]

    def _update_metrics(self, nats):
        self.loss_tracker.update_state(nats)
        self.bits_tracker.update_state(nats / (self.positions * math.log(2.0)))
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        codes, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        variables = self.prior.trainable_weights
        with tf.GradientTape() as tape:
            tape.watch([v.value for v in variables])
            nats = -self.prior.log_prob(codes)
            loss = tf.reduce_mean(nats)
        gradients = tape.gradient(loss, variables)
        self.optimizer.apply(gradients, variables)
        return self._update_metrics(nats)

    def test_step(self, data):
        codes, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        return self._update_metrics(-self.prior.log_prob(codes))
