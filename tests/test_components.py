"""Every built-in component passes the plugin-author checks in keras_vae.testing."""
import numpy as np
import tensorflow as tf
import pytest

import keras_vae as kv
from keras_vae import testing
from helpers import DECODERS, ENCODERS, IMAGE_SHAPE, LIKELIHOODS


@pytest.mark.parametrize("name", sorted(ENCODERS))
def test_encoder(name, tmp_path):
    testing.check_component("encoder", ENCODERS[name], input_shape=IMAGE_SHAPE, tmp_path=tmp_path)


@pytest.mark.parametrize("name", sorted(DECODERS))
def test_decoder(name, tmp_path):
    testing.check_component("decoder", DECODERS[name], input_shape=IMAGE_SHAPE, tmp_path=tmp_path)


@pytest.mark.parametrize("name", sorted(LIKELIHOODS))
def test_likelihood(name, tmp_path):
    testing.check_component("likelihood", LIKELIHOODS[name], input_shape=IMAGE_SHAPE, tmp_path=tmp_path)


def test_posterior_and_prior(tmp_path):
    testing.check_component("posterior", {"name": "diagonal_gaussian", "min_scale": 1e-3}, tmp_path=tmp_path)
    testing.check_component("prior", "standard_normal", tmp_path=tmp_path)


@pytest.mark.parametrize("kind, component", [
    ("condition", {"name": "one_hot", "num_classes": 4}),
    ("condition", {"name": "vector", "shape": [3]}),
    ("prior", "conditional_gaussian"),  # p(z | c): checked in a model with a one-hot condition
])
def test_conditions_and_the_conditional_prior(kind, component, tmp_path):
    vae = testing.check_component(kind, component, tmp_path=tmp_path)
    assert vae.condition_layer is not None


def test_a_condition_layer_with_a_wrong_feature_size_fails_its_check():
    class Short(kv.conditions.OneHot):
        def call(self, c):
            return super().call(c)[:, :-1]  # one feature fewer than feature_size

    with pytest.raises(AssertionError, match="features of shape"):
        testing.check_condition_layer(Short(num_classes=3), np.array([0, 1, 2]))


def test_posterior_scale_is_positive_for_extreme_features():
    head = kv.posteriors.DiagonalGaussianPosterior(latent_dim=3)
    params = np.array([[0, 0, 0, -1e4, 0, 1e4]], "float32")
    head.build((None, 6))
    q = head.distribution(params)
    scale = q.stddev().numpy()
    assert np.all(scale >= head.min_scale) and np.all(np.isfinite(scale))
    assert np.isfinite(q.log_prob(np.zeros((1, 3), "float32")).numpy()).all()


def test_likelihood_event_shape_is_the_data_shape():
    vae = kv.VAE(encoder="conv", decoder="conv", latent_dim=2, input_shape=(8, 8, 3), likelihood="gaussian")
    p = vae.likelihood(np.zeros((5, 2), "float32"))
    assert p.event_shape == (8, 8, 3) and p.batch_shape == (5,)
    assert vae.likelihood_layer._pointwise  # conv features keep the spatial layout


def test_conv_decoder_rejects_indivisible_images():
    with pytest.raises(ValueError, match="divisible by 4"):
        kv.VAE(encoder="mlp", decoder="conv", latent_dim=2, input_shape=(10, 10, 1))


def test_gaussian_rejects_bad_scale():
    with pytest.raises(ValueError, match="positive"):
        kv.likelihoods.Gaussian(scale=-1.0)
    with pytest.raises(ValueError, match="one of"):
        kv.likelihoods.Gaussian(scale="learned")


def test_any_keras_model_works_as_body(tmp_path):
    import keras

    inputs = keras.Input((6, 6, 1))
    features = keras.layers.Dense(5, activation="tanh")(keras.layers.Flatten()(inputs))
    encoder = keras.Model(inputs, features, name="functional_encoder")
    decoder = keras.Sequential([keras.layers.Dense(7, activation="relu")], name="seq_decoder")
    vae = testing.small_vae(encoder=encoder, decoder=decoder)
    x = testing.example_data((6, 6, 1))
    testing.check_training_step(vae, x)
    testing.check_save_load(vae, x, str(tmp_path))


def test_bernoulli_log_prob_equals_tfp_for_binary_grey_and_extreme_logits():
    import tensorflow_probability as tfp

    logits = np.array([[-50.0, -3.0, 0.0, 2.5, 50.0]] * 3, "float32")
    x = np.array([[0, 1, 0, 1, 1], [1, 0, 1, 0, 0], [0.2, 0.5, 0.9, 0.0, 1.0]], "float32")
    lik = kv.likelihoods.Bernoulli(data_shape=(5,))
    ours = lik.elementwise(logits[..., None]).log_prob(x).numpy()
    reference = tfp.distributions.Bernoulli(logits=logits, dtype=tf.float32).log_prob(x).numpy()
    np.testing.assert_allclose(ours, reference, rtol=1e-6, atol=1e-6)
    assert isinstance(lik.elementwise(logits[..., None]), tfp.distributions.Bernoulli)


def test_objective_with_free_bits_passes_the_component_checks(tmp_path):
    vae = testing.check_component("objective", {"name": "elbo", "free_bits": 5.0}, tmp_path=tmp_path)
    assert vae.objective.free_bits == 5.0


def test_numpy_scalars_are_accepted_as_parameters():
    assert kv.objectives.ELBO(beta=np.float32(2.0)).beta == 2.0
    assert kv.likelihoods.Gaussian(scale=np.float64(0.5)).scale == 0.5
    with pytest.raises(ValueError, match="positive and finite"):
        kv.likelihoods.Gaussian(scale=True)
