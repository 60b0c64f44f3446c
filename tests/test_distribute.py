"""tf.distribute (two logical CPUs) and mixed_float16 training."""
import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_vae as kv
from helpers import example_data

SHAPE = (6, 6, 1)


_STRATEGY = []


def _strategy():
    """One MirroredStrategy per process: several in one process can collide in
    their collective-op keys on CPU."""
    devices = tf.config.list_logical_devices("CPU")
    if len(devices) < 2:
        pytest.skip("needs two logical CPU devices (configured in conftest)")
    if not _STRATEGY:
        _STRATEGY.append(
            tf.distribute.MirroredStrategy(
                [d.name for d in devices[:2]],
                cross_device_ops=tf.distribute.ReductionToOneDevice(),
            )
        )
    return _STRATEGY[0]


def _noise_free_vae():
    """A VAE whose first step does not depend on the sampled z: the decoder's kernel
    starts at zero, so p(x|z) ignores z and the KL is analytic."""
    return kv.VAE(
        encoder={"name": "mlp", "hidden_units": [8]},
        decoder={"name": "mlp", "hidden_units": [8], "kernel_initializer": "zeros"},
        latent_dim=2,
        input_shape=SHAPE,
        seed=1,
    )


def _one_step(vae, x):
    vae.compile(optimizer=keras.optimizers.SGD(0.1))
    logs = vae.fit(x, batch_size=len(x), epochs=1, verbose=0, shuffle=False).history
    return [w.numpy() for w in vae.trainable_weights], {k: v[0] for k, v in logs.items()}


def test_two_replicas_take_the_same_step_as_one_device():
    x = example_data(SHAPE, n=16)
    single = _noise_free_vae()
    initial = single.get_weights()
    with _strategy().scope():
        mirrored = _noise_free_vae()
    mirrored.set_weights(initial)
    single_weights, single_logs = _one_step(single, x)
    mirrored_weights, mirrored_logs = _one_step(mirrored, x)
    assert any(not np.array_equal(a, b) for a, b in zip(initial, single.get_weights()))
    for a, b in zip(single_weights, mirrored_weights):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for key in ("loss", "kl", "reconstruction_loss"):
        np.testing.assert_allclose(single_logs[key], mirrored_logs[key], rtol=1e-5)


def test_replicas_draw_distinct_noise():
    strategy = _strategy()
    with strategy.scope():
        vae = kv.VAE(encoder="mlp", decoder="mlp", latent_dim=4, input_shape=SHAPE, seed=3)
    x = tf.constant(example_data(SHAPE, n=1))

    @tf.function
    def replica_noise():
        return strategy.run(lambda: vae.terms(x, seed=vae.noise_seed(counter=0)).log_px[0])

    per_replica = strategy.experimental_local_results(replica_noise())
    assert len(per_replica) == 2
    assert not np.allclose(per_replica[0].numpy(), per_replica[1].numpy())


def test_fit_under_mirrored_strategy_trains():
    strategy = _strategy()
    x = example_data(SHAPE, n=64)
    with strategy.scope():
        vae = kv.VAE(encoder="mlp", decoder="mlp", latent_dim=2, input_shape=SHAPE, seed=2)
        vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = vae.fit(x, batch_size=16, epochs=3, verbose=0).history
    assert history["loss"][-1] < history["loss"][0]
    assert np.isfinite(vae.evaluate(x, verbose=0, return_dict=True)["elbo"])


def test_mixed_float16_scales_the_loss_and_keeps_the_elbo_in_float32(tmp_path):
    keras.mixed_precision.set_global_policy("mixed_float16")
    x = example_data(SHAPE, n=64)
    vae = kv.VAE(encoder="mlp", decoder="mlp", latent_dim=2, input_shape=SHAPE, seed=4)
    assert vae.encoder.compute_dtype == "float16"
    vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    assert isinstance(vae.optimizer, keras.optimizers.LossScaleOptimizer)
    before = [w.numpy() for w in vae.trainable_weights]
    history = vae.fit(x, batch_size=16, epochs=3, verbose=0).history
    assert history["loss"][-1] < history["loss"][0]
    assert all(not np.array_equal(w.numpy(), b) for w, b in zip(vae.trainable_weights, before))
    assert vae.elbo(x).dtype == tf.float32 and vae.encode(x).dtype == tf.float32
    vae.save(tmp_path / "mixed.keras")
    reloaded = kv.load_model(tmp_path / "mixed.keras")
    np.testing.assert_array_equal(reloaded.encode(x).numpy(), vae.encode(x).numpy())


def test_model_built_lazily_from_data_under_a_strategy():
    strategy = _strategy()
    with strategy.scope():
        vae = kv.VAE(encoder="mlp", decoder="mlp", latent_dim=2, seed=5)
        vae.compile(optimizer="adam")
    vae.fit(example_data(SHAPE, n=32), batch_size=16, epochs=1, verbose=0)
    assert vae.data_shape == SHAPE
    assert all(isinstance(v.value, tf.distribute.DistributedValues) for v in vae.trainable_weights)


def test_a_conditioned_model_trains_under_a_strategy_and_in_mixed_float16():
    """The condition travels with x through the replicas and through float16 layers."""
    x = example_data(SHAPE, n=64)
    c = np.arange(64) % 3
    condition = {"name": "one_hot", "num_classes": 3}
    with _strategy().scope():
        vae = kv.VAE(encoder="mlp", decoder="mlp", latent_dim=2, input_shape=SHAPE, seed=5, condition=condition,
                     prior="conditional_gaussian")
        vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = vae.fit({"x": x, "condition": c}, batch_size=16, epochs=3, verbose=0).history
    assert history["loss"][-1] < history["loss"][0]
    keras.mixed_precision.set_global_policy("mixed_float16")
    mixed = kv.VAE(encoder="mlp", decoder="mlp", latent_dim=2, input_shape=SHAPE, seed=5, condition=condition,
                   prior="conditional_gaussian")
    mixed.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = mixed.fit({"x": x, "condition": c}, batch_size=16, epochs=3, verbose=0).history
    assert history["loss"][-1] < history["loss"][0]
    assert mixed.elbo(x, condition=c).dtype == tf.float32
    assert mixed.sample(3, condition=[0, 1, 2], seed=0).dtype == tf.float32
    ll = mixed.log_likelihood(x[:4], condition=c[:4], num_samples=50, seed=0)
    assert np.all(np.isfinite(ll)) and np.all(ll >= mixed.elbo(x[:4], condition=c[:4], num_samples=50, seed=0) - 1e-3)
