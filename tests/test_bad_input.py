"""Bad input gets a clear error, raised before any state is damaged."""
import numpy as np
import pytest
import tensorflow as tf

import keras_vae as kv
from helpers import example_data, small_vae

SHAPE = (6, 6, 1)


@pytest.fixture
def vae():
    model = small_vae(SHAPE)
    model.compile(optimizer="adam")
    return model


def _snapshot(model):
    return [w.numpy().copy() for w in model.weights] + [int(model.optimizer.iterations)]


def _assert_unchanged(model, snapshot):
    after = _snapshot(model)
    assert all(np.array_equal(a, b) for a, b in zip(snapshot, after)), "state was changed"


def _with_nan(x):
    x = x.copy()
    x[3, 2, 2, 0] = np.nan
    return x


@pytest.mark.parametrize(
    "data,message",
    [
        (example_data((5, 5, 1)), r"shape \(32, 5, 5, 1\) but vae expects \(batch, 6, 6, 1\)"),
        (example_data((36,)), r"Reshape the data"),
        (_with_nan(example_data(SHAPE)), r"1 NaN or infinite value"),
        (example_data(SHAPE) * 255.0, r"Data range is \[.*\]\. Bernoulli likelihood needs data in \[0\.0, 1\.0\].*x / 255"),
        (example_data(SHAPE) - 0.5, r"Bernoulli likelihood needs data in"),
        (np.full((4, *SHAPE), "a"), r"must hold real numbers"),
    ],
    ids=["wrong-shape", "flat", "nan", "0-255", "negative", "strings"],
)
def test_bad_arrays_are_rejected_before_training(vae, data, message):
    before = _snapshot(vae)
    with pytest.raises(ValueError, match=message):
        vae.fit(data, epochs=1, verbose=0)
    _assert_unchanged(vae, before)
    with pytest.raises(ValueError, match=message):
        vae.evaluate(data, verbose=0)


def test_bad_validation_data_is_rejected_before_training(vae):
    before = _snapshot(vae)
    with pytest.raises(ValueError, match="validation_data contains 1 NaN"):
        vae.fit(example_data(SHAPE), validation_data=(_with_nan(example_data(SHAPE)),), verbose=0)
    _assert_unchanged(vae, before)


def test_dataset_with_wrong_shape_is_rejected_from_its_spec(vae):
    before = _snapshot(vae)
    dataset = tf.data.Dataset.from_tensor_slices(example_data((5, 5, 1))).batch(8)
    with pytest.raises(ValueError, match="expects"):
        vae.fit(dataset, epochs=1, verbose=0)
    _assert_unchanged(vae, before)


# XLA compiles asserts into nothing: the checks must hold with and without it.
@pytest.mark.parametrize("jit_compile", [False, True], ids=["graph", "xla"])
def test_nan_inside_a_dataset_stops_before_the_bad_step_updates(vae, jit_compile):
    vae.compile(optimizer="adam", jit_compile=jit_compile)
    x = example_data(SHAPE, n=16)
    x[8:] = np.nan  # second batch is bad
    dataset = tf.data.Dataset.from_tensor_slices(x).batch(8)
    with pytest.raises(tf.errors.InvalidArgumentError, match="NaN or infinite"):
        vae.fit(dataset, epochs=1, verbose=0)
    assert int(vae.optimizer.iterations) == 1  # the good batch trained, the bad one did not
    assert all(np.all(np.isfinite(w.numpy())) for w in vae.weights)


@pytest.mark.parametrize("jit_compile", [False, True], ids=["graph", "xla"])
def test_out_of_range_inside_a_dataset_is_caught_in_graph(vae, jit_compile):
    vae.compile(optimizer="adam", jit_compile=jit_compile)
    before = _snapshot(vae)
    dataset = tf.data.Dataset.from_tensor_slices(example_data(SHAPE) * 2).batch(8)
    with pytest.raises(tf.errors.InvalidArgumentError, match="outside the support of the likelihood"):
        vae.fit(dataset, epochs=1, verbose=0)
    _assert_unchanged(vae, before)
    with pytest.raises(tf.errors.InvalidArgumentError, match="outside the support of the likelihood"):
        vae.evaluate(dataset, verbose=0)


def test_inference_methods_check_shapes(vae):
    with pytest.raises(ValueError, match="expects"):
        vae.encode(example_data((5, 5, 1)))
    with pytest.raises(ValueError, match="expects"):
        vae.predict(example_data((5, 5, 1)), verbose=0)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"latent_dim": 0}, "latent_dim must be an integer >= 1"),
        ({"latent_dim": 2.5}, "latent_dim must be an integer >= 1"),
        ({"beta": -1.0}, "beta must be a finite number >= 0"),
        ({"beta": float("nan")}, "beta must be a finite number >= 0"),
        ({"kl": "exact"}, "kl must be one of"),
        ({"likelihood": "weibull"}, r"Unknown likelihood 'weibull'. Available likelihoods: bernoulli, beta, .*gaussian"),
        ({"encoder": "transformer"}, r"Unknown encoder 'transformer'. Available encoders: conv, conv_grid, mlp"),
        ({"prior": "gaussian_process"}, r"Unknown prior .gaussian_process.. Available priors: .*mixture.*vamp"),
        ({"posterior": "flow"}, r"Unknown posterior 'flow'"),
        ({"input_shape": (0, 3)}, "every dimension"),
        ({"seed": -5}, r"seed must be in"),
    ],
)
def test_bad_constructor_arguments(kwargs, message):
    args = {"encoder": "mlp", "decoder": "mlp", "latent_dim": 2, "input_shape": SHAPE, **kwargs}
    with pytest.raises(ValueError, match=message):
        kv.VAE(**args)


def test_beta_and_objective_together_is_an_error():
    with pytest.raises(ValueError, match="either to the VAE or to the objective"):
        kv.VAE(encoder="mlp", decoder="mlp", latent_dim=2, beta=2.0, objective={"name": "elbo", "beta": 3.0})


def test_unbatched_dataset_on_an_unbuilt_model_is_refused():
    vae = kv.VAE(encoder="mlp", decoder="mlp", latent_dim=2)
    vae.compile(optimizer="adam")
    with pytest.raises(ValueError, match=r"do not look batched.*dataset.batch"):
        vae.fit(tf.data.Dataset.from_tensor_slices(example_data(SHAPE)), verbose=0)
    assert vae.data_shape is None


def test_a_shape_the_encoder_rejects_leaves_a_lazy_model_usable():
    vae = kv.VAE(encoder="conv", decoder="mlp", latent_dim=2)
    vae.compile(optimizer="adam")
    with pytest.raises(ValueError, match=r"cannot be built for examples of shape \(36,\).*ConvEncoder"):
        vae.fit(example_data((36,)), verbose=0)
    assert vae.data_shape is None and not vae.weights
    vae.fit(example_data(SHAPE), epochs=1, verbose=0)
    assert vae.data_shape == SHAPE


def test_datasets_of_dicts_and_class_weights_are_refused(vae):
    dicts = tf.data.Dataset.from_tensor_slices({"image": example_data(SHAPE)}).batch(8)
    with pytest.raises(ValueError, match=r"yields dict elements.*ds.map"):
        vae.fit(dicts, verbose=0)
    with pytest.raises(ValueError, match="class_weight"):
        vae.fit(example_data(SHAPE), class_weight={0: 1.0}, verbose=0)
