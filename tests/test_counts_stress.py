"""Count likelihoods under stress: heavy-tailed counts (a gamma-Poisson sample whose
largest count is above 1e4, the shape of single-cell data) train with finite,
decreasing losses; the log-mean, the dispersion and the zero-inflation logit stay
finite for any decoder output through ``soft_bound``; and the encoder's
``log(1 + x)`` input (``encoder_input``)."""
import math

import numpy as np
import pytest
import tensorflow as tf

import keras_vae as kv
from keras_vae.likelihoods._counts import LOG_THETA_RANGE, MEAN_RANGE
from keras_vae.likelihoods.likelihood import soft_bound

L = kv.likelihoods
COUNT_HEADS = ["poisson", "negative_binomial", "zero_inflated_negative_binomial"]
FLOAT32_MAX = float(np.finfo(np.float32).max)


def heavy_tailed_counts(rows: int = 200, genes: int = 50, seed: int = 3) -> np.ndarray:
    """Gamma-Poisson counts: per-gene means log-normal around e, inverse dispersion
    0.03 (variance ~33 mu^2), so most entries are 0 and a few are in the thousands."""
    rng = np.random.default_rng(seed)
    means = np.exp(rng.normal(1.0, 1.5, size=genes))
    theta = 0.03
    return rng.poisson(rng.gamma(theta, means / theta, size=(rows, genes))).astype("float32")


def test_the_heavy_tailed_sample_is_heavy_tailed():
    x = heavy_tailed_counts()
    assert x.max() >= 1e4 and 5.0 < x.mean() < 20.0 and (x == 0).mean() > 0.5


@pytest.mark.parametrize("name", COUNT_HEADS)
def test_count_vaes_train_on_heavy_tailed_counts_with_finite_decreasing_losses(name):
    """Before the bounded log-mean, a Poisson VAE's ELBO at initialisation was -inf
    for some examples and fit reported loss nan from the first epoch (exit 0, NaN
    weights). The encoder here sees whatever the model gives it (raw counts, or
    log(1 + x) once the model applies ``encoder_input``): the likelihood copes with
    raw counts as targets either way."""
    x = heavy_tailed_counts()
    vae = kv.VAE("mlp", "mlp", latent_dim=4, input_shape=(x.shape[1],), likelihood=name, seed=0)
    initial = vae.elbo(x, seed=0).numpy()
    assert np.all(np.isfinite(initial)), initial[~np.isfinite(initial)]
    vae.compile(optimizer="adam")
    losses = vae.fit(x, epochs=6, batch_size=32, verbose=0).history["loss"]
    assert np.all(np.isfinite(losses)), losses
    assert losses[-1] < 0.5 * losses[0], losses
    assert all(np.all(np.isfinite(w.numpy())) for w in vae.weights)
    assert np.all(np.isfinite(vae.elbo(x, seed=1).numpy()))


