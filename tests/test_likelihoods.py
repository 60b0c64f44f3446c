"""The likelihood heads: normalized densities, support checks with a fix in the
message, the learned Gaussian scale against a closed-form model, size factors, and
every head through fit, .keras round trip, log_likelihood, sampling and export."""
import math

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

import keras_vae as kv
from helpers import log_marginal, sample_data
from keras_vae import testing

tfd = tfp.distributions
L = kv.likelihoods


def _head(cls, num_params_shape=(7,), **kwargs):
    """A built head (data of shape ``num_params_shape``) for calling ``elementwise``."""
    head = cls(data_shape=num_params_shape, **kwargs)
    head.build((None, 3))
    return head


def _params(head, n, seed=0, scale=3.0):
    rng = np.random.default_rng(seed)
    return tf.constant(rng.normal(0.0, scale, size=(n, head.num_params)).astype("float32"))


# ------------------------------------------------------------ normalization
def _logistic_cdf(t, m, s):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-(t - m) / s))


def test_logistic_mixture_sums_to_one_and_matches_the_pixelcnn_formula():
    head = _head(L.LogisticMixture, num_components=3)
    params = _params(head, 40).numpy()
    # Extremes: sharp components on a level, at the edges, and far outside the range.
    params[0, 3:6] = [-1.0, 0.0, 1.0]  # locs 0, 127.5, 255
    params[0, 6:9] = -30.0  # scale -> min_scale (0.05 levels)
    params[1, 3:6] = [-3.0, 3.0, 0.002]
    params[2, 6:9] = 8.0  # very broad
    dist = head.elementwise(tf.constant(params))
    levels = np.arange(256.0)
    log_p = dist.log_prob(np.broadcast_to(levels[:, None], (256, 40)).astype("float32")).numpy()
    np.testing.assert_allclose(np.exp(log_p).sum(0), 1.0, atol=1e-4)

    # The same probabilities from the formula, in float64: bins centred on levels.
    k = 3
    pi = np.exp(params[:, :k]) / np.exp(params[:, :k]).sum(1, keepdims=True)
    m = 127.5 * (1 + params[:, k : 2 * k].astype(np.float64))
    s = 127.5 * np.log1p(np.exp(params[:, 2 * k :].astype(np.float64))) + 0.05
    upper = np.where(levels[:, None, None] == 255, 1.0, _logistic_cdf(levels[:, None, None] + 0.5, m, s))
    lower = np.where(levels[:, None, None] == 0, 0.0, _logistic_cdf(levels[:, None, None] - 0.5, m, s))
    expected = ((upper - lower) * pi).sum(-1)
    np.testing.assert_allclose(np.exp(log_p), expected, atol=2e-5)
    # Mean: within half a level of the exact sum_k k P(k).
    exact_mean = (levels[:, None] * expected).sum(0)
    assert np.max(np.abs(dist.mean().numpy() - exact_mean)) <= 0.5


def test_categorical_sums_to_one_and_has_the_level_mean():
    head = _head(L.Categorical)
    dist = head.elementwise(_params(head, 5))
    levels = np.broadcast_to(np.arange(256.0)[:, None], (256, 5)).astype("float32")
    probs = np.exp(dist.log_prob(levels).numpy())
    np.testing.assert_allclose(probs.sum(0), 1.0, atol=1e-5)
    np.testing.assert_allclose(dist.mean().numpy(), (np.arange(256.0)[:, None] * probs).sum(0), rtol=1e-4)


