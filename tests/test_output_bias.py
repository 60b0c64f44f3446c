"""``initialize_output_bias``: the likelihood head starts at the data's mean."""
import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_vae as kv
from keras_vae.testing import small_vae


def pixels(n=200, shape=(6, 6, 1), seed=0):
    """Binary images whose pixels are on with probabilities from 0 (never) to 0.95."""
    rng = np.random.default_rng(seed)
    p = np.linspace(0.0, 0.95, int(np.prod(shape))).reshape(shape)
    return (rng.random((n, *shape)) < p).astype("float32")


def logits(mean, clip=1e-3):
    m = np.clip(mean, clip, 1 - clip)
    return np.log(m / (1 - m))


def bias(model):
    return model.likelihood_layer.projection.bias.numpy()


def test_the_bias_is_the_logit_of_each_pixels_mean_clipped_as_burdas_code_does():
    x = pixels()
    vae = small_vae(likelihood="bernoulli")
    vae.initialize_output_bias(x)
    np.testing.assert_allclose(bias(vae), logits(x.mean(0)).reshape(-1), atol=1e-5)
    assert bias(vae)[0] == pytest.approx(np.log(1e-3 / (1 - 1e-3)), abs=1e-5)  # a pixel never on


def test_a_model_started_at_the_mean_scores_the_data_better_before_training():
    x = pixels()
    plain, started = small_vae(likelihood="bernoulli"), small_vae(likelihood="bernoulli")
    started.initialize_output_bias(x)
    assert float(np.mean(started.elbo(x, seed=0))) > float(np.mean(plain.elbo(x, seed=0))) + 5.0


def test_a_dataset_or_uint8_gives_the_same_bias_as_the_float_array():
    x = pixels(n=90)
    expected = small_vae(likelihood="bernoulli")
    expected.initialize_output_bias(x)
    forms = [
        tf.data.Dataset.from_tensor_slices(x).batch(32),
        tf.data.Dataset.from_tensor_slices((x, x)).batch(32),
        tf.data.Dataset.from_tensor_slices({"x": x}).batch(32),
        tf.data.Dataset.from_tensor_slices(x.astype("uint8")).batch(32),
        x.astype("uint8"),
        tf.constant(x),
        {"x": x},
        x.tolist(),
    ]
    for ds in forms:
        vae = small_vae(likelihood="bernoulli")
        vae.initialize_output_bias(ds)
        np.testing.assert_allclose(bias(vae), bias(expected), atol=1e-6)


def test_a_conv_head_shares_one_bias_per_channel_started_at_each_channels_mean_over_positions():
    x = pixels(shape=(8, 8, 3))
    vae = small_vae(input_shape=(8, 8, 3), encoder=kv.encoders.ConvEncoder([4, 8]),
                    decoder=kv.decoders.ConvDecoder([8, 4]), likelihood="bernoulli")
    vae(x[:1])
    assert vae.likelihood_layer._pointwise
    vae.initialize_output_bias(x)
    channel_means = x.reshape(-1, 3).mean(axis=0)  # the logit of the mean, not the mean of logits
    np.testing.assert_allclose(bias(vae), logits(channel_means), atol=1e-5)


def test_a_hierarchical_model_starts_its_head_at_the_mean_too():
    x = pixels(shape=(8,))
    h = kv.HierarchicalVAE(latent_dims=(4, 2), input_shape=(8,), seed=0, q_hidden=[[16], [8]],
                           p_hidden=[[8], [16]])
    h.initialize_output_bias(x)
    np.testing.assert_allclose(bias(h), logits(x.mean(0)), atol=1e-5)


def test_the_bias_survives_a_save_and_load(tmp_path):
    x = pixels()
    vae = small_vae(likelihood="bernoulli")
    vae.initialize_output_bias(x)
    vae.save(tmp_path / "m.keras")
    np.testing.assert_array_equal(bias(kv.saving.load_model(tmp_path / "m.keras")), bias(vae))


@pytest.mark.parametrize("bad, match", [
    ("nan", "NaN"),
    ("range", "needs data in \\[0.0, 1.0\\]"),
    ("empty", "no examples"),
    ("shape", "shape"),
    ("list", "needs data in"),  # a list is checked as the array it is
    ("no_x", r"holds 'x'.*got keys \['image'\]"),
    ("infinite", "infinite dataset"),
])
def test_data_fit_would_refuse_is_refused_and_the_bias_stays(bad, match):
    x = pixels()
    vae = small_vae(likelihood="bernoulli")
    vae(x[:1])
    before = bias(vae).copy()
    data = {"nan": np.where(np.arange(x.size).reshape(x.shape) == 7, np.nan, x).astype("float32"),
            "range": x * 255.0, "empty": x[:0], "shape": x.reshape(len(x), -1),
            "list": (x * 255.0).tolist(), "no_x": {"image": x},
            "infinite": tf.data.Dataset.from_tensor_slices(x).batch(32).repeat()}[bad]
    with pytest.raises(ValueError, match=match):
        vae.initialize_output_bias(data)
    np.testing.assert_array_equal(bias(vae), before)


def test_a_bad_batch_late_in_a_dataset_leaves_the_bias_as_it_was():
    x = pixels()
    x[150, 0, 0, 0] = 2.0
    vae = small_vae(likelihood="bernoulli")
    vae(x[:1])
    before = bias(vae).copy()
    with pytest.raises(ValueError, match="needs data in"):
        vae.initialize_output_bias(tf.data.Dataset.from_tensor_slices(x).batch(32))
    np.testing.assert_array_equal(bias(vae), before)