# ------------------------------------------------------------ soft_bound
def _value_and_gradient(values, low, high):
    values = tf.constant(values, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(values)
        bounded = soft_bound(values, low, high)
    return bounded.numpy(), tape.gradient(bounded, values).numpy()


def test_soft_bound_is_the_identity_inside_and_logarithmic_beyond():
    low, high = -2.0, 3.0
    inside = np.linspace(low, high, 101).astype("float32")
    bounded, gradient = _value_and_gradient(inside, low, high)
    np.testing.assert_array_equal(bounded, inside)  # bit for bit
    np.testing.assert_array_equal(gradient, 1.0)
    outside = np.array([-1e3, -7.0, 8.0, 1e3], "float32")
    bounded, gradient = _value_and_gradient(outside, low, high)
    excess = np.array([1e3 + low, -7.0 - low, 8.0 - high, 1e3 - high])
    expected = np.where(outside > high, high + np.log1p(np.abs(excess)), low - np.log1p(np.abs(excess)))
    np.testing.assert_allclose(bounded, expected, rtol=1e-6)
    np.testing.assert_allclose(gradient, 1.0 / (1.0 + np.abs(excess)), rtol=1e-5)  # never flat
    # Continuous with its derivative at the bounds.
    eps = 1e-3
    near, slope = _value_and_gradient([low - eps, low + eps, high - eps, high + eps], low, high)
    np.testing.assert_allclose(near, [low - eps, low + eps, high - eps, high + eps], atol=1e-6)
    np.testing.assert_allclose(slope, 1.0, atol=2e-3)


def test_soft_bound_stays_within_34_6_of_its_bounds_for_any_float32():
    extremes = [-FLOAT32_MAX, -1e30, 1e30, FLOAT32_MAX]
    bounded, gradient = _value_and_gradient(extremes, -1.0, 1.0)
    assert np.all(np.abs(bounded) < 1.0 + 34.6) and np.all(np.isfinite(gradient))
    one_sided, _ = _value_and_gradient([-FLOAT32_MAX, FLOAT32_MAX], -math.inf, 1.0)
    assert one_sided[0] == -FLOAT32_MAX and one_sided[1] < 1.0 + 34.6


# ------------------------------------------------------------ the log-mean
def _head(name, **kwargs):
    head = {"poisson": L.Poisson, "negative_binomial": L.NegativeBinomial,
            "zero_inflated_negative_binomial": L.ZeroInflatedNegativeBinomial}[name](data_shape=(1,), **kwargs)
    head.build((None, 3))
    return head


def _params(head, log_mean):
    params = np.zeros((len(log_mean), 1, head.num_params), "float32")
    params[:, 0, 0] = log_mean
    if head.num_params > 1 and not getattr(head, "dispersion", None) == "predicted":
        params[:, 0, 1] = -30.0  # no zero inflation
    return tf.constant(params)


@pytest.mark.parametrize("name", COUNT_HEADS)
def test_the_decoder_output_is_the_log_mean_inside_the_mean_range(name):
    head = _head(name)
    low, high = MEAN_RANGE
    raw = np.linspace(math.log(low), math.log(high), 41).astype("float32")
    mean = head.distribution(_params(head, raw)).mean().numpy()[:, 0]
    pi = 1.0 / (1.0 + math.exp(30.0)) if "zero" in name else 0.0
    np.testing.assert_allclose(mean, np.exp(raw.astype(np.float64)) * (1 - pi), rtol=2e-6)


@pytest.mark.parametrize("name", COUNT_HEADS)
def test_means_beyond_the_range_grow_linearly_and_stay_within_about_1e21(name):
    head = _head(name)
    high = math.log(MEAN_RANGE[1])
    raw = np.array([high + 1.0, high + 100.0, 1e30, FLOAT32_MAX], "float32")
    mean = head.distribution(_params(head, raw)).mean().numpy()[:, 0].astype(np.float64)
    np.testing.assert_allclose(mean[:2], MEAN_RANGE[1] * (1.0 + raw[:2] - high), rtol=1e-4)
    assert np.all(np.isfinite(mean)) and mean.max() < 1.01e21


@pytest.mark.parametrize("count", [3e6, 1e8])
def test_a_count_beyond_the_range_is_still_fitted_by_its_own_mean(count):
    """The Poisson log-probability of a count above ``mean_range`` is largest where
    the mean equals the count: its gradient is 0 there, pointing towards it either side."""
    head = _head("poisson")
    high = math.log(MEAN_RANGE[1])
    at_count = high + count / MEAN_RANGE[1] - 1.0  # exp(high) (1 + raw - high) = count
    raw = tf.Variable([[[at_count * 0.9]], [[at_count]], [[at_count * 1.1]]])
    with tf.GradientTape() as tape:
        log_p = head.log_prob(raw, np.full((1, 1), count, "float32"))
    gradient = tape.gradient(log_p, raw).numpy().ravel()
    assert gradient[0] > 0 > gradient[2]
    assert abs(gradient[1]) < 1e-3 * abs(gradient[0])


def test_dispersion_is_soft_bounded_like_the_mean():
    head = _head("negative_binomial", dispersion="predicted")
    params = np.zeros((3, 1, 2), "float32")
    params[:, 0, 1] = [0.7, 1e30, -1e30]  # log theta
    log_theta = head._log_theta(tf.constant(params)).numpy().ravel()
    assert log_theta[0] == np.float32(0.7)
    assert LOG_THETA_RANGE[1] < log_theta[1] < LOG_THETA_RANGE[1] + 34.6
    assert LOG_THETA_RANGE[0] - 34.6 < log_theta[2] < LOG_THETA_RANGE[0]


def test_mean_range_is_validated_and_saved():
    with pytest.raises(ValueError, match=r"mean_range must be two numbers 0 < low < high"):
        L.Poisson(mean_range=(0.0, 10.0))
    with pytest.raises(ValueError, match="mean_range"):
        L.NegativeBinomial(mean_range=(5.0, 1.0))
    with pytest.raises(ValueError, match="mean_range"):
        L.Poisson(mean_range=3.0)
    head = L.ZeroInflatedNegativeBinomial(mean_range=(1e-3, 1e4), data_shape=(2,))
    restored = L.ZeroInflatedNegativeBinomial.from_config(head.get_config())
    assert restored.mean_range == (1e-3, 1e4) and head.get_config()["mean_range"] == [1e-3, 1e4]


# ------------------------------------------------------------ encoder_input
@pytest.mark.parametrize("name", COUNT_HEADS)
def test_count_heads_give_the_encoder_log1p_of_the_counts(name):
    head = _head(name)
    counts = np.array([[0, 1, 9, 15072]], "int64")
    seen = head.encoder_input(counts)
    assert seen.dtype == tf.float32
    np.testing.assert_allclose(seen.numpy(), np.log1p(counts.astype(np.float64)), rtol=1e-6)
    as_float = head.encoder_input(tf.constant(counts, tf.float32))
    np.testing.assert_allclose(as_float.numpy(), seen.numpy())
    assert head.get_config()["log1p_inputs"] is True


def test_log1p_inputs_can_be_turned_off_and_old_files_keep_raw_inputs():
    raw = L.NegativeBinomial(log1p_inputs=False, data_shape=(2,))
    x = np.array([[3.0, 40.0]], "float32")
    assert raw.encoder_input(x) is x
    assert L.NegativeBinomial.from_config(raw.get_config()).log1p_inputs is False
    # A config saved before the option existed: its encoder was trained on raw counts.
    old = L.Poisson(data_shape=(2,)).get_config()
    del old["log1p_inputs"]
    assert L.Poisson.from_config(old).log1p_inputs is False
    with pytest.raises(ValueError, match="log1p_inputs must be True or False"):
        L.Poisson(log1p_inputs="yes")


@pytest.mark.parametrize("spec", ["bernoulli", "gaussian", "beta", "continuous_bernoulli",
                                  "categorical", "logistic_mixture"])
def test_other_heads_give_the_encoder_the_data_unchanged(spec):
    head = kv.registry.get("likelihood", spec)
    x = tf.constant([[0.0, 1.0]])
    assert head.encoder_input(x) is x
