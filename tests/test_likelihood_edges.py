"""Every likelihood head at the edges of its support: ``log_prob`` and its gradient
(with respect to the decoder's output and to the head's own weights) are finite at
0 and 1 for the [0, 1] heads, at the float32 values nearest 0 and 1 (and at 0 and
1 themselves) for the Beta, at 0 and the top level for the 8-bit heads, at 0 and at
huge counts (1e4 to 1e8) for the count heads, and at +-1e8 (the largest data
magnitude accepted) for the Gaussian, in the plain graph and under XLA (where a
dense VAE trains on a CPU).

The decoder outputs tried range up to the largest float32 for the heads that
soft-bound them (the count heads, the Beta, the continuous Bernoulli and the
logistic mixture). The Bernoulli and the categorical use their logits as they are
(their results, and the Bernoulli's tuned speed, are kept): a log-probability is
linear in a logit, so a single element is finite for any output, but a sum of
elements near float32's largest value overflows; they are checked for outputs up to
1e30. The Gaussian's density of data 1e30 away from its mean is below float32's
range (its squared error overflows); it is checked for outputs up to 1e6.
"""
import numpy as np
import pytest
import tensorflow as tf

import keras_vae as kv

F32 = np.float32
FLOAT32_MAX = float(np.finfo(F32).max)
BELOW_ONE = float(np.nextafter(F32(1.0), F32(0.0)))
TINY = float(np.finfo(F32).tiny)

ANY_OUTPUT = [0.0, 3.0, -3.0, 30.0, -30.0, 1e3, -1e3, 1e30, -1e30, FLOAT32_MAX, -FLOAT32_MAX]
UP_TO_1E30 = ANY_OUTPUT[:-2]
MODERATE_OUTPUT = [0.0, 3.0, -3.0, 30.0, -30.0, 1e3, -1e3, 1e6, -1e6]

UNIT = [0.0, 1.0, 0.5, 1e-7, BELOW_ONE]
COUNTS = [0.0, 1.0, 17.0, 1e4, 1e5, 1e6, 1e8]
REAL = [0.0, 1e8, -1e8, 1.5]

# name: (spec, the data edges, the decoder outputs)
CASES = {
    "bernoulli": ("bernoulli", UNIT, UP_TO_1E30),
    "continuous_bernoulli": ("continuous_bernoulli", UNIT, ANY_OUTPUT),
    "beta": ("beta", [0.0, 1.0, TINY, BELOW_ONE, 1e-7, 0.5], ANY_OUTPUT),
    "categorical": ("categorical", [0.0, 255.0, 1.0, 128.0], UP_TO_1E30),
    "categorical_16": ({"name": "categorical", "num_values": 16}, [0.0, 15.0], UP_TO_1E30),
    "logistic_mixture": ("logistic_mixture", [0.0, 255.0, 1.0, 254.0, 128.0], ANY_OUTPUT),
    "logistic_mixture_1": ({"name": "logistic_mixture", "num_components": 1}, [0.0, 255.0], ANY_OUTPUT),
    "poisson": ("poisson", COUNTS, ANY_OUTPUT),
    "poisson_library": ({"name": "poisson", "library_size": 100.0}, COUNTS, ANY_OUTPUT),
    "negative_binomial": ("negative_binomial", COUNTS, ANY_OUTPUT),
    "negative_binomial_shared": ({"name": "negative_binomial", "dispersion": "shared"}, COUNTS, ANY_OUTPUT),
    "negative_binomial_predicted": ({"name": "negative_binomial", "dispersion": "predicted"}, COUNTS, ANY_OUTPUT),
    "zinb": ("zero_inflated_negative_binomial", COUNTS, ANY_OUTPUT),
    "zinb_predicted": ({"name": "zero_inflated_negative_binomial", "dispersion": "predicted"}, COUNTS, ANY_OUTPUT),
    "zinb_library": ({"name": "zero_inflated_negative_binomial", "library_size": 50.0}, COUNTS, ANY_OUTPUT),
    "gaussian": ("gaussian", REAL, MODERATE_OUTPUT),
    "gaussian_fixed": ({"name": "gaussian", "scale": 0.5}, REAL, MODERATE_OUTPUT),
    "gaussian_per_feature": ({"name": "gaussian", "scale": "per_feature"}, REAL, MODERATE_OUTPUT),
    "gaussian_predicted": ({"name": "gaussian", "scale": "predicted"}, REAL, MODERATE_OUTPUT),
}


def test_every_registered_likelihood_is_covered():
    covered = {spec if isinstance(spec, str) else spec["name"] for spec, _, _ in CASES.values()}
    assert covered == set(kv.registry.list_components("likelihood"))


def _params(head, size, outputs, seed=0):
    """One row per output value (every parameter of every element set to it), then
    rows mixing the values at random across elements and parameters."""
    uniform = np.broadcast_to(np.asarray(outputs, F32)[:, None, None], (len(outputs), size, head.num_params))
    mixed = np.random.default_rng(seed).choice(np.asarray(outputs, F32), size=(16, size, head.num_params))
    return np.concatenate([uniform, mixed]).astype(F32)


@pytest.mark.parametrize("xla", [False, True], ids=["graph", "xla"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_log_prob_and_its_gradient_are_finite_at_the_edges_of_the_support(case, xla):
    spec, edges, outputs = CASES[case]
    head = kv.registry.get("likelihood", spec)
    head.configure(data_shape=(len(edges),))
    head.build((None, 3))
    params = tf.Variable(_params(head, len(edges), outputs))
    x = tf.constant([edges], tf.float32)

    @tf.function(jit_compile=xla)
    def value_and_gradients():
        with tf.GradientTape() as tape:
            log_prob = head.log_prob(params, x)
        return log_prob, tape.gradient(log_prob, [params, *head.trainable_weights])

    log_prob, gradients = value_and_gradients()
    log_prob = log_prob.numpy()
    assert log_prob.shape == (params.shape[0],)
    bad = np.flatnonzero(~np.isfinite(log_prob))
    assert bad.size == 0, f"log_prob not finite for rows {bad}: {log_prob[bad]}"
    for gradient in gradients:
        if gradient is None:  # the projection's weights: log_prob does not read them
            continue
        gradient = np.asarray(gradient)
        assert np.all(np.isfinite(gradient)), np.argwhere(~np.isfinite(gradient))[:5]