@pytest.mark.parametrize("scale", ["shared", "predicted"])
def test_a_gaussian_head_starts_its_loc_at_the_mean_and_a_predicted_scale_where_a_zero_bias_would(scale):
    x = np.random.default_rng(0).normal(5.0, 2.0, (300, 6)).astype("float32") + np.arange(6, dtype="float32")
    vae = small_vae(input_shape=(6,), likelihood={"name": "gaussian", "scale": scale})
    vae.initialize_output_bias(x)
    params = bias(vae).reshape(6, -1)
    np.testing.assert_allclose(params[:, 0], x.mean(0), atol=1e-4)
    if scale == "predicted":
        np.testing.assert_array_equal(params[:, 1], 0.0)
    decoded = vae.decode(np.zeros((1, 2), "float32")).numpy()[0]  # the decoder's weights are not zero:
    assert np.abs(decoded - x.mean(0)).max() < np.abs(x.mean(0)).max()  # near the mean, not near 0


def test_a_continuous_bernoulli_head_starts_where_its_mean_is_the_datas_mean():
    import tensorflow_probability as tfp

    x = pixels() * 0.8 + 0.1 * np.random.default_rng(1).random((200, 6, 6, 1)).astype("float32")
    x[:, 0, 0, 0] = 0.0  # a pixel that is 0 in every image: clipped to 0.001, as for the Bernoulli
    plain, vae = (same_start(likelihood="continuous_bernoulli") for _ in range(2))
    vae.initialize_output_bias(x)
    # TFP's own mean of the continuous Bernoulli at those logits (not the Bernoulli's logit).
    mean = tfp.distributions.ContinuousBernoulli(logits=bias(vae).astype("float64")).mean().numpy()
    np.testing.assert_allclose(mean, np.clip(x.mean(0, dtype=np.float64), 1e-3, 1 - 1e-3).reshape(-1),
                               atol=1e-6)
    assert float(np.mean(vae.elbo(x, seed=0))) > float(np.mean(plain.elbo(x, seed=0))) + 5.0


def same_start(**kwargs):
    """A small VAE with the weights of every other model made by this helper."""
    keras.utils.set_random_seed(0)
    return small_vae(**kwargs)


def heavy_counts(n=300, seed=0):
    """Over-dispersed counts, one feature always 0 and one reaching past 10^4."""
    rng = np.random.default_rng(seed)
    means = np.array([0.0, 0.2, 1.0, 5.0, 50.0, 2000.0])
    x = rng.negative_binomial(0.5, 0.5 / (0.5 + np.maximum(means, 1e-9)), (n, 6)).astype("float32")
    x[:, 0] = 0.0
    x[0, 5] = 20000.0
    return x


@pytest.mark.parametrize("likelihood, nonzero", [
    ("poisson", 1.0),
    ({"name": "negative_binomial", "dispersion": "predicted"}, 1.0),
    ("zero_inflated_negative_binomial", 0.5),  # a zero logit: half the mass at 0
])
def test_a_count_head_starts_at_the_log_of_each_features_mean(likelihood, nonzero):
    x = heavy_counts()
    plain, vae = (same_start(input_shape=(6,), likelihood=likelihood) for _ in range(2))
    vae.initialize_output_bias(x)
    params = bias(vae).reshape(6, -1)
    expected = np.log(np.maximum(x.mean(0, dtype=np.float64), 1e-3) / nonzero)
    np.testing.assert_allclose(params[:, 0], expected, rtol=1e-5)
    assert params[0, 0] == pytest.approx(np.log(1e-3 / nonzero), rel=1e-5)  # a feature always 0
    np.testing.assert_array_equal(params[:, 1:], 0.0)  # dispersion, zero logit: as a zero bias has them
    started, zero = (float(np.mean(m.elbo(x, seed=0))) for m in (vae, plain))
    # The same weights but the bias: far better than the zero bias' mean of 1 on counts in the
    # thousands (on 5 seeds: 14,000 -> 1,900 nats for the Poisson, 1,200 -> 22 for the NBs).
    assert np.isfinite(started) and started > zero + 500.0


@pytest.mark.parametrize("likelihood, nonzero", [
    ({"name": "poisson", "library_size": 1000.0}, 1.0),
    ({"name": "zero_inflated_negative_binomial", "library_size": 1000.0, "dispersion": "predicted"}, 0.5),
])
def test_a_count_head_with_a_library_size_starts_at_an_example_of_that_size(likelihood, nonzero):
    x = heavy_counts()[:, 1:] + 1.0  # no all-zero feature
    vae = small_vae(input_shape=(5,), likelihood=likelihood)
    vae.initialize_output_bias(x)
    m = x.mean(0, dtype=np.float64)
    params = bias(vae).reshape(5, -1)
    np.testing.assert_allclose(np.exp(params[:, 0]), m * 1000.0 / m.sum() / nonzero, rtol=1e-5)
    np.testing.assert_array_equal(params[:, 1:], 0.0)


def test_a_count_head_starts_within_its_mean_range_where_the_raw_output_is_the_log_mean():
    x = heavy_counts()  # means from 0 to ~2,000
    vae = small_vae(input_shape=(6,), likelihood={"name": "poisson", "mean_range": [0.1, 100.0]})
    vae.initialize_output_bias(x)
    expected = np.clip(np.maximum(x.mean(0, dtype=np.float64), 1e-3), 0.1, 100.0)
    np.testing.assert_allclose(np.exp(bias(vae)), expected, rtol=1e-5)


def test_a_head_without_a_mean_inverse_is_refused_before_the_data_are_read():
    vae = small_vae(likelihood="beta")
    vae(np.full((1, 6, 6, 1), 0.5, "float32"))
    before = bias(vae).copy()
    with pytest.raises(TypeError, match="Beta.*parameters_for_mean.*bernoulli"):
        vae.initialize_output_bias(np.full((4, 6, 6, 1), np.nan, "float32"))
    np.testing.assert_array_equal(bias(vae), before)