@pytest.mark.parametrize("compiled", [None, "graph", "xla"])
def test_bernoulli_log_prob_and_gradient_match_tfp_including_at_zero_logits(compiled):
    """The one-pass log-density equals TFP's, grey values included, and its gradient
    is x - sigmoid(l) everywhere (at l = 0 too, where relu and abs have none), in
    each of its forms: eager and the plain graph (softplus) and XLA (log of 1 + exp)."""
    logits = tf.Variable([0.0, 0.0, 3.0, -3.0, 40.0, -40.0, 17.0, -17.0, 1e-4])
    x = tf.constant([0.3, 1.0, 1.0, 0.0, 0.2, 0.7, 1.0, 0.0, 0.5])
    head = kv.likelihoods.Bernoulli(data_shape=(9,))

    def value_and_gradient():
        with tf.GradientTape() as tape:
            value = head.distribution(logits[None, :, None]).log_prob(x[None])
        return value, tape.gradient(value, logits)

    if compiled:
        value_and_gradient = tf.function(value_and_gradient, jit_compile=compiled == "xla")
    ours, gradient = value_and_gradient()
    reference = tf.reduce_sum(x * logits - tf.nn.softplus(logits))
    np.testing.assert_allclose(ours.numpy(), [reference.numpy()], rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(gradient.numpy(), (x - tf.sigmoid(logits)).numpy(), atol=1e-6)
    binary = tf.constant([1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0])
    tfp_value = tfp.distributions.Bernoulli(logits=logits).log_prob(binary)
    np.testing.assert_allclose(
        head.distribution(logits[None, :, None]).log_prob(binary[None]).numpy(),
        [tf.reduce_sum(tfp_value).numpy()], rtol=1e-6, atol=1e-5,
    )


def test_continuous_bernoulli_integrates_to_one_including_near_one_half():
    # lambda = sigmoid(logit): logits near 0 are lambda near 1/2, where the
    # normalizing constant 2 artanh(1 - 2 lambda) / (1 - 2 lambda) is 0/0.
    logits = np.array([0.0, 1e-6, -1e-4, 1e-3, 4e-3, -0.02, 0.5, -3.0, 12.0, -60.0], "float32")
    head = _head(L.ContinuousBernoulli)
    dist = head.elementwise(tf.constant(logits[:, None]))
    x = np.linspace(0.0, 1.0, 200_001)
    density = dist.prob(x[:, None].astype("float32")).numpy().astype(np.float64)
    np.testing.assert_allclose(np.trapezoid(density, x, axis=0), 1.0, atol=2e-4)
    # ...and its mean is the density's first moment, not lambda.
    np.testing.assert_allclose(dist.mean().numpy(), np.trapezoid(density * x[:, None], x, axis=0), atol=2e-4)


def test_beta_integrates_to_one():
    head = _head(L.Beta)
    dist = head.elementwise(_params(head, 4, scale=1.0) + 2.0)  # concentrations > 1: bounded
    x = np.linspace(0.0, 1.0, 100_001)[1:-1]
    density = dist.prob(x[:, None].astype("float32")).numpy().astype(np.float64)
    np.testing.assert_allclose(np.trapezoid(density, x, axis=0), 1.0, atol=1e-3)


COUNT_MU, COUNT_THETA, COUNT_PI = 7.5, 0.8, 0.3


def _count_params(num_params, log_theta=None):
    """One element with mean COUNT_MU (and zero-inflation COUNT_PI)."""
    values = [math.log(COUNT_MU), math.log(COUNT_PI / (1 - COUNT_PI))][:num_params]
    if log_theta is not None:
        values.append(log_theta)
    return tf.constant([values], tf.float32)


def _reference(name):
    """The same distributions built another way (TFP's probs parameterization)."""
    nb = tfd.NegativeBinomial(total_count=COUNT_THETA, probs=COUNT_MU / (COUNT_MU + COUNT_THETA))
    if name == "poisson":
        return lambda k: tfd.Poisson(rate=COUNT_MU).log_prob(k)
    if name == "negative_binomial":
        return nb.log_prob
    zero = np.log(COUNT_PI + (1 - COUNT_PI) * np.exp(nb.log_prob(0.0).numpy()))
    return lambda k: np.where(k == 0, zero, np.log(1 - COUNT_PI) + nb.log_prob(k).numpy())


@pytest.mark.parametrize("cls, name", [
    (L.Poisson, "poisson"),
    (L.NegativeBinomial, "negative_binomial"),
    (L.ZeroInflatedNegativeBinomial, "zero_inflated_negative_binomial"),
])
def test_count_likelihoods_match_tfp_and_sum_to_one(cls, name):
    kwargs = {} if cls is L.Poisson else {"dispersion": "predicted"}
    head = _head(cls, (1,), **kwargs)
    log_theta = None if cls is L.Poisson else math.log(COUNT_THETA)
    dist = head.elementwise(_count_params(cls.num_params, log_theta))
    k = np.arange(4000.0, dtype="float32")
    log_p = dist.log_prob(k[:, None]).numpy()[:, 0]
    np.testing.assert_allclose(log_p[:200], np.asarray(_reference(name)(k[:200])), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.exp(log_p.astype(np.float64)).sum(), 1.0, atol=1e-5)
    expected_mean = COUNT_MU * (1 - COUNT_PI) if "zero" in name else COUNT_MU
    np.testing.assert_allclose(dist.mean().numpy(), expected_mean, rtol=1e-5)


def test_learned_dispersion_weights():
    shared = _head(L.NegativeBinomial, (4,), dispersion="shared")
    per_feature = _head(L.ZeroInflatedNegativeBinomial, (4,))
    assert tuple(shared.log_theta.shape) == () and tuple(per_feature.log_theta.shape) == (4,)
    assert _head(L.NegativeBinomial, (4,), dispersion="predicted").num_params == 2


def test_size_factors_scale_the_mean_by_library_size():
    lik = L.NegativeBinomial(library_size=20.0, dispersion="shared", data_shape=(3,))
    params = lik(np.zeros((2, 5), "float32"))  # log-mean 0: mean 1 per element at L = 20
    p = lik.distribution(params)
    x = np.array([[1.0, 2.0, 7.0], [40.0, 0.0, 0.0]], "float32")  # libraries 10 and 40
    s = np.array([[0.5], [2.0]])
    plain = tfd.Independent(tfd.NegativeBinomial(total_count=1.0, probs=s / (s + 1.0) * np.ones((2, 3))), 1)
    np.testing.assert_allclose(p.log_prob(x).numpy(), plain.log_prob(x).numpy(), rtol=1e-5)
    np.testing.assert_allclose(p.mean().numpy(), np.ones((2, 3)), rtol=1e-6)  # the reference library
    assert p.sample(seed=[1, 2]).shape == (2, 3)


# ------------------------------------------------------------ support checks
def _in_graph(likelihood):
    @tf.function
    def checked(x):
        with tf.control_dependencies(likelihood.assert_in_support(x)):
            return tf.identity(x)

    return checked


@pytest.mark.parametrize("spec, bad, fragments", [
    ("logistic_mixture", np.full((2, 4), 0.5), ["non-integer values (e.g. 0.5", "0..255", "not x / 255.0"]),
    ("categorical", np.full((2, 4), 256.0), ["Data range is [256, 256]", "integers in [0, 255]", "raw levels"]),
    ({"name": "categorical", "num_values": 16}, np.full((2, 4), 16), ["integers in [0, 15]"]),
    ("poisson", -np.ones((2, 4)), ["integers >= 0", "raw counts"]),
    ("negative_binomial", np.full((2, 4), 1.5), ["non-integer", "not normalized or log-transformed"]),
    ("zero_inflated_negative_binomial", np.full((2, 4), 2.5), ["non-integer"]),
    ("beta", np.zeros((2, 4)), ["strictly inside (0.0, 1.0)", "continuous_bernoulli"]),
    ("continuous_bernoulli", np.full((2, 4), 255.0), ["data in [0.0, 1.0]", "x / 255.0"]),
])
def test_data_outside_the_support_is_refused_with_the_fix(spec, bad, fragments):
    vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(4,), likelihood=spec)
    with pytest.raises(ValueError) as info:
        vae.check_data(bad)  # numpy data, as fit / evaluate / log_likelihood see it
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)
    # Inside a graph (tf.data input), the same rule as an assertion.
    checked = _in_graph(vae.likelihood_layer)
    with pytest.raises(tf.errors.InvalidArgumentError, match="outside the support"):
        checked(tf.constant(bad, tf.float32))


def test_in_range_integers_pass_in_any_dtype():
    vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(4,), likelihood="logistic_mixture")
    for x in (np.array([[0, 1, 254, 255]], "uint8"), np.array([[0.0, 3.0, 7.0, 255.0]], "float32")):
        vae.check_data(x)
    _in_graph(vae.likelihood_layer)(tf.constant([[0.0, 255.0, 3.0, 4.0]]))


def test_bad_arguments_name_the_fix():
    with pytest.raises(ValueError, match="num_components must be an integer >= 1"):
        L.LogisticMixture(num_components=0)
    with pytest.raises(ValueError, match="num_values must be an integer >= 2"):
        L.Categorical(num_values=1.5)
    with pytest.raises(ValueError, match=r"library_size must be None or a positive number .*x.sum"):
        L.Poisson(library_size=0)
    with pytest.raises(ValueError, match="dispersion must be one of"):
        L.NegativeBinomial(dispersion="gene")
    with pytest.raises(ValueError, match="Poisson has no dispersion"):
        L.Poisson(dispersion="shared")


# ------------------------------------------------------------ the Gaussian
def test_default_gaussian_learns_its_scale_and_the_elbo_reaches_log_px():
    """Noise sigma = 0.5: with sigma fixed at 1 even the best model (closed form)
    ends 0.95 nats/example short; the default (one learned scale) reaches the exact
    log p(x) within 0.1 nats."""
    D, K, sigma = 5, 2, 0.5
    q, _ = np.linalg.qr(np.random.default_rng(3).normal(size=(D, K)))
    W, b = q * np.array([2.0, 1.2]), np.array([1.0, 0.0, -1.0, 0.5, 0.2])
    # The best sigma = 1 model (probabilistic PCA with its noise fixed): the data's
    # covariance eigenvalues, raised to 1 where below; its expected shortfall is
    # KL(N(0, S) || N(0, C)) (docs/guide/likelihoods.md quotes it).
    eigenvalues = np.linalg.eigvalsh(W @ W.T + sigma**2 * np.eye(D))[::-1]
    fixed_one = np.ones(D)
    fixed_one[:K] = np.maximum(eigenvalues[:K], 1.0)
    shortfall = 0.5 * np.sum(eigenvalues / fixed_one - 1 + np.log(fixed_one / eigenvalues))
    assert shortfall == pytest.approx(0.95, abs=0.005), shortfall
    x, x_test = sample_data(W, b, 2048, seed=4, sigma=sigma), sample_data(W, b, 256, seed=5, sigma=sigma)
    vae = kv.VAE(encoder=kv.encoders.MLPEncoder([]), decoder=keras.layers.Identity(), latent_dim=K,
                 input_shape=(D,), likelihood="gaussian", seed=0)
    assert vae.likelihood_layer.scale == "shared"
    vae.compile(optimizer=keras.optimizers.Adam(0.05))
    vae.fit(x, epochs=25, batch_size=256, verbose=0)
    learned_sigma = float(tf.math.softplus(vae.likelihood_layer.raw_scale)) + vae.likelihood_layer.min_scale
    assert abs(learned_sigma - sigma) < 0.02, learned_sigma
    draws = 200
    elbo = vae.elbo(np.repeat(x_test, draws, axis=0), seed=11).numpy().reshape(-1, draws).mean(1)
    gap = log_marginal(x_test, W, b, sigma).mean() - elbo.mean()
    assert -0.05 < gap < 0.1, gap


def test_fixed_gaussian_scale_is_still_available():
    lik = L.Gaussian(scale=1.0)
    assert lik.scale == 1.0 and L.Gaussian.from_config(lik.get_config()).scale == 1.0


# ------------------------------------------------------------ through the model
RNG = np.random.default_rng(0)
THROUGH_THE_MODEL = {
    "continuous_bernoulli": RNG.uniform(size=(16, 4)).astype("float32"),
    "beta": RNG.uniform(0.05, 0.95, size=(16, 4)).astype("float32"),
    "logistic_mixture": RNG.integers(0, 256, size=(16, 4)).astype("uint8"),
    "categorical": RNG.integers(0, 256, size=(16, 4)).astype("uint8"),
    "poisson": RNG.poisson(3.0, size=(16, 4)),
    "negative_binomial": RNG.poisson(3.0, size=(16, 4)),
    "zero_inflated_negative_binomial": RNG.poisson(1.0, size=(16, 4)),
}
SPECS = {"zero_inflated_negative_binomial": {"name": "zero_inflated_negative_binomial", "library_size": 5.0}}


@pytest.mark.parametrize("name", sorted(THROUGH_THE_MODEL))
def test_each_likelihood_through_fit_save_log_likelihood_and_sample(name, tmp_path):
    x = THROUGH_THE_MODEL[name]
    vae = testing.check_component("likelihood", SPECS.get(name, name), input_shape=(4,), data=x, tmp_path=tmp_path)
    assert vae.likelihood_layer.discrete == (name not in ("continuous_bernoulli", "beta"))
    log_px, bpd = vae.log_likelihood(x[:3], num_samples=4, seed=0, return_bits_per_dim=True)
    assert np.all(np.isfinite(log_px)) and np.allclose(bpd, -log_px / (4 * math.log(2)))
    samples = vae.sample(5, seed=1, sample_x=True).numpy()
    assert samples.shape == (5, 4) and samples.dtype == np.float32
    if name != "beta":  # (a float32 Beta sample can round to exactly 0 or 1)
        vae.check_data(samples)  # a sample is valid data for the same likelihood
    assert np.all(np.isfinite(vae.decode(np.zeros((2, 2), "float32")).numpy()))


@pytest.mark.parametrize("spec, x", [
    ({"name": "logistic_mixture", "num_components": 2}, THROUGH_THE_MODEL["logistic_mixture"]),
    ({"name": "zero_inflated_negative_binomial", "library_size": 5.0},
     THROUGH_THE_MODEL["zero_inflated_negative_binomial"]),
])
def test_exported_signatures_run(spec, x, tmp_path):
    vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(4,), likelihood=spec, seed=3)
    served = tf.saved_model.load(vae.export(str(tmp_path), warmup=False))
    z = np.random.default_rng(1).normal(size=(3, 2)).astype("float32")
    decoded = served.signatures["decode"](z=tf.constant(z))
    np.testing.assert_allclose(decoded["x_mean"].numpy(), vae.decode(z).numpy(), rtol=1e-5, atol=1e-4)
    vae.check_data(decoded["x_sample"].numpy())  # samples are valid data
    assert served.signatures["sample"](seed=tf.constant([1, 2], tf.int64))["x"].shape == (2, 4)
    score = served.signatures["score"](x=tf.constant(x[:3], tf.float32))
    assert np.all(np.isfinite(score["elbo"].numpy()))


def test_valid_example_is_inside_the_support():
    for spec in ("beta", "logistic_mixture", "poisson", "continuous_bernoulli", "gaussian"):
        vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(3,), likelihood=spec)
        example = vae.likelihood_layer.valid_example()
        assert example.shape == (3,)
        vae.check_data(example[None])
    assert kv.likelihoods.Beta(data_shape=(1,)).valid_example()[0] == 0.5


@pytest.mark.parametrize("spec, x", [
    *[(SPECS.get(name, name), x) for name, x in sorted(THROUGH_THE_MODEL.items())],
    ("bernoulli", (RNG.uniform(size=(3, 2, 3, 1)) < 0.5).astype("float32")),
    ("gaussian", RNG.normal(size=(3, 4)).astype("float32")),
])
@pytest.mark.parametrize("xla", [False, True], ids=["graph", "xla"])
def test_log_prob_scores_k_samples_against_one_copy_of_the_batch(spec, x, xla):
    """Likelihood.log_prob(params [K, B, ...], x [B, ...]) is the distribution's
    log_prob of each row against its example, for the heads that sum independent
    elements (image-shaped data included) and for the size-factor heads whose
    distribution reads each example's total; as called in a graph and compiled with
    XLA (where the estimator calls it, and Bernoulli sums through its own form)."""
    x = np.asarray(x, "float32")[:3]
    vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=x.shape[1:], likelihood=spec, seed=1)
    k, batch = 4, len(x)
    z = tf.random.stateless_normal([k * batch, 2], seed=[0, 1])
    params = vae.likelihood_layer(vae.decoder(z))
    rows = vae.likelihood_layer.distribution(params).log_prob(np.tile(x, (k,) + (1,) * (x.ndim - 1)))
    log_prob = tf.function(vae.likelihood_layer.log_prob, jit_compile=xla)
    ours = log_prob(tf.reshape(params, [k, batch, *params.shape[1:]]), x)
    assert ours.shape == (k, batch)
    np.testing.assert_allclose(ours.numpy(), tf.reshape(rows, [k, batch]).numpy(), rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("data_shape", [(9,), (40,), (28, 28, 1), (2000,), (9000,)])
def test_bernoulli_sums_under_xla_with_one_log_per_product_to_float64_accuracy(data_shape):
    """Under XLA the Bernoulli head sums x l - softplus(l) as the linear part minus
    the log of products of up to 64 factors 1 + exp(-|l|): the sum agrees with a
    float64 reference (logits of 0, +-17 and +-90 and grey values included) for data
    too small to group, with a remainder, of one product (MNIST), of several, and too
    wide to group; and its gradient is x - sigmoid(l)."""
    size = int(np.prod(data_shape))
    rng = np.random.default_rng(size)
    logits = (rng.normal(size=(3, 2, *data_shape)) * 8).astype("float32")
    logits.reshape(-1)[:7] = [0.0, 90.0, -90.0, 17.0, -17.0, 1e-4, 0.0]
    x = rng.uniform(size=(2, *data_shape)).astype("float32")
    x[0] = x[0] > 0.5
    head = kv.likelihoods.Bernoulli(data_shape=data_shape)
    variable = tf.Variable(logits)

    @tf.function(jit_compile=True)
    def value_and_gradient():
        with tf.GradientTape() as tape:
            value = head.log_prob(variable[..., None], x)
        return value, tape.gradient(value, variable)

    value, gradient = value_and_gradient()
    l64, x64 = logits.astype(np.float64), x.astype(np.float64)
    exact = (x64 * l64 - np.logaddexp(0.0, l64)).reshape(3, 2, -1).sum(-1)
    assert value.shape == (3, 2)
    # float32 rounding of a sum of `size` terms, not the grouping, sets the tolerance.
    np.testing.assert_allclose(value.numpy(), exact, rtol=2e-6, atol=1e-4)
    np.testing.assert_allclose(gradient.numpy(), x64 - 1.0 / (1.0 + np.exp(-l64)), atol=2e-6)
